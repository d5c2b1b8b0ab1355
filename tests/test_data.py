"""lib.data.load(): what the trainer relies on (items, splits, manifests, protocols, errors)."""
import pickle
import time

import numpy as np
import pytest
import torch

import lib.data as data
from book import show
from lib.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from lib.errors import ConfigError, DataError, UnknownNameError

SIZE = 32


def all_pixels(split: data.ImageDataset) -> np.ndarray:
    """Every item of a split as decoded uint8 ``N x H x W x 3``."""
    return np.stack([split.pixels(i) for i in range(len(split))])


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def digits(cache_dir):
    return data.load("digits", image_size=SIZE, cache_dir=cache_dir, progress=False)


def test_items_are_normalised_float_images_with_int_labels(digits):
    x, y = digits.test[0]
    assert x.dtype == torch.float32 and x.shape == (3, SIZE, SIZE)
    assert isinstance(y, int) and y == digits.test.targets[0]
    assert digits.test.classes == digits.train.classes and len(digits.train.classes) == 10
    # undo the normalisation by hand: the uint8 pixels come back
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    pixels = torch.from_numpy(digits.test.pixels(0)).permute(2, 0, 1).float()
    assert torch.allclose(x * std + mean, pixels / 255, atol=1e-5)
    assert all_pixels(digits.train).shape == (len(digits.train), SIZE, SIZE, 3)


def test_digits_splits_are_disjoint_stratified_and_complete(digits):
    ids = {name: set(getattr(digits, name).ids) for name in ("train", "val", "test")}
    assert not (ids["train"] & ids["val"] or ids["train"] & ids["test"] or ids["val"] & ids["test"])
    assert sum(len(v) for v in ids.values()) == 1797  # no official test: the whole set, split 72/8/20
    assert len(digits.test) == pytest.approx(0.2 * 1797, abs=10)
    assert len(digits.val) == pytest.approx(0.1 * 0.8 * 1797, abs=10)
    for split in (digits.train, digits.val, digits.test):
        share = np.bincount(split.targets, minlength=10) / len(split)
        assert np.all(np.abs(share - 0.1) < 0.02), "each class keeps its share (digits is balanced)"


def test_digits_splits_and_cache_folder_are_those_of_every_earlier_load(cache_dir, digits):
    """What went where (ids, labels; digits has no files to stamp) and the cache folder, pinned: a record made by an
    earlier version must still match a run of this one."""
    assert digits.manifest.data == {
        "train": "701322dc3453e93f331bc836d955005ba3972f6d57d769aeb1f3afbaace41e47",
        "val": "650de93dbcab061c8d943f6c1e10003048a4fdbf5dbe8ad6ce3e8de53d139ce1",
        "test": "70fb3577b2ee5407c71c5e5b0b5d1a35a51d181c8df7b052d214435212afee43"}
    assert digits.train.images.path.parent == cache_dir / "digits"


def test_augmentation_on_train_only_and_switchable(digits):
    assert data.spec("digits").augmentation == "small_affine" and digits.train.augment
    assert not digits.val.augment and not digits.test.augment
    plain = digits.train.with_augment(False)
    assert not plain.augment and digits.train.augment, "with_augment returns a copy"
    assert torch.equal(plain[3][0], plain[3][0])
    torch.manual_seed(0)
    draws = [digits.train[3][0] for _ in range(8)]
    assert any(not torch.equal(d, plain[3][0]) for d in draws), "the augmentation changes some draws"


def test_manifest_is_stable_and_seed_only_moves_the_subset(cache_dir, digits):
    again = data.load("digits", image_size=SIZE, cache_dir=cache_dir, progress=False)
    assert again.manifest == digits.manifest and again.manifest.sha256 == digits.manifest.sha256
    a = data.load("digits", image_size=SIZE, fraction=0.1, seed=1, cache_dir=cache_dir, progress=False)
    b = data.load("digits", image_size=SIZE, fraction=0.1, seed=2, cache_dir=cache_dir, progress=False)
    assert a.manifest.ids["test"] == b.manifest.ids["test"] == digits.manifest.ids["test"]
    assert a.manifest.ids["val"] == b.manifest.ids["val"] == digits.manifest.ids["val"]
    assert a.manifest.ids["train"] != b.manifest.ids["train"]
    assert set(a.train.ids) <= set(digits.train.ids)


