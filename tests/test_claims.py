"""The claims register: each claim kind on hand-made numbers (so a flipped rule fails), the verdicts on the paper's
tables that the book reports, the quotes against the paper's text, and the committed CSV against the code."""
import re
from pathlib import Path

import pandas as pd
import pytest

from lib import paper
from book import claims, findings, lowdata
from book.verdicts import SUPPORTED, PARTLY_SUPPORTED, NOT_SUPPORTED, NOT_CHECKABLE, VERDICTS

PAPER_TEXT = Path("/work/shared/paper")


def ctx(table: dict[str, dict[str, float]], low: pd.DataFrame | None = None) -> claims.Context:
    full = pd.DataFrame([{"backbone": b, "dataset": d, "top1": v} for d, row in table.items() for b, v in row.items()])
    return claims.Context("later", full, low if low is not None else pd.DataFrame(columns=["backbone", "dataset",
                                                                                            "fraction", "top1"]))


TOY = ctx({"cifar10": {"a": 90, "b": 80, "c": 70, "d": 60}, "cifar100": {"a": 70, "b": 80, "c": 90, "d": 60},
           "dtd": {"a": 50, "b": 50, "c": 40, "d": 30}})


@pytest.mark.parametrize("spec,verdict", [
    (claims.Best("cifar10", ("a",)), SUPPORTED),
    (claims.Best("cifar10", ("b",)), NOT_SUPPORTED),
    (claims.Best("dtd", ("a",)), PARTLY_SUPPORTED),  # a and b tie
    (claims.Best("dtd", ("a", "b")), SUPPORTED),
    (claims.NeverBest("d"), SUPPORTED),
    (claims.NeverBest("c"), NOT_SUPPORTED),
    (claims.Beats("a", "b", ("cifar10", "cifar100")), PARTLY_SUPPORTED),
    (claims.Beats("b", "d"), SUPPORTED),
    (claims.Beats("d", "b"), NOT_SUPPORTED),
    (claims.TopThreeOn("b", "natural", 2, 2), SUPPORTED),
    (claims.TopThreeOn("d", "natural", 2, 2), NOT_SUPPORTED),
    (claims.NeverTopThree("d", "natural"), SUPPORTED),
    (claims.NeverTopThree("a", "natural"), NOT_SUPPORTED),
    (claims.BestOnAllBut("a", "natural", ("cifar100",)), SUPPORTED),
    (claims.Number("x", lambda: 1440, 1200), NOT_SUPPORTED),
    (claims.Number("x", lambda: 7945, 7909), PARTLY_SUPPORTED),
    (claims.Number("x", lambda: 17736, 17000, "~"), SUPPORTED),
    (claims.Number("x", lambda: 55448, 54000, ">="), SUPPORTED),
    (claims.Number("x", lambda: 109.5, 100, "<="), NOT_SUPPORTED),
])
def test_each_claim_kind_decides_on_hand_made_numbers(spec, verdict):
    assert spec.check(TOY).verdict == verdict


def test_gain_and_low_data_leaders():
    galaxy = ctx({"galaxy10": {"w": 95.10, "c": 87.29, "r": 80}})
    assert claims.Gain("galaxy10", "w", "c", 9).check(galaxy).verdict == SUPPORTED
    assert claims.Gain("galaxy10", "w", "c", 5).check(galaxy).verdict == PARTLY_SUPPORTED
    assert claims.Gain("galaxy10", "c", "w", 9).check(galaxy).verdict == NOT_SUPPORTED
    low = pd.DataFrame({"backbone": ["a", "b", "c"], "dataset": "rsna", "fraction": 0.1, "top1": [3.0, 2.0, 1.0]})
    assert claims.LowDataLeaders(("rsna",), (0.1,), ("a",)).check(ctx({}, low)).verdict == SUPPORTED
    assert claims.LowDataLeaders(("rsna",), (0.1,), ("b",)).check(ctx({}, low)).verdict == NOT_SUPPORTED


def test_verdicts_on_the_papers_tables():
    table = claims.register()
    assert set(table.verdict) <= set(findings.PAPER_VERDICTS) and set(table.version) == {"earlier", "later"}
    assert not table.duplicated(["version", "sentence"]).any()
    assert (table.loc[table.verdict == NOT_CHECKABLE, "evidence"] != "").all()
    verdict = table.set_index(["version", "sentence"]).verdict
    never_best = [s for s in table.sentence if "did not perform the best in any" in s]
    # EfficientNet ties for best on NEU, which only the later version prints
    assert sorted(verdict[(v, s)] for v in ("earlier", "later") for s in never_best if (v, s) in verdict) == \
        sorted([NOT_SUPPORTED, SUPPORTED])
    neu = table[table.sentence.str.contains("1,200 training images")]
    assert (neu.verdict == NOT_SUPPORTED).all() and len(neu) == 2
    efficient = table[table.sentence.str.startswith("EfficientNetV2-S also performs well")]
    assert set(efficient.verdict) == {SUPPORTED}  # 5 of Table 4's 7, and 6 of the later 8: both hold


