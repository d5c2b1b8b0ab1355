"""WaveMix-192/16: size, the Haar DWT against PyWavelets, devices and dtypes, state_dict keys, input checks."""
from __future__ import annotations

import io

import numpy as np
import pytest
import pywt
import torch

from lib import wavemix
from lib.errors import ConfigError
from lib.wavemix import HaarDWT, WaveBlock, wavemix_192_16


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return wavemix_192_16(num_classes=1000)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("num_classes, expected", [(1000, 27_857_608), (10, 27_666_538)])
def test_param_count(num_classes, expected):
    assert count(wavemix_192_16(num_classes)) == expected


def test_param_count_by_part(model):
    block = model.layers[0]
    assert count(model.conv) == 338_400 and count(block) == 1_707_888
    assert [count(block.reduction), count(block.feedforward3), count(block.feedforward2),
            count(block.feedforward1)] == [9_264, 443_232, 480_096, 775_296]


def test_state_dict_keys_are_the_published_checkpoints(model):
    keys = list(model.state_dict())
    assert len(keys) == wavemix.CHECKPOINT_KEYS == 573
    expected = {f"conv.{i}.{p}" for i in (0, 1, 2) for p in ("weight", "bias")}
    expected |= {f"conv.4.{p}" for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}
    expected |= {"pool.2.weight", "pool.2.bias"}
    for i in range(16):
        expected |= {f"layers.{i}.reduction.weight", f"layers.{i}.reduction.bias"}
        for branch in (1, 2, 3):
            prefix = f"layers.{i}.feedforward{branch}"
            expected |= {f"{prefix}.{j}.{p}" for j in (0, 3, 4) for p in ("weight", "bias")}
            expected |= {f"{prefix}.5.{p}" for p in ("weight", "bias", "running_mean", "running_var",
                                                      "num_batches_tracked")}
    assert set(keys) == expected
    # the transposed convs store in x out x 4 x 4, as in the checkpoint
    assert model.state_dict()["layers.0.feedforward3.4.weight"].shape == (192, 96, 4, 4)
    assert model.state_dict()["layers.0.feedforward1.0.weight"].shape == (384, 288, 1, 1)


@pytest.mark.parametrize("height, width", [(8, 8), (7, 10), (5, 3), (1, 1)])
def test_dwt_matches_pywavelets(height, width):
    x = torch.randn(2, 3, height, width, dtype=torch.float64)
    ll, high = HaarDWT().double()(x)
    ca, (ch, cv, cd) = pywt.dwt2(x.numpy(), "db1", mode="zero")
    assert ll.shape == (2, 3, *ca.shape[-2:]) and high.shape == (2, 3, 3, *ca.shape[-2:])
    for ours, theirs in zip([ll, high[:, :, 0], high[:, :, 1], high[:, :, 2]], [ca, ch, cv, cd]):
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=1e-12)


def test_dwt_float32_matches_pywavelets():
    x = torch.randn(1, 4, 6, 6)
    ll, high = HaarDWT()(x)
    ca, (ch, _, _) = pywt.dwt2(x.numpy(), "db1", mode="zero")
    np.testing.assert_allclose(ll.numpy(), ca, atol=1e-5)
    np.testing.assert_allclose(high[:, :, 0].numpy(), ch, atol=1e-5)


def test_dwt_filters_are_buffers_outside_the_state_dict():
    dwt = HaarDWT()
    assert [name for name, _ in dwt.named_buffers()] == ["filters"] and dict(dwt.state_dict()) == {}
    assert not any(p.requires_grad for p in dwt.parameters())


def test_block_stacks_ll_then_details_channel_major():
    """Z1 = [LL (48), then channel 48 + 3k + s = reduced channel k, band s]: checked through the first layer of
    branch 1 by giving it weights that pick single input channels."""
    torch.manual_seed(1)
    block = WaveBlock().eval()
    x = torch.randn(1, 192, 16, 16)
    reduced = block.reduction(x)
    ca, (ch, cv, cd) = pywt.dwt2(reduced.detach().double().numpy(), "db1", mode="zero")
    captured = {}
    block.feedforward1[0].register_forward_hook(lambda _m, inputs, _o: captured.update(z1=inputs[0]))
    with torch.no_grad():
        block(x)
    z1 = captured["z1"].double().numpy()
    np.testing.assert_allclose(z1[:, :48], ca, atol=1e-4)
    k = 5
    for s, band in enumerate([ch, cv, cd]):
        np.testing.assert_allclose(z1[:, 48 + 3 * k + s], band[:, k], atol=1e-4)
    assert z1.shape[1] == 192 + 96  # then branch 2's output


def test_dwt_runs_once_per_block():
    small = wavemix.WaveMix(num_classes=10, depth=1).eval()
    calls = []
    small.layers[0].dwt.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        small(torch.randn(1, 3, 32, 32))
    assert len(calls) == 3  # one 3-level pyramid, each level transforming the previous LL


def test_buffers_follow_device_and_dtype():
    small = wavemix.WaveMix(num_classes=10, depth=2)
    assert small.layers[0].dwt.filters.dtype == torch.float32
    assert small.double().layers[1].dwt.filters.dtype == torch.float64
    assert small.half().layers[0].dwt.filters.dtype == torch.float16
    meta = small.float().to("meta")
    assert all(b.device.type == "meta" for b in meta.buffers())
    assert meta(torch.empty(2, 3, 64, 64, device="meta")).shape == (2, 10)


def test_float64_forward_agrees_with_float32():
    torch.manual_seed(2)
    small = wavemix.WaveMix(num_classes=10, depth=1).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        single = small(x)
        double = small.double()(x.double())
    torch.testing.assert_close(single.double(), double, rtol=1e-4, atol=1e-4)


def test_state_dict_round_trip():
    torch.manual_seed(0)
    small = wavemix.WaveMix(num_classes=10, depth=2).eval()
    buffer = io.BytesIO()
    torch.save(small.state_dict(), buffer)
    torch.manual_seed(123)
    other = wavemix.WaveMix(num_classes=10, depth=2).eval()
    other.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True), strict=True)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(small(x), other(x), rtol=0, atol=0)


@pytest.mark.parametrize("height, width", [(250, 256), (256, 100), (64, 48)])
def test_sides_not_divisible_by_32_raise_config_error(model, height, width):
    with pytest.raises(ConfigError, match=f"{height}x{width}.*divisible by 32"):
        model(torch.zeros(1, 3, height, width))


def test_non_square_input():
    small = wavemix.WaveMix(num_classes=7, depth=1).eval()
    with torch.no_grad():
        assert small(torch.randn(1, 3, 64, 96)).shape == (1, 7)


def test_channels_last_input_gives_the_same_output():
    torch.manual_seed(3)
    small = wavemix.WaveMix(num_classes=10, depth=1).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = small(x)
        small = small.to(memory_format=torch.channels_last)
        torch.testing.assert_close(small(x.to(memory_format=torch.channels_last)), expected, rtol=1e-5, atol=1e-5)
