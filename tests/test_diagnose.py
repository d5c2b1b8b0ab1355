"""book.diagnose: train-mode vs eval-mode top-1 tells BatchNorm collapse from not learning, and touches nothing."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from book import diagnose
from lib.errors import ConfigError


class Points(torch.utils.data.Dataset):
    """Two balanced classes on one feature: 49 (class 0) or 51 (class 1), plus a little noise."""

    def __init__(self, n: int = 64):
        generator = torch.Generator().manual_seed(1)
        self.labels = torch.arange(n) % 2
        self.x = (49.0 + 2.0 * self.labels.float() + 0.1 * torch.randn(n, generator=generator))[:, None]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.x[i], int(self.labels[i])


def stale_batchnorm_model() -> nn.Module:
    """Right on batch statistics (x - ~50 has the class's sign); on BatchNorm's initial running mean 0 every input
    normalises to ~50 and lands in class 1: chance for balanced classes."""
    linear = nn.Linear(1, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[-1.0], [1.0]]))
        linear.bias.zero_()
    return nn.Sequential(nn.BatchNorm1d(1), nn.Dropout(p=0.9), linear)


def test_stale_running_statistics_read_as_collapse_and_the_model_is_untouched():
    model = stale_batchnorm_model().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = diagnose.mode_accuracies(model, Points(), batch_size=16)
    assert modes == {"train_mode_top1": 100.0, "eval_mode_top1": 50.0}
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)   # running stats, batch counter, weights
    assert model.training   # its mode restored
    assert diagnose.verdict(50.0, **modes, num_classes=2) == "evaluation-mode collapse"


def test_fresh_running_statistics_agree_with_batch_statistics():
    model = stale_batchnorm_model()
    bn = model[0]
    bn.running_mean.fill_(50.0)
    bn.running_var.fill_(1.0)
    modes = diagnose.mode_accuracies(model, Points(), batch_size=16)
    assert modes == {"train_mode_top1": 100.0, "eval_mode_top1": 100.0}   # and dropout (p=0.9) is off in both
    assert diagnose.verdict(100.0, **modes, num_classes=2) == "learns"


def test_a_network_at_chance_on_batch_statistics_is_not_learning():
    model = stale_batchnorm_model()
    with torch.no_grad():
        model[2].weight.zero_()   # every logit equal: argmax is class 0 for every input
    modes = diagnose.mode_accuracies(model, Points(), batch_size=16)
    assert modes == {"train_mode_top1": 50.0, "eval_mode_top1": 50.0}
    assert diagnose.verdict(50.0, **modes, num_classes=2) == "not learning"


def test_verdict_thresholds_ten_points_above_chance():
    assert diagnose.verdict(20.0, 90.0, 20.0) == "evaluation-mode collapse"
    assert diagnose.verdict(20.1, 90.0, 20.1) == "learns"
    assert diagnose.verdict(15.0, 20.0, 10.0) == "not learning"
    assert diagnose.verdict(12.0, 20.6, 14.8) == "not learning"   # above chance on batch statistics, but barely
    assert diagnose.verdict(60.0, 71.0, 60.0, num_classes=2) == "evaluation-mode collapse"
    assert diagnose.verdict(60.0, 69.0, 60.0, num_classes=2) == "not learning"
    assert set(diagnose.DIAGNOSES) == {"learns", "evaluation-mode collapse", "not learning"}


def test_batch_of_one_is_refused():
    with pytest.raises(ConfigError, match="batch_size=1"):
        diagnose.mode_accuracies(stale_batchnorm_model(), Points(), batch_size=1)


def _history(losses, phases=None):
    phases = phases or ["adamw"] * len(losses)
    return {"history": [{"epoch": i + 1, "phase": p, "train_loss": loss, "val_top1": 100 - 10 * loss}
                        for i, (loss, p) in enumerate(zip(losses, phases))]}


def test_loss_climb_finds_the_largest_rise_above_the_low_so_far():
    climb = diagnose.loss_climb(_history([2.0, 1.0, 1.2, 0.8, 1.5, 0.7]))
    assert (climb["low_epoch"], climb["high_epoch"]) == (4, 5)
    assert climb["rise"] == pytest.approx(0.7) and climb["high_val_top1"] == pytest.approx(85.0)
    assert diagnose.loss_climb(_history([2.0, 1.0, 0.5]))["rise"] == 0.0
    sgd_only = _history([2.0, 1.0, 3.0], ["adamw", "adamw", "sgd"])   # the SGD phase is not AdamW's climb
    assert diagnose.loss_climb(sgd_only)["rise"] == 0.0


def test_the_swin_evidence_is_a_run_at_the_papers_lr_and_the_workshop_uses_a_lower_one():
    """Chapter 3 explains the workshop's Swin-T lr with this record: it must be at 1e-3 and show the climb."""
    from lib import config

    record = diagnose.diagnosis_record("swin_t")
    assert record["config"]["adamw_lr"] == 1e-3 and record["profile"] == "workshop"
    assert diagnose.loss_climb(record)["rise"] > 0.5
    for backbone in ("swin_t", "swin_v2_t"):
        assert config.make_config(backbone, "digits", profile="workshop").adamw_lr == 1e-4
    assert config.make_config("resnet50", "digits", profile="workshop").adamw_lr == 1e-3


def test_the_modes_table_shows_display_names_and_no_index():
    html = diagnose.modes_table(diagnose.old_workshop_modes()).data
    assert "MobileNetV3-Large" in html and "mobilenet_v3_large" not in html and "row_heading" not in html
