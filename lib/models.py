"""The paper's eleven backbones: a registry of specs, plain builder functions, one uniform head swap.

``build(name, num_classes, pretrained=False)`` returns the ImageNet architecture, with ImageNet weights when
``pretrained=True``, whose final ``nn.Linear`` (``spec.head``) is replaced by a fresh one with ``num_classes``
outputs when ``num_classes`` differs from ImageNet's 1000. Nothing else is touched.

Pretrained weights are read only from local files that already exist, never downloaded: torchvision's files from
``$TORCH_HOME/hub/checkpoints`` under the exact name torchvision expects, WaveMix's published checkpoint from the
same folder or from ``weights_file``. A torchvision file's sha256 is checked against the prefix in its name (or
a pinned ``sha256``) before it is read, WaveMix's against a pinned ``sha256`` when one is given (its published hash
is not recorded anywhere). A missing or corrupt file raises :class:`~lib.errors.WeightsError`, never a silent
fall-back to random weights.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn

from lib import wavemix
from lib.errors import ConfigError, UnknownNameError, WeightsError

IMAGENET_CLASSES = 1000


@dataclass(frozen=True)
class BackboneSpec:
    """What the book needs to know about one backbone; the numbers in the paper's tables live in ``lib.paper``."""

    name: str  # stable name; for torchvision backbones also torchvision's model name
    display: str  # as in the paper's Table 2
    family: str  # "cnn", "transformer" or "wavelet" (WaveMix's token-mixer)
    weights: str | None  # the torchvision weights entry the authors' code loads; None for WaveMix
    head: str  # attribute path of the final nn.Linear, the only layer the head swap replaces
    cite: str  # key in references.bib
    input_size: int = 256  # side of the square input used in the paper


Builder = Callable[[], nn.Module]  # returns the 1000-class ImageNet architecture, randomly initialised
_REGISTRY: dict[str, tuple[BackboneSpec, Builder]] = {}


def register_backbone(spec: BackboneSpec) -> Callable[[Builder], Builder]:
    """Decorator: file ``builder`` under ``spec.name``."""

    def register(builder: Builder) -> Builder:
        _REGISTRY[spec.name] = (spec, builder)
        return builder

    return register


def torchvision_builder(name: str) -> Builder:
    """Torchvision's own builder for model ``name``, without weights."""

    def build_torchvision() -> nn.Module:
        return torchvision.models.get_model(name, weights=None)

    return build_torchvision


def build_wavemix_192_16() -> nn.Module:
    return wavemix.wavemix_192_16(num_classes=IMAGENET_CLASSES)


# The paper's Table 2, in its order. Weights entries and heads as in the authors' code.
_TABLE_2 = [
    BackboneSpec("resnet50", "ResNet-50", "cnn", "ResNet50_Weights.IMAGENET1K_V2", "fc", "he2016resnet"),
    BackboneSpec("wavemix_192_16", "WaveMix-192/16 (level 3)", "wavelet", None, "pool.2", "jeevan2024wavemix"),
    BackboneSpec("convnext_tiny", "ConvNeXt-Tiny", "cnn", "ConvNeXt_Tiny_Weights.IMAGENET1K_V1", "classifier.2",
                 "liu2022convnext"),
    BackboneSpec("swin_t", "Swin-Tiny", "transformer", "Swin_T_Weights.IMAGENET1K_V1", "head", "liu2021swin"),
    BackboneSpec("swin_v2_t", "SwinV2-Tiny", "transformer", "Swin_V2_T_Weights.IMAGENET1K_V1", "head",
                 "liu2022swinv2"),
    BackboneSpec("efficientnet_v2_s", "EfficientNetV2-S", "cnn", "EfficientNet_V2_S_Weights.IMAGENET1K_V1",
                 "classifier.1", "tan2021efficientnetv2"),
    BackboneSpec("densenet161", "DenseNet-161", "cnn", "DenseNet161_Weights.IMAGENET1K_V1", "classifier",
                 "huang2017densenet"),
    BackboneSpec("mobilenet_v3_large", "MobileNetV3-Large", "cnn", "MobileNet_V3_Large_Weights.IMAGENET1K_V2",
                 "classifier.3", "howard2019mobilenetv3"),
    BackboneSpec("regnet_y_3_2gf", "RegNetY-3.2GF", "cnn", "RegNet_Y_3_2GF_Weights.IMAGENET1K_V2", "fc",
                 "radosavovic2020regnet"),
    BackboneSpec("resnext50_32x4d", "ResNeXt-50 32×4d", "cnn", "ResNeXt50_32X4D_Weights.IMAGENET1K_V2", "fc",
                 "xie2017resnext"),
    BackboneSpec("shufflenet_v2_x2_0", "ShuffleNetV2 2.0×", "cnn", "ShuffleNet_V2_X2_0_Weights.IMAGENET1K_V1", "fc",
                 "ma2018shufflenetv2"),
]
for _spec in _TABLE_2:
    register_backbone(_spec)(build_wavemix_192_16 if _spec.weights is None else torchvision_builder(_spec.name))


