"""Pretrained weights, offline: files in a temporary TORCH_HOME under the exact names the loaders expect, in the
same format as the published files. No test (and no loader) may download anything."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import torch

from lib import models, wavemix
from lib.errors import ConfigError, WeightsError


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """A fresh, empty TORCH_HOME whose hub/checkpoints the loaders must use; downloading fails the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))   # torch.hub's folder follows it; restored after the test
    assert Path(torch.hub.get_dir()) == tmp_path / "hub"

    def no_download(url, *args, **kwargs):
        raise AssertionError(f"attempted to download {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    return checkpoints


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def random_state(name: str) -> dict[str, torch.Tensor]:
    """A state_dict for backbone ``name`` (ImageNet head) in which every tensor, BatchNorm statistics and counters
    included, is random: a value that was not loaded cannot pass for one that was."""
    torch.manual_seed(0)
    state = models.build(name, 1000).state_dict()
    return {key: torch.randn_like(value) if value.is_floating_point() else torch.randint_like(value, 1, 1000)
            for key, value in state.items()}


def published_wavemix_keys() -> set[str]:
    """The 573 state_dict keys of the published WaveMix-192/16 ImageNet checkpoint, spelled out."""
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    keys = {f"conv.{i}.{p}" for i in (0, 1, 2) for p in ("weight", "bias")} | {f"conv.4.{p}" for p in bn}
    keys |= {"pool.2.weight", "pool.2.bias"}
    for i in range(16):
        keys |= {f"layers.{i}.reduction.weight", f"layers.{i}.reduction.bias"}
        for branch in (1, 2, 3):
            prefix = f"layers.{i}.feedforward{branch}"
            keys |= {f"{prefix}.{j}.{p}" for j in (0, 3, 4) for p in ("weight", "bias")}
            keys |= {f"{prefix}.5.{p}" for p in bn}
    return keys


def assert_loaded(model: torch.nn.Module, reference: dict, head: str | None = None) -> None:
    """Every tensor of ``model`` equals ``reference``, except the (new) head ``head`` if given."""
    state = model.state_dict()
    skip = {f"{head}.weight", f"{head}.bias"} if head else set()
    assert set(state) == set(reference)
    for key in set(state) - skip:
        assert torch.equal(state[key], reference[key]), key


# --- torchvision backbones ---------------------------------------------------------------------------------------


def test_expected_path_is_torchvisions_file_name(torch_home):
    path = models.checkpoint_path(models.spec("mobilenet_v3_large"))
    assert path == torch_home / "mobilenet_v3_large-5c1a4163.pth"
    assert models.checkpoint_path(models.spec("resnet50")).name == "resnet50-11ad3fa6.pth"


def test_missing_torchvision_weights_name_the_file_and_how_to_get_it(torch_home):
    with pytest.raises(WeightsError) as info:
        models.build("mobilenet_v3_large", 10, pretrained=True)
    message = str(info.value)
    assert str(torch_home / "mobilenet_v3_large-5c1a4163.pth") in message
    assert "https://download.pytorch.org/models/mobilenet_v3_large-5c1a4163.pth" in message
    assert "MobileNet_V3_Large_Weights.IMAGENET1K_V2" in message and "\n" not in message


def test_torchvision_weights_load_from_the_hub_cache(torch_home):
    reference = random_state("mobilenet_v3_large")
    path = torch_home / "mobilenet_v3_large-5c1a4163.pth"
    torch.save(reference, path)
    # the file's real hash cannot start with torchvision's prefix 5c1a4163, so the test pins the hash it wrote
    digest = sha256(path)
    imagenet = models.build("mobilenet_v3_large", 1000, pretrained=True, sha256=digest)
    assert_loaded(imagenet, reference)
    swapped = models.build("mobilenet_v3_large", 10, pretrained=True, sha256=digest[:12])
    assert_loaded(swapped, reference, head="classifier.3")
    assert swapped.classifier[3].out_features == 10


def test_torchvision_file_not_matching_its_name_hash_is_rejected(torch_home):
    path = torch_home / "mobilenet_v3_large-5c1a4163.pth"
    torch.save(random_state("mobilenet_v3_large"), path)  # a loadable file, but not the published one
    with pytest.raises(WeightsError, match=re.escape(str(path)) + ".*5c1a4163"):
        models.build("mobilenet_v3_large", 10, pretrained=True)


def test_corrupted_torchvision_file_is_rejected(torch_home):
    path = torch_home / "shufflenetv2_x2_0-8be3c8ee.pth"
    torch.save(random_state("shufflenet_v2_x2_0"), path)
    digest = sha256(path)
    path.write_bytes(path.read_bytes()[:-1000])  # truncated download
    with pytest.raises(WeightsError, match=re.escape(str(path))):
        models.build("shufflenet_v2_x2_0", 10, pretrained=True, sha256=digest)


def test_densenet_legacy_key_format_loads(torch_home):
    """torchvision's DenseNet file predates PyTorch 0.4: old key names (``norm.1`` for ``norm1``), no
    ``num_batches_tracked``, no version metadata. torchvision's own loading path, which build() goes through,
    maps them."""
    reference = random_state("densenet161")
    reference = {k: torch.zeros_like(v) if k.endswith("num_batches_tracked") else v for k, v in reference.items()}
    legacy = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", key): value
              for key, value in reference.items() if not key.endswith("num_batches_tracked")}
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    path = torch_home / "densenet161-8d451a50.pth"
    torch.save(legacy, path)
    assert_loaded(models.build("densenet161", 10, pretrained=True, sha256=sha256(path)), reference, "classifier")