def test_changed_sentences_are_those_that_move_a_number_or_a_ranking():
    changed = claims.changed_between_versions()
    moved = dict(zip(changed.earlier.str[:25], changed.moved))
    assert moved["EfficientNetV2-S also perf"[:25]] == "5, 6, 7, 8"
    assert "surface defects" in moved["RegNet also performs well"]
    assert not any("Efficient has" in s for s in changed.earlier)  # "Efficient" and "EfficientNet" are one name


def test_each_sentence_key_has_one_claim_and_each_claim_its_sentences():
    rows = pd.read_csv(claims.SENTENCES, keep_default_na=False)
    keys = [c.key for c in claims.CLAIMS]
    assert len(keys) == len(set(keys)), "a key with two specs in CLAIMS"
    assert set(rows.claim) == set(keys), set(rows.claim) ^ set(keys)
    assert not rows.duplicated(["claim", "version"]).any(), "a version quoted twice under one key"
    assert set(rows.version) <= set(paper.VERSIONS) and (rows.sentence.str.strip() != "").all()
    assert (rows.groupby("claim")["where"].nunique() == 1).all()  # one place in the paper per sentence
    assert rows.claim.str.fullmatch(r"[a-z0-9.]+:[a-z0-9-]+").all()  # <section>:<what it says>
    for claim in claims.CLAIMS:  # a spec per version wherever the specs differ between the versions
        assert not isinstance(claim.spec, dict) or set(claim.spec) == set(claim.quotes), claim.key


def test_the_verdicts_are_one_vocabulary():
    """The paper's tables and our runs give verdicts from the one vocabulary of book.verdicts, each word once."""
    assert set(findings.PAPER_VERDICTS) | set(findings.OUR_VERDICTS) == set(VERDICTS)
    assert len(set(VERDICTS)) == len(VERDICTS)
    assert lowdata.keep_lead(pd.DataFrame(columns=["backbone", "dataset", "fraction", "top1"]))["verdict"] \
        == NOT_CHECKABLE


def test_register_csv_is_what_the_code_computes():
    committed = pd.read_csv(claims.REGISTER, keep_default_na=False)
    assert committed.equals(claims.register().astype(str).astype(committed.dtypes.to_dict())), \
        "results/paper/claims.csv is stale: run python -m book.claims"


@pytest.mark.skipif(not PAPER_TEXT.is_dir(), reason="the paper's text is not on this machine")
def test_every_quote_is_in_its_version_verbatim():
    files = {"earlier": "000_76b4c8bc91c37d00.txt", "later": "001_3c1269cb2a009abc.txt"}

    def norm(text):  # whitespace, bold and the LaTeX of "32 x 32" aside
        text = text.replace("**", "").replace("$", "").replace("\\times", "×").replace(" × ", "×")
        return re.sub(r"\s+", " ", text)

    texts = {v: norm((PAPER_TEXT / f).read_text()) for v, f in files.items()}
    for claim in claims.CLAIMS:
        for version, quote in claim.quotes.items():
            assert norm(quote) in texts[version], (version, quote)


def test_no_single_rule_reproduces_table1():
    full = findings.at_fraction(paper.full_data()[["backbone", "dataset", "fraction", "top1"]])
    per_column = findings.table1_rules_per_column(full, paper.table1())
    assert findings.rules_fitting_all_columns(per_column) == []
    assert per_column.set_index("domain").loc["medical", "same three"] == ""
    assert "mean_top1" in per_column.set_index("domain").loc["plant", "same order"]


def test_what_chapter_6_shows_of_the_register_is_whole_and_readable():
    register = claims.register()
    assert claims.tidy("share held: 0.809524 (sentence: = 1); top: densenet161") == \
        "share held: 0.81 (sentence: = 1); top: DenseNet-161"
    assert claims.tidy("Table 3: 1,440 x 0.1 = 144.0") == "Table 3: 1,440 x 0.1 = 144.0"   # short numbers kept
    listed = claims.not_supported_markdown(register)
    bad = register[register.verdict == NOT_SUPPORTED]
    assert listed.count("\n- ") + 1 == bad.groupby(["where", "evidence"]).ngroups  # one item per sentence
    assert "0.809524" not in listed and "densenet161" not in listed
    counts = claims.counts_shown(register)
    assert counts.columns[0] == "version: section" and counts.total.sum() == len(register)
    assert counts["version: section"].iloc[0] == "earlier: Abstract"
    changed = claims.changed_markdown(claims.changed_between_versions(register))
    assert changed.count("- **") == len(claims.changed_between_versions(register))