def names() -> list[str]:
    """The eleven backbone names, in the order of the paper's Table 2."""
    return list(_REGISTRY)


def spec(name: str) -> BackboneSpec:
    """The spec of backbone ``name``; an unknown name raises :class:`UnknownNameError` listing the valid ones."""
    if name not in _REGISTRY:
        raise UnknownNameError(
            f"unknown backbone {name!r}; valid names: {', '.join(names())} (see lib.models.names())"
        )
    return _REGISTRY[name][0]


def specs() -> list[BackboneSpec]:
    """All specs, in the order of the paper's Table 2."""
    return [entry[0] for entry in _REGISTRY.values()]


def build(
    name: str,
    num_classes: int,
    pretrained: bool = False,
    *,
    weights_file: str | os.PathLike | None = None,
    sha256: str | None = None,
) -> nn.Module:
    """Backbone ``name`` with a ``num_classes``-way head; ImageNet weights only if ``pretrained=True``.

    ``sha256`` pins the expected hash (full or a prefix) of the weights file; without it torchvision files are
    checked against the hash prefix in their file name, as torch.hub does on download. ``weights_file`` is the
    path of WaveMix's published checkpoint when it is not in ``$TORCH_HOME/hub/checkpoints``.
    """
    backbone = spec(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"num_classes={num_classes!r} is not allowed; give a positive integer such as 10")
    if not isinstance(pretrained, bool):
        raise ConfigError(f"pretrained={pretrained!r} is not allowed; give True or False")
    if weights_file is not None and backbone.weights is not None:
        raise ConfigError(
            f"weights_file is only for wavemix_192_16, not {name!r}; put torchvision's file "
            f"{checkpoint_path(backbone).name} into {checkpoint_dir()} instead"
        )
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{8,64}", sha256):
        raise ConfigError(f"sha256={sha256!r} is not a hex digest; give the file's sha256 (8 to 64 hex digits)")
    if not pretrained and (weights_file is not None or sha256 is not None):
        raise ConfigError("weights_file/sha256 were given with pretrained=False; pass pretrained=True to load them")

    if not pretrained:
        model = _REGISTRY[name][1]()
    elif backbone.weights is not None:
        model = _torchvision_pretrained(backbone, sha256)
    else:
        model = _REGISTRY[name][1]()
        _load_wavemix_checkpoint(model, weights_file, sha256)

    if num_classes != IMAGENET_CLASSES:
        replace_head(model, backbone.head, num_classes)
    return model


def replace_head(model: nn.Module, head: str, num_classes: int) -> nn.Linear:
    """Replace the ``nn.Linear`` at attribute path ``head`` by a fresh one with the same inputs and
    ``num_classes`` outputs (with bias, PyTorch's default initialisation); returns the new layer."""
    old = model.get_submodule(head)
    if not isinstance(old, nn.Linear):
        raise ConfigError(f"head {head!r} is a {type(old).__name__}, not nn.Linear; fix the backbone's spec")
    new = nn.Linear(old.in_features, num_classes, bias=True, device=old.weight.device, dtype=old.weight.dtype)
    model.set_submodule(head, new)
    return new


# --- pretrained weights: local files only, hash-checked ---------------------------------------------------------


def checkpoint_dir() -> Path:
    """Where torch.hub keeps weights files: ``$TORCH_HOME/hub/checkpoints`` (or the folder set by
    ``torch.hub.set_dir``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def checkpoint_path(backbone: BackboneSpec) -> Path:
    """The exact path at which the backbone's ImageNet weights are expected."""
    if backbone.weights is None:
        return checkpoint_dir() / wavemix.CHECKPOINT_NAME
    return checkpoint_dir() / _url_file_name(_weights_entry(backbone).url)


def checkpoint_url(backbone: BackboneSpec) -> str:
    """Where the backbone's ImageNet weights are published."""
    return wavemix.CHECKPOINT_URL if backbone.weights is None else _weights_entry(backbone).url


def _weights_entry(backbone: BackboneSpec) -> torchvision.models.WeightsEnum:
    return torchvision.models.get_weight(backbone.weights)