def test_weights_file_is_only_for_wavemix(torch_home, tmp_path):
    with pytest.raises(ConfigError, match="weights_file"):
        models.build("resnet50", 10, pretrained=True, weights_file=tmp_path / "x.pth")
    with pytest.raises(ConfigError, match="pretrained=False"):
        models.build("wavemix_192_16", 10, weights_file=tmp_path / "x.pth")


@pytest.mark.parametrize("digest", ["", "abc", "not-hex-at-all", "0" * 65])
def test_pinned_hash_must_be_a_hex_digest(torch_home, digest):
    with pytest.raises(ConfigError, match="sha256"):
        models.build("mobilenet_v3_large", 10, pretrained=True, sha256=digest)


# --- WaveMix's published checkpoint -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wavemix_checkpoint(tmp_path_factory):
    """A state_dict under the published checkpoint's 573 key names, saved as torch.save writes it."""
    state = random_state("wavemix_192_16")
    assert set(state) == published_wavemix_keys() and len(state) == 573
    path = tmp_path_factory.mktemp("wavemix") / wavemix.CHECKPOINT_NAME
    torch.save(state, path)
    return path, state


def test_wavemix_loads_all_573_keys_from_a_given_file(torch_home, wavemix_checkpoint):
    path, state = wavemix_checkpoint
    model = models.build("wavemix_192_16", 1000, pretrained=True, weights_file=path, sha256=sha256(path))
    assert_loaded(model, state)
    assert len(model.state_dict()) == 573


def test_wavemix_loads_from_the_hub_cache_and_swaps_the_head(torch_home, wavemix_checkpoint):
    path, state = wavemix_checkpoint
    (torch_home / "wavemix_192_16_75.06.pth").symlink_to(path)
    model = models.build("wavemix_192_16", 10, pretrained=True)
    assert_loaded(model, state, head="pool.2")
    assert model.pool[2].out_features == 10


def test_missing_wavemix_checkpoint_names_the_file_and_the_url(torch_home):
    with pytest.raises(WeightsError) as info:
        models.build("wavemix_192_16", 10, pretrained=True)
    message = str(info.value)
    assert str(torch_home / "wavemix_192_16_75.06.pth") in message
    assert "huggingface.co/cloudwalker/wavemix" in message and "weights_file" in message


def test_wavemix_hash_mismatch_is_rejected(torch_home, wavemix_checkpoint):
    path, _ = wavemix_checkpoint
    with pytest.raises(WeightsError, match=re.escape(str(path)) + ".*0123abcd"):
        models.build("wavemix_192_16", 10, pretrained=True, weights_file=path, sha256="0123abcd")


def test_wavemix_unreadable_or_foreign_files_are_rejected(torch_home, tmp_path):
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(b"PK\x03\x04 not a checkpoint")
    with pytest.raises(WeightsError, match="cannot be read"):
        models.build("wavemix_192_16", 10, pretrained=True, weights_file=truncated)
    wrapped = tmp_path / "wrapped.pth"  # e.g. saved from nn.DataParallel
    torch.save({"module.pool.2.bias": torch.zeros(1000)}, wrapped)
    with pytest.raises(WeightsError, match="573 keys"):
        models.build("wavemix_192_16", 10, pretrained=True, weights_file=wrapped)
