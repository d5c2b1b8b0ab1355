"""What a plan checks before the first run (issue 27): the paper profile never falls back to the CPU silently, and
every missing dataset and weights file of the whole plan is named in one message with the command that fetches it."""
from __future__ import annotations

import pytest
import torch

from book import show
from lib import config
from lib.errors import ConfigError, DataError


def test_paper_refuses_a_silent_cpu_fallback(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="will not fall back to the CPU silently") as err:
        config.make_config("resnet50", "digits", profile="paper")
    assert "\n" not in str(err.value) and "'cpu'" in str(err.value)
    explicit = config.make_config("resnet50", "digits", profile="paper", device="cpu")   # asked for: allowed
    assert explicit.device == "cpu"
    assert config.make_config("resnet50", "digits", profile="workshop").device == "cpu"  # CPU profiles as before


def test_the_whole_plan_is_checked_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    with pytest.raises(DataError) as err:
        config.plan("paper", backbones="resnet50,wavemix_192_16", datasets="cifar10,dtd", seeds="0",
                    device="cpu", data_root=tmp_path / "data")
    message = str(err.value)
    assert "\n" not in message and message.startswith("4 input(s) of this plan are missing")
    for part in ("CIFAR-10", "DTD", "resnet50-", "wavemix_192_16", "python -m lib.fetch cifar10 dtd"):
        assert part in message, part


def test_a_plan_from_scratch_needs_no_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    configs = config.plan("ci", backbones="resnet50", datasets="digits", seeds="0")
    assert configs and not configs[0].pretrained


def test_a_stand_in_is_refused_under_the_papers_protocol_and_allowed_in_a_labelled_rehearsal(tmp_path, monkeypatch):
    """A 30-image "CIFAR-10" trained under `paper` with no warning (issue 27) is now refused with its counts; the
    same folder is allowed when the run departs from the protocol, which labels every record of it."""
    from tests import native_fixtures as nf

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    nf.write_cifar10(tmp_path / "data", per_class=3)
    with pytest.raises(DataError, match="far fewer than the 60,000") as err:
        config.plan("paper", backbones="resnet50", datasets="cifar10", seeds="0", device="cpu",
                    data_root=tmp_path / "data")
    assert "python -m lib.fetch cifar10" in str(err.value)
    rehearsal = config.plan("paper", backbones="resnet50", datasets="cifar10", seeds="0", device="cpu",
                            max_epochs=1, image_size=32, pretrained=False, data_root=tmp_path / "data")
    from lib import profiles

    assert profiles.departures(rehearsal[0].as_dict()).startswith("capped at 1 epochs")


def test_the_cache_lives_outside_the_repository_by_default(monkeypatch, tmp_path):
    from lib.data import cache
    from lib import paths

    monkeypatch.delenv("WB_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = paths.cache()
    assert paths.ROOT not in folder.parents and folder.name == "which-backbone"
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "elsewhere"))
    assert paths.cache() == tmp_path / "elsewhere"


def test_chapter_2_counts_what_is_on_disk_beside_table_3(tmp_path):
    """Issue 27: chapter 2's "ours" column showed Table 3's sizes for a 30-image stand-in; the files' own counts now
    stand beside them wherever a dataset is present."""
    from lib.data import sizes
    from tests import native_fixtures as nf

    nf.write_cifar10(tmp_path, per_class=3)
    counts = show.on_disk(show.table3_counts(["cifar10", "dtd"]), tmp_path).set_index("dataset")
    assert counts.loc["cifar10", "train (on disk)"] == 30 and counts.loc["cifar10", "test (on disk)"] == 20
    assert counts.loc["cifar10", "train (ours)"] == 50_000            # the real size, still beside it
    assert counts["train (on disk)"].isna()["dtd"]                      # absent: a dash
    shown = show.table3_counts_table(counts.reset_index()).data
    assert "train (on disk)" in shown