def _url_file_name(url: str) -> str:
    return os.path.basename(urlparse(url).path)


def _missing_weights_error(backbone: BackboneSpec, path: Path) -> WeightsError:
    url = checkpoint_url(backbone)
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():   # e.g. TORCH_HOME set to a file: the path cannot exist
        return WeightsError(
            f"{backbone.display} ImageNet weights cannot be found at {path}: {blocker} is a file, not a folder; "
            f"set TORCH_HOME to a folder (weights are read from $TORCH_HOME/hub/checkpoints) or unset it"
        )
    if backbone.weights is not None:  # torchvision fetches into $TORCH_HOME/hub/checkpoints and checks the hash
        entry = f"torchvision.models.get_weight('{backbone.weights}')"
        fetch = f"import torchvision; {entry}.get_state_dict(check_hash=True)"
        where = f"then copy {path.name} from its ~/.cache/torch/hub/checkpoints into {path.parent}"
    else:
        fetch = f"import torch; torch.hub.download_url_to_file('{url}', '{path.name}')"
        where = "then copy the file there or pass weights_file=<its path>"
    return WeightsError(
        f"{backbone.display} ImageNet weights not found: expected file {path} (from {url}); "
        f"on a machine with internet run python -c \"{fetch}\", {where}"
    )


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`WeightsError` naming ``path`` unless its sha256 starts with ``expected`` (hex, any length)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    actual = digest.hexdigest()
    if not actual.startswith(expected.lower()):
        raise WeightsError(
            f"weights file {path} is corrupt or not the expected one: sha256 {actual[:16]}... does not start with "
            f"{expected.lower()}; delete it and download it again"
        )


def batchnorm_at_init(state: dict) -> bool:
    """True when every BatchNorm running mean in ``state`` is 0 and every running variance 1, as PyTorch
    initialises them: a network that never saw a training batch, whatever its file is called."""
    means = [v for k, v in state.items() if k.endswith(".running_mean")]
    variances = [v for k, v in state.items() if k.endswith(".running_var")]
    return bool(means) and all(torch.count_nonzero(v) == 0 for v in means) and \
        all(bool(torch.all(v == 1)) for v in variances)


def _torchvision_pretrained(backbone: BackboneSpec, sha256: str | None) -> nn.Module:
    """Torchvision's own builder with its weights entry, after checking the cached file exists and is intact.

    torch.hub checks the hash only while downloading and downloads whatever is missing; checking first means no
    download is ever attempted and a corrupted cached file is caught.
    """
    path = checkpoint_path(backbone)
    if not path.is_file():
        raise _missing_weights_error(backbone, path)
    expected = sha256 or torch.hub.HASH_REGEX.search(path.name).group(1)
    verify_sha256(path, expected)
    return torchvision.models.get_model(backbone.name, weights=_weights_entry(backbone))


def _load_wavemix_checkpoint(model: nn.Module, weights_file: str | os.PathLike | None, sha256: str | None) -> None:
    """Load the published WaveMix ImageNet state_dict (573 keys) into ``model``, exactly."""
    backbone = spec("wavemix_192_16")
    path = Path(weights_file).expanduser() if weights_file is not None else checkpoint_path(backbone)
    if not path.is_file():
        raise _missing_weights_error(backbone, path)
    if sha256 is not None:  # the published file's hash is not recorded anywhere we can check offline
        verify_sha256(path, sha256)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: torch raises several kinds
        raise WeightsError(f"weights file {path} cannot be read ({type(err).__name__}); download it again") from err
    if not isinstance(state, dict):
        raise WeightsError(f"weights file {path} holds a {type(state).__name__}, not a state_dict; use the "
                           f"published {wavemix.CHECKPOINT_NAME}")
    expected_keys = set(model.state_dict())
    missing, unexpected = sorted(expected_keys - set(state)), sorted(set(state) - expected_keys)
    if missing or unexpected:
        raise WeightsError(
            f"weights file {path} does not match WaveMix-192/16: {len(missing)} keys missing (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:3]}); expected the {wavemix.CHECKPOINT_KEYS} keys of "
            f"the published {wavemix.CHECKPOINT_NAME}"
        )
    if batchnorm_at_init(state):
        raise WeightsError(f"weights file {path} has every BatchNorm running mean at 0 and variance at 1: a freshly "
                           f"initialised network, not the published ImageNet weights; download "
                           f"{wavemix.CHECKPOINT_NAME} again (python -m lib.fetch --weights wavemix_192_16)")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[-1].strip()
        raise WeightsError(f"weights file {path} does not fit WaveMix-192/16: {first}") from err
