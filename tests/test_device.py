"""lib.device: which device ``auto`` picks and what each device gets by default, with the availability checks
patched (this machine has neither a CUDA GPU nor Apple's MPS, so the choice logic is all that can be tested)."""
import pytest
import torch

from lib import device
from lib.errors import ConfigError


@pytest.fixture
def machine(monkeypatch):
    """Make torch see the given devices: ``machine(cuda=2, mps=True)``."""
    def see(cuda: int = 0, mps: bool = False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    return see


@pytest.mark.parametrize("cuda, mps, picked", [
    (1, True, "cuda"),    # CUDA first, even on a machine that also has MPS
    (1, False, "cuda"),
    (0, True, "mps"),     # then Apple's MPS
    (0, False, "cpu"),    # then the CPU
])
def test_auto_picks_cuda_then_mps_then_cpu(machine, cuda, mps, picked):
    machine(cuda=cuda, mps=mps)
    assert device.resolve_device("auto") == torch.device(picked)


@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:0", "cuda:1", "mps"])
def test_explicit_devices_that_exist(machine, name):
    machine(cuda=2, mps=True)
    assert device.resolve_device(name) == torch.device(name)


@pytest.mark.parametrize("name, cuda, mps, message", [
    ("gpu", 1, True, r"^device 'gpu' is not allowed: use one of auto, cpu, cuda, cuda:N, mps$"),
    ("cpu:0", 1, True, r"^device 'cpu:0' is not allowed: use one of auto, cpu, cuda, cuda:N, mps$"),
    ("cuda:x", 1, True, r"^device 'cuda:x' is not allowed: a GPU index is a whole number, e.g. cuda:0$"),
    ("cuda:", 1, True, r"^device 'cuda:' is not allowed: a GPU index is a whole number"),
    ("cuda", 0, True, r"^device 'cuda' requested but torch sees no CUDA GPU: use device 'auto' or 'cpu'$"),
    ("cuda:2", 2, False, r"^device 'cuda:2' requested but torch sees 2 CUDA GPU\(s\): use cuda:0 to cuda:1"),
    ("mps", 1, False, r"^device 'mps' requested but torch sees no Apple MPS device .*: use device 'auto' or 'cpu'$"),
])
def test_unavailable_or_unknown_devices_are_one_line_errors(machine, name, cuda, mps, message):
    machine(cuda=cuda, mps=mps)
    with pytest.raises(ConfigError, match=message) as err:
        device.resolve_device(name)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kind, dtype, channels_last", [
    ("cuda", torch.float16, True),   # amp="auto" is fp16 on CUDA, and the paper profile's channels_last is kept
    ("mps", None, False),            # both off by default on Apple's MPS
    ("cpu", None, True),
])
def test_defaults_per_device(kind, dtype, channels_last):
    dev = torch.device(kind)
    assert device.autocast_dtype("auto", dev) is dtype
    assert device.channels_last(True, dev) is channels_last
    assert device.channels_last(False, dev) is False


@pytest.mark.parametrize("kind", ["cuda", "mps", "cpu"])
def test_explicit_amp_is_honoured_everywhere(kind):
    dev = torch.device(kind)
    assert device.autocast_dtype("off", dev) is None
    assert device.autocast_dtype("fp16", dev) is torch.float16
    assert device.autocast_dtype("bf16", dev) is torch.bfloat16


def test_unknown_amp_is_a_one_line_error():
    with pytest.raises(ConfigError, match=r"^amp 'half' is not allowed: choose one of auto, off, fp16, bf16$"):
        device.autocast_dtype("half", torch.device("cpu"))


def test_the_profiles_devices_resolve(machine):
    """Every profile's device is one that resolve_device accepts (ci/workshop run on any machine)."""
    from lib import profiles

    machine(cuda=0, mps=False)
    for name in profiles.names():
        assert device.resolve_device(profiles.get(name).run.device) == torch.device("cpu")


def test_provenance_names_the_device_auto_picks(machine):
    """A run's record names the device it ran on: on an MPS-only machine that is the Apple GPU, not the CPU."""
    from lib import provenance

    machine(cuda=0, mps=True)
    assert provenance.device_name().startswith("Apple MPS GPU (")
    machine(cuda=0, mps=False)
    assert provenance.device_name().startswith("CPU: ")
