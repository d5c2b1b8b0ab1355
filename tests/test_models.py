"""The backbone registry: names, specs, builds, forward passes, parameter counts and the uniform head swap."""
from __future__ import annotations

import re

import pandas as pd
import pytest
import torch
import torchvision
from torch import nn

from lib import models, paths
from lib.errors import ConfigError, UnknownNameError

NAMES = [
    "resnet50", "wavemix_192_16", "convnext_tiny", "swin_t", "swin_v2_t", "efficientnet_v2_s", "densenet161",
    "mobilenet_v3_large", "regnet_y_3_2gf", "resnext50_32x4d", "shufflenet_v2_x2_0",
]
TORCHVISION = [name for name in NAMES if name != "wavemix_192_16"]


@pytest.fixture(scope="module")
def built():
    """Each backbone built once at 1000 and once at 10 classes, both right after ``torch.manual_seed(0)``."""
    cache: dict[tuple[str, int], nn.Module] = {}

    def get(name: str, num_classes: int) -> nn.Module:
        if (name, num_classes) not in cache:
            torch.manual_seed(0)
            cache[name, num_classes] = models.build(name, num_classes)
        return cache[name, num_classes]

    return get


def test_names_are_the_papers_eleven_in_table_2_order():
    assert models.names() == NAMES
    assert [s.name for s in models.specs()] == NAMES


def test_specs_are_frozen_and_name_the_authors_weights():
    resnet = models.spec("resnet50")
    assert resnet.weights == "ResNet50_Weights.IMAGENET1K_V2" and resnet.head == "fc" and resnet.input_size == 256
    with pytest.raises(AttributeError):
        resnet.head = "classifier"
    assert models.spec("wavemix_192_16").weights is None
    for spec in models.specs():
        if spec.weights is not None:
            assert torchvision.models.get_weight(spec.weights) is not None
            assert spec.name in torchvision.models.list_models()


@pytest.mark.parametrize("bad", ["vit_b_16", "ResNet50", ""])
def test_unknown_name_lists_the_valid_ones(bad):
    with pytest.raises(UnknownNameError) as info:
        models.build(bad, 10)
    message = str(info.value)
    assert repr(bad) in message and "shufflenet_v2_x2_0" in message and "\n" not in message


@pytest.mark.parametrize("num_classes", [0, -3, 2.0, True, "10"])
def test_num_classes_must_be_a_positive_integer(num_classes):
    with pytest.raises(ConfigError, match="num_classes"):
        models.build("shufflenet_v2_x2_0", num_classes)


def test_pretrained_must_be_a_bool():
    with pytest.raises(ConfigError, match="pretrained"):
        models.build("shufflenet_v2_x2_0", 10, pretrained="yes")


@pytest.mark.parametrize("name", NAMES)
def test_builds_and_runs_forward_with_ten_classes(built, name):
    model = built(name, 10).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", TORCHVISION)
def test_param_count_matches_torchvision_metadata(built, name):
    expected = torchvision.models.get_weight(models.spec(name).weights).meta["num_params"]
    assert sum(p.numel() for p in built(name, 1000).parameters()) == expected


@pytest.mark.parametrize("name", NAMES)
def test_head_swap_replaces_only_the_final_linear(built, name):
    head = models.spec(name).head
    imagenet, swapped = built(name, 1000), built(name, 10)
    old, new = imagenet.get_submodule(head), swapped.get_submodule(head)
    assert type(new) is nn.Linear and new.bias is not None
    assert (new.in_features, new.out_features) == (old.in_features, 10) and old.out_features == 1000

    before, after = imagenet.state_dict(), swapped.state_dict()
    head_keys = {f"{head}.weight", f"{head}.bias"}
    assert set(before) == set(after) and head_keys <= set(before)
    for key in set(before) - head_keys:
        assert torch.equal(before[key], after[key]), key
    assert [n for n, _ in imagenet.named_modules()] == [n for n, _ in swapped.named_modules()]


def test_replace_head_refuses_a_layer_that_is_not_linear():
    model = models.build("shufflenet_v2_x2_0", 1000)
    with pytest.raises(ConfigError, match="conv1"):
        models.replace_head(model, "conv1", 10)


def test_specs_agree_with_the_transcribed_table_2():
    table2 = pd.read_csv(paths.PAPER / "table2.csv")
    assert list(table2["backbone"]) == models.names()
    assert list(table2["display"]) == [s.display for s in models.specs()]


def test_citation_keys_exist_in_references_bib():
    bib = (paths.ROOT / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.MULTILINE))
    assert {s.cite for s in models.specs()} <= keys
