"""Splits and low-data subsets: stratified, seeded, disjoint, reproducible, at least one image per class."""
import numpy as np
import pytest

from lib.data.splits import (Manifest, check_fraction, class_counts, held_out_ratio, ids_sha256,
                             read_manifest, stratified_split, stratified_subset, write_manifest)
from lib.errors import ConfigError, DataError

# 5 classes of unequal size (50, 40, 30, 7, 1 images), shuffled so that order carries no class info.
RNG = np.random.default_rng(123)
LABELS = RNG.permutation(np.repeat(np.arange(5), [50, 40, 30, 7, 1])).tolist()
IDS = [f"img_{i:04d}.png" for i in range(len(LABELS))]


def test_split_is_disjoint_complete_and_stratified():
    kept, held = stratified_split(LABELS, 0.2, seed=0, ids=IDS)
    assert set(kept).isdisjoint(held)
    assert sorted([*kept, *held]) == list(range(len(LABELS)))
    held_counts = class_counts([LABELS[i] for i in held])
    assert held_counts == {0: 10, 1: 8, 2: 6, 3: 1}  # round(0.2 n); the 1-image class stays in train
    assert class_counts([LABELS[i] for i in kept])[4] == 1


def test_split_is_seeded_and_independent_of_listing_order():
    a = stratified_split(LABELS, 0.2, seed=0, ids=IDS)
    b = stratified_split(LABELS, 0.2, seed=0, ids=IDS)
    c = stratified_split(LABELS, 0.2, seed=1, ids=IDS)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    # the same files listed in another order give the same held-out files
    order = RNG.permutation(len(LABELS))
    _, held_perm = stratified_split([LABELS[i] for i in order], 0.2, seed=0, ids=[IDS[i] for i in order])
    assert sorted(IDS[order[i]] for i in held_perm) == sorted(IDS[i] for i in a[1])


def test_grouped_split_keeps_each_group_on_one_side():
    # 60 images of 2 classes from 12 "patients" of 5 images each; a patient has one class
    labels = [p % 2 for p in range(12) for _ in range(5)]
    groups = [f"patient{p}" for p in range(12) for _ in range(5)]
    kept, held = stratified_split(labels, 0.3, seed=0, groups=groups)
    kept_groups, held_groups = {groups[i] for i in kept}, {groups[i] for i in held}
    assert kept_groups.isdisjoint(held_groups) and len(kept) + len(held) == 60
    assert class_counts([labels[i] for i in held]) == {0: 10, 1: 10}  # round(0.3 * 6) = 2 patients a class
    again = stratified_split(labels, 0.3, seed=0, groups=groups)
    assert np.array_equal(held, again[1])


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5, 1.0])
def test_subset_has_at_least_one_per_class_and_stratified_counts(fraction):
    chosen = stratified_subset(LABELS, fraction, seed=7, ids=IDS)
    counts = class_counts([LABELS[i] for i in chosen])
    assert set(counts) == set(LABELS)
    for c, n in class_counts(LABELS).items():
        assert counts[c] == min(n, max(1, round(fraction * n)))
    assert len(set(chosen)) == len(chosen)


def test_subset_is_reproducible_nested_and_varies_with_seed():
    a = stratified_subset(LABELS, 0.1, seed=3, ids=IDS)
    assert np.array_equal(a, stratified_subset(LABELS, 0.1, seed=3, ids=IDS))
    assert not np.array_equal(a, stratified_subset(LABELS, 0.1, seed=4, ids=IDS))
    assert set(stratified_subset(LABELS, 0.02, seed=3, ids=IDS)) <= set(a) <= set(
        stratified_subset(LABELS, 0.5, seed=3, ids=IDS))


def test_subset_sized_on_reference_counts():
    # sizes follow the whole train part (as in the paper) even when drawn from a smaller pool
    chosen = stratified_subset(LABELS, 0.1, seed=0, reference_counts={0: 500, 1: 400, 2: 300, 3: 70, 4: 10})
    assert class_counts([LABELS[i] for i in chosen]) == {0: 50, 1: 40, 2: 30, 3: 7, 4: 1}


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.01, 2, float("nan"), "ten", None])
def test_bad_fraction_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="fraction"):
        check_fraction(bad)
    with pytest.raises(ConfigError):
        stratified_subset(LABELS, bad, seed=0)


def test_held_out_ratio_follows_paper_counts():
    class Spec:  # the paper's Table 3 counts for EuroSAT, Galaxy10, UC Merced; none for digits
        def __init__(self, train, test, name="x"):
            self.paper_train, self.paper_test, self.name = train, test, name

    assert held_out_ratio(Spec(18900, 8100)) == pytest.approx(0.3)
    assert held_out_ratio(Spec(15962, 1774)) == pytest.approx(0.1)
    assert held_out_ratio(Spec(1680, 420)) == pytest.approx(0.2)
    assert held_out_ratio(Spec(None, None)) == pytest.approx(0.2)


def test_manifest_round_trip_and_tamper_detection(tmp_path):
    m = Manifest("toy", 0.1, 0, "val", "official", {"train": tuple(IDS[:5]), "val": (), "test": tuple(IDS[5:8])})
    path = write_manifest(m, tmp_path / "m.json")
    again = read_manifest(path)
    assert again == m and again.sha256 == m.sha256
    assert m.sha256["train"] == ids_sha256(IDS[:5])
    path.write_text(path.read_text().replace("img_0000.png", "img_9999.png"))
    with pytest.raises(DataError, match="do not match"):
        read_manifest(path)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(DataError, match="junk.json"):
        read_manifest(tmp_path / "junk.json")