def test_low_data_subset_sized_on_the_whole_train_part(cache_dir):
    # 1 % of the train part keeps one image per class (digits has ~144 per class in train)
    tiny = data.load("digits", image_size=SIZE, fraction=0.01, seed=0, cache_dir=cache_dir, progress=False)
    assert sorted(tiny.train.targets) == [c for c in range(10) for _ in range(1)]
    tenth = data.load("digits", image_size=SIZE, fraction=0.1, select_on="test", cache_dir=cache_dir,
                      progress=False)
    full_train = 1797 - len(tenth.test)
    assert len(tenth.train) == pytest.approx(0.1 * full_train, abs=10)


def test_paper_protocol_selects_on_test(cache_dir, digits):
    paper = data.load("digits", image_size=SIZE, select_on="test", cache_dir=cache_dir, progress=False)
    assert paper.select_on == "test" and paper.val is paper.test
    assert "paper protocol" in paper.protocol and paper.manifest.ids["val"] == ()
    assert len(paper.train) == len(digits.train) + len(digits.val)
    assert digits.select_on == "val" and digits.val is not digits.test


def test_dataloader_with_worker_processes(digits):
    # spawn-started workers receive the dataset pickled: it must travel as a path, not as a memory map
    clone = pickle.loads(pickle.dumps(digits.train))
    assert clone.images._array is None and torch.equal(clone.with_augment(False)[0][0],
                                                         digits.train.with_augment(False)[0][0])
    loader = torch.utils.data.DataLoader(digits.val, batch_size=64, num_workers=2)
    xs, ys = next(iter(loader))
    assert xs.shape == (64, 3, SIZE, SIZE) and ys.tolist() == digits.val.targets[:64]
    assert torch.equal(xs[0], digits.val[0][0])


def test_whole_digits_set_loads_in_about_a_second(tmp_path):
    data.load("digits", image_size=SIZE, cache_dir=tmp_path, progress=False)  # builds the cache
    start = time.perf_counter()
    splits = data.load("digits", image_size=SIZE, cache_dir=tmp_path, progress=False)
    arrays = [all_pixels(s) for s in (splits.train, splits.val, splits.test)]
    assert sum(len(a) for a in arrays) == 1797
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("kwargs, match", [
    ({"fraction": 0}, "fraction"), ({"fraction": 1.5}, "fraction"), ({"seed": -1}, "seed"),
    ({"select_on": "train"}, "select_on"), ({"val_fraction": 0.9}, "val_fraction"),
    ({"image_size": (0, 32)}, "image size"), ({"image_size": "big"}, "image size"),
])
def test_bad_parameters_are_config_errors(kwargs, match, cache_dir):
    with pytest.raises(ConfigError, match=match):
        data.load("digits", cache_dir=cache_dir, progress=False, **kwargs)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(UnknownNameError) as err:
        data.load("cifar11")
    assert "cifar11" in str(err.value) and "digits" in str(err.value)


def test_missing_dataset_names_folder_and_url(tmp_path):
    name = next(n for n in data.names() if n != "digits")
    with pytest.raises(DataError) as err:
        data.load(name, root=tmp_path)
    message = str(err.value)
    assert str(tmp_path / name) in message and data.spec(name).url in message
    assert "\n" not in message


# ---------------------------------------------------------------------------------------------------
# The 20 paper datasets, as tiny copies in each publisher's native format (tests/native_fixtures.py)

