"""Chapter 3's protocol table: the paper's text and the authors' code from results/paper/protocol.csv, and this
book's column computed from the configuration the runs use."""
import pandas as pd

from lib import config
from book import protocol


def column(cfg) -> dict:
    table = protocol.protocol_differences(cfg)
    return dict(zip(table["aspect"], table["this book (this run)"]))


def test_every_fact_row_is_shown_and_the_book_column_follows_the_configuration():
    facts = pd.read_csv(protocol.PROTOCOL_CSV, keep_default_na=False)
    workshop = column(config.make_config("resnet50", "digits", profile="workshop"))
    paper = column(config.make_config("resnet50", "digits", profile="paper", max_epochs=None, device="cpu"))
    assert list(workshop) == facts["aspect"].tolist() and all(v and "{" not in v for v in workshop.values())
    assert "precise BatchNorm" in workshop["BatchNorm statistics at evaluation"] and "512" in \
        workshop["BatchNorm statistics at evaluation"]
    assert paper["BatchNorm statistics at evaluation"] == "running averages, as the paper"
    assert "RandomAffine" in workshop["augmentation"] and "20 epochs in all" in workshop["epoch cap"]
    assert paper["epoch cap"] == "none (patience alone)" and paper["weights"] == "ImageNet-pretrained"
    test = column(config.make_config("resnet50", "digits", profile="ci", select_on="test"))
    assert "paper protocol" in test["epoch selection and early stopping"]
    assert protocol.augmentation_text("cifar10").startswith("TrivialAugmentWide")
    assert protocol.augmentation_text("galaxy10").startswith("none")


def test_a_profiles_per_backbone_learning_rate_reaches_only_that_backbone():
    swin = config.make_config("swin_v2_t", "digits", profile="workshop")
    other = config.make_config("convnext_tiny", "digits", profile="workshop")
    paper = config.make_config("swin_v2_t", "digits", profile="paper", device="cpu")
    assert swin.adamw_lr == 1e-4 and other.adamw_lr == paper.adamw_lr == 1e-3
    assert "AdamW lr 0.0001" in column(swin)["phase 1 optimiser"]


def test_the_protocol_table_has_no_index_column_and_no_backbone_id():
    cfg = config.make_config("swin_t", "digits", profile="workshop")
    html = protocol.protocol_table(cfg).data
    assert "row_heading" not in html and "NaN" not in html
    assert ">swin_t" not in html and " swin_t" not in html