from native_fixtures import FIXTURES, label_of  # noqa: E402


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_native_fixture_through_the_pipeline(name, tmp_path):
    FIXTURES[name](tmp_path / "data", per_class=4)
    kwargs = dict(root=tmp_path / "data", image_size=16, progress=False)
    splits = data.load(name, cache_dir=tmp_path / "cache", **kwargs)
    spec = data.spec(name)
    ids = {split: set(getattr(splits, split).ids) for split in ("train", "val", "test")}
    assert not (ids["train"] & ids["val"] or ids["train"] & ids["test"] or ids["val"] & ids["test"])
    assert set(splits.train.targets) == set(range(spec.num_classes)), "every class keeps training images"
    assert splits.train.augment == (spec.augmentation is not None) and not splits.test.augment
    assert splits.manifest.test_source == ("official" if spec.official_test else splits.manifest.test_source)
    x, y = splits.train[0]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32 and isinstance(y, int)
    # each fixture image is one flat colour that encodes its label: images and labels stayed together
    for split in (splits.train, splits.val, splits.test):
        for i in range(len(split)):
            pixels = split.pixels(i)
            if not (pixels[..., 0] == pixels[..., 2]).all():  # grey formats (DICOM, .bmp) encode differently
                assert label_of(pixels) == split.targets[i], f"{split.name} item {i} ({split.ids[i]})"
    direct = data.load(name, cache=False, **kwargs)
    assert direct.manifest == splits.manifest
    assert np.array_equal(all_pixels(direct.test), all_pixels(splits.test))
    tiny = data.load(name, cache_dir=tmp_path / "cache", fraction=0.01, seed=5, **kwargs)
    assert sorted(set(tiny.train.targets)) == list(range(spec.num_classes))
    assert len(tiny.train) == spec.num_classes


def test_reader_groups_keep_a_group_out_of_both_train_and_val(monkeypatch, tmp_path):
    """A reader may attach ``groups`` (BreakHis: the patient) to a split; val then takes whole groups."""
    real = data.sources.Resolved.read

    def with_groups(resolved):
        source = real(resolved)
        seen: dict[int, int] = {}
        groups = []
        for y in source.train.labels:  # 12 "patients" per class, one class each
            seen[y] = seen.get(y, 0) + 1
            groups.append(f"{y}-{seen[y] % 12}")
        source.train.groups = groups
        return source

    monkeypatch.setattr(data.sources.Resolved, "read", with_groups)
    splits = data.load("digits", image_size=8, val_fraction=0.2, cache_dir=tmp_path, progress=False)
    digits = with_groups(data.sources.resolve("digits")).train
    group_of = dict(zip(digits.ids, digits.groups))
    train_groups = {group_of[i] for i in splits.train.ids}
    val_groups = {group_of[i] for i in splits.val.ids}
    test_groups = {group_of[i] for i in splits.test.ids}
    assert val_groups and train_groups.isdisjoint(val_groups)
    assert train_groups.isdisjoint(test_groups) and val_groups.isdisjoint(test_groups)


def test_where_to_get_names_the_data_root_as_a_reader_types_it(tmp_path, monkeypatch):
    """Chapter 2's unpack instructions never show the build machine's absolute path."""
    from book import show
    from lib import paths

    assert "Unpack into `data/dtd/`" in show.where_to_get("dtd", paths.ROOT / "data")
    monkeypatch.setenv("WB_DATA", str(tmp_path))
    assert "Unpack into `$WB_DATA/dtd/`" in show.where_to_get("dtd", None)
    monkeypatch.delenv("WB_DATA")
    assert str(tmp_path) not in show.where_to_get("dtd", tmp_path / "elsewhere" / "data")


def test_chapter_two_tables_have_display_names_dashes_and_a_csv(digits):
    table = show.table3_table(show.table3(None, ["cifar10", "digits"])).data
    assert "CIFAR-10" in table and ">cifar10<" not in table and "<NA>" not in table and "–" in table
    assert "table3.csv" in table
    counts = show.table3_counts_table(show.table3_counts(["dtd", "breakhis_40x"])).data
    assert "BreakHis 40×" in counts and "<NA>" not in counts and "NaN" not in counts
    split = show.split_table({"digits": digits}).data
    assert "<NA>" not in split and "train" in split


def test_chapter_two_figures_stack_every_present_dataset(digits):
    import matplotlib

    matplotlib.use("Agg")
    from book import show

    fig = show.sample_grids({"digits": digits, "again": digits}, per_class=2, max_classes=3)
    assert len(fig.subfigs) == 2 and len(fig.axes) == 2 * 2 * 3
    assert len(show.class_balances({"digits": digits, "again": digits}).axes) == 2
