"""The dataset registry and the native-format readers, on tiny copies written in each publisher's format."""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lib.paper
from lib.data import sources
from lib.data.formats import breakhis_test_patients
from lib.errors import DataError, UnknownNameError
from native_fixtures import FIXTURES, SIZE, grey_label_of, label_of, held_out_per_class, write_dicom

PER_CLASS = 3
PAPER_DATASETS = [n for n in sources.names() if n != "digits"]


def read(name, root):
    FIXTURES[name](root, per_class=PER_CLASS)
    return sources.read_source(name, root)


def image_label(name, image):
    """The label a fixture painted into the image (grey levels for the single-channel formats)."""
    if name == "neu":
        return grey_label_of(image, 6)
    if name == "rsna":
        return grey_label_of(image, 2)
    return label_of(image)


def split_sizes(splits) -> dict[str, int]:
    return {name: len(getattr(splits, name)) for name in ("train", "val", "test")}


def one_line_error(err_info) -> str:
    message = str(err_info.value)
    assert "\n" not in message, message
    return message


# ----------------------------------------------------------------------------------------------------------
# The registry


def test_registry_holds_the_papers_twenty_datasets_and_digits():
    assert len(PAPER_DATASETS) == 20 and sources.names()[-1] == "digits"
    assert sources.names(workshop=True) == ["digits"]
    assert [s.name for s in sources.specs()] == sources.names()


def test_specs_agree_with_the_transcribed_table3():
    table = lib.paper.table3().set_index("dataset")
    assert list(table.index) == PAPER_DATASETS
    for name in PAPER_DATASETS:
        s, row = sources.spec(name), table.loc[name]
        assert (s.display, s.domain, s.num_classes) == (row["display"], row["domain"], row["num_classes"]), name
        assert (s.paper_train, s.paper_test) == (row["train_images"], row["test_images"]), name
        assert s.domain in sources.DOMAINS


def test_specs_follow_the_papers_protocol():
    for s in sources.specs():
        if s.workshop:   # digits: small affine moves (TrivialAugment turns digits into other digits)
            assert s.augmentation == "small_affine"
            continue
        no_augment = s.name.startswith("breakhis") or s.name == "galaxy10"
        assert s.augmentation == (None if no_augment else "trivial_augment_wide"), s.name
        assert s.image_size == ((448, 672) if s.name.startswith("breakhis") else (256, 256)), s.name
        assert s.cite and s.url and s.licence and s.layout and s.split_note, s.name
        # a test ratio exactly where the publisher fixes no split, close to what Table 3's counts imply
        assert (s.test_ratio is None) == s.official_test, s.name
        if s.test_ratio is not None:
            assert abs(s.test_ratio - s.paper_test / (s.paper_train + s.paper_test)) < 0.01, s.name


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(UnknownNameError) as err:
        sources.read_source("cifar-10", "/tmp")
    message = one_line_error(err)
    assert "'cifar-10'" in message and "cifar10" in message and "breakhis_400x" in message


# ----------------------------------------------------------------------------------------------------------
# Every dataset from its native format


@pytest.mark.parametrize("name", PAPER_DATASETS)
def test_reads_native_copy(name, tmp_path):
    s = sources.spec(name)
    source = read(name, tmp_path)
    assert len(source.classes) == s.num_classes == len(set(source.classes))
    if s.name.startswith("breakhis"):  # split by patient in the reader: 1 of 3 patients per class
        assert (len(source.train), len(source.test)) == (4, 2)
    elif s.official_test:
        assert len(source.train) == s.num_classes * PER_CLASS
        assert len(source.test) == s.num_classes * held_out_per_class(PER_CLASS)
    else:
        assert source.test is None and len(source.train) == s.num_classes * PER_CLASS
    for split in [source.train] + ([source.test] if source.test else []):
        assert len(split.ids) == len(split.labels) == len(set(split.ids))
        assert set(split.labels) == set(range(s.num_classes))
        for i in range(len(split)):  # every image carries the label the reader gave it
            image = split.load(i)
            assert isinstance(image, Image.Image) and image.mode == "RGB"
            assert image_label(name, image) == split.labels[i], (name, split.ids[i])
    if source.test:
        assert not set(source.train.ids) & set(source.test.ids)
    folder = tmp_path / name
    file_ids = [i for i in source.train.ids if "#" not in i]
    assert all((folder / i).is_file() for i in file_ids)


def test_native_images_keep_their_size(tmp_path):
    assert read("neu", tmp_path).train.load(0).size == SIZE[::-1]
    assert read("cifar10", tmp_path).train.load(0).size == (32, 32)
    assert read("galaxy10", tmp_path).train.load(0).size == (256, 256)


def test_digits_needs_no_files():
    source = sources.read_source("digits", "/nonexistent")
    assert len(source.train) == 1797 and source.test is None and source.classes == [str(d) for d in range(10)]
    from sklearn.datasets import load_digits

    pixels = np.asarray(source.train.load(0))
    assert pixels.shape == (8, 8, 3) and pixels.dtype == np.uint8
    assert (pixels == np.round(load_digits().images[0] * 255 / 16)[..., None]).all()  # 16 levels -> 0..255
    assert source.train.labels[:3] == [0, 1, 2]


def test_default_root_is_wb_data(tmp_path, monkeypatch):
    FIXTURES["eurosat"](tmp_path)
    monkeypatch.setenv("WB_DATA", str(tmp_path))
    assert len(sources.read_source("eurosat").train) == 10 * 3


# ----------------------------------------------------------------------------------------------------------
# The same reading as torchvision's classes, where torchvision has one


def test_matches_torchvision_cifar(tmp_path, monkeypatch):
    from torchvision.datasets import cifar

    # torchvision insists on the release's md5 checksums, which a tiny copy cannot match
    monkeypatch.setattr(cifar, "check_integrity", lambda *args, **kwargs: True)
    for name, cls in (("cifar10", cifar.CIFAR10), ("cifar100", cifar.CIFAR100)):
        source = read(name, tmp_path)
        for split, train in ((source.train, True), (source.test, False)):
            reference = cls(tmp_path / name, train=train, download=False)
            assert reference.targets == split.labels and reference.classes == source.classes
            assert np.array_equal(np.asarray(reference[0][0]), np.asarray(split.load(0)))


def items(dataset) -> list[tuple[str, int]]:
    """(image file, label) of every item of a torchvision dataset built with ``loader=str``: its public indexing,
    without decoding an image."""
    return [(str(path), label) for path, label in (dataset[i] for i in range(len(dataset)))]


def test_matches_torchvision_flowers102(tmp_path, monkeypatch):
    from torchvision.datasets import flowers102

    # the fixture's .mat files cannot have the md5 of the real ones
    monkeypatch.setattr(flowers102, "check_integrity", lambda *args, **kwargs: True)
    source = read("flowers102", tmp_path)
    # torchvision's root holds flowers-102/: point it at ours through a link
    (tmp_path / "tv").mkdir()
    os.symlink(tmp_path / "flowers102", tmp_path / "tv" / "flowers-102")
    labels = {s: [y for _, y in items(flowers102.Flowers102(tmp_path / "tv", split=s, loader=str))]
              for s in ("train", "val", "test")}
    assert labels["train"] + labels["val"] == source.train.labels
    assert labels["test"] == source.test.labels


@pytest.mark.parametrize("name", ["stanford_cars", "food101", "dtd", "eurosat"])
def test_matches_torchvision(name, tmp_path):
    from torchvision import datasets

    source = read(name, tmp_path)
    if name == "eurosat":
        reference = datasets.EuroSAT(tmp_path)
        assert reference.classes == source.classes and reference.targets == source.train.labels
        return
    if name == "stanford_cars":
        train, test = (datasets.StanfordCars(tmp_path, split, loader=str) for split in ("train", "test"))
        assert train.classes == source.classes
        assert [y for _, y in items(train)] == source.train.labels
        assert [y for _, y in items(test)] == source.test.labels
        return
    if name == "food101":
        train = datasets.Food101(tmp_path / "food101", "train", loader=str)
        test = datasets.Food101(tmp_path / "food101", "test", loader=str)
    else:
        train, val, test = (datasets.DTD(tmp_path, split, loader=str) for split in ("train", "val", "test"))
        assert sorted(y for _, y in items(train)) == sorted(source.train.labels)  # train1 only
        assert sorted(y for _, y in items(val)) == sorted(source.val.labels)
    assert train.classes == source.classes
    assert sorted(items(test)) == sorted(zip((str(tmp_path / name / i) for i in source.test.ids), source.test.labels))


# ----------------------------------------------------------------------------------------------------------
# Dataset-specific rules


def test_breakhis_splits_by_patient_and_keeps_the_patients_across_magnifications(tmp_path):
    def patients(split):
        return {Path(i).parts[-3] for i in split.ids}

    tests = []
    for name in ("breakhis_40x", "breakhis_100x", "breakhis_200x", "breakhis_400x"):
        source = read(name, tmp_path)
        mag = name.rsplit("_", 1)[1].upper()
        assert all(Path(i).parts[-2] == mag for i in source.train.ids + source.test.ids)
        assert not patients(source.train) & patients(source.test)
        assert set(source.test.labels) == {0, 1}
        tests.append(patients(source.test))
    assert all(t == tests[0] for t in tests)


def test_breakhis_patient_choice_is_seeded_and_stratified():
    patients = {f"b{k}": 0 for k in range(24)} | {f"m{k}": 1 for k in range(58)}  # the real counts
    chosen = breakhis_test_patients(patients, 0.3)
    assert chosen == breakhis_test_patients(dict(reversed(patients.items())), 0.3)
    assert sum(p.startswith("b") for p in chosen) == 7 and sum(p.startswith("m") for p in chosen) == 17
    assert chosen != breakhis_test_patients(patients, 0.3, seed=1)


def test_rsna_gives_one_image_per_patient_positive_if_any_box(tmp_path):
    source = read("rsna", tmp_path)
    csv_rows = (tmp_path / "rsna" / "stage_2_train_labels.csv").read_text().splitlines()[1:]
    assert len(csv_rows) == 3 + 2 * 3 and len(source.train) == 6  # two box rows per pneumonia patient
    assert sorted(source.train.labels) == [0, 0, 0, 1, 1, 1] and source.classes == ["no pneumonia", "pneumonia"]


def test_dicom_sixteen_bit_and_monochrome1_become_uint8_rgb(tmp_path):
    FIXTURES["rsna"](tmp_path)
    folder = tmp_path / "rsna"
    ramp = np.arange(12 * 10, dtype=np.uint16).reshape(SIZE) * 100
    first = sorted((folder / "stage_2_train_images").iterdir())[0]
    write_dicom(first, ramp, first.stem, photometric="MONOCHROME1")
    pixels = np.asarray(sources.read_source("rsna", tmp_path).train.load(0))
    assert pixels.dtype == np.uint8 and pixels.shape == (*SIZE, 3)
    assert pixels[0, 0, 0] == 255 and pixels[-1, -1, 0] == 0  # rescaled to the full range, then inverted


def test_neu_class_comes_from_the_file_prefix(tmp_path):
    source = read("neu", tmp_path)
    assert source.classes[:2] == ["crazing", "inclusion"]
    assert all(i.startswith(("Cr_", "In_", "Pa_", "PS_", "RS_", "Sc_")) for i in source.train.ids)
    assert [source.train.labels[source.train.ids.index(f"{p}_1.bmp")] for p in ("Cr", "PS", "Sc")] == [0, 3, 5]


# ----------------------------------------------------------------------------------------------------------
# Bad inputs: one line, naming the path and what to do


def test_missing_root(tmp_path):
    with pytest.raises(DataError) as err:
        sources.read_source("cifar10", tmp_path / "nowhere")
    message = one_line_error(err)
    assert str(tmp_path / "nowhere") in message and "does not exist" in message
    assert sources.spec("cifar10").url in message and "cifar-10-batches-py" in message


def test_missing_dataset_folder(tmp_path):
    with pytest.raises(DataError) as err:
        sources.read_source("galaxy10", tmp_path)
    message = one_line_error(err)
    assert str(tmp_path / "galaxy10") in message and "Galaxy10_DECals.h5" in message
    assert "zenodo" in message


@pytest.mark.parametrize("name, index", [
    ("cub200", "CUB_200_2011/train_test_split.txt"),
    ("flowers102", "setid.mat"),
    ("tiny_imagenet", "tiny-imagenet-200/val/val_annotations.txt"),
    ("stanford_dogs", "lists/test_list.mat"),
    ("rsna", "stage_2_train_labels.csv"),
    ("food101", "food-101/meta/test.json"),
    ("dtd", "dtd/labels/val1.txt"),
])
def test_missing_index_file(name, index, tmp_path):
    FIXTURES[name](tmp_path, per_class=1)
    (tmp_path / name / index).unlink()
    with pytest.raises(DataError) as err:
        sources.read_source(name, tmp_path)
    message = one_line_error(err)
    spec = sources.spec(name)
    assert str(tmp_path / name / index) in message and spec.display in message
    assert spec.url in message and "expected under" in message


def test_wrong_layout_one_folder_too_deep(tmp_path):
    folder = FIXTURES["eurosat"](tmp_path)
    (folder / "2750").rename(folder / "EuroSAT")
    with pytest.raises(DataError) as err:
        sources.read_source("eurosat", tmp_path)
    message = one_line_error(err)
    assert str(folder / "EuroSAT_RGB") in message and "2750/<class>" in message  # both layouts named


def test_eurosat_reads_the_publishers_zip_and_torchvisions_mirror_alike(tmp_path):
    publisher = sources.read_source("eurosat", FIXTURES["eurosat"](tmp_path / "a", top="EuroSAT_RGB").parent)
    mirror = sources.read_source("eurosat", FIXTURES["eurosat"](tmp_path / "b").parent)
    assert publisher.classes == mirror.classes and publisher.train.labels == mirror.train.labels
    assert publisher.train.ids[0].startswith("EuroSAT_RGB/") and mirror.train.ids[0].startswith("2750/")
    FIXTURES["eurosat"](tmp_path / "b", top="EuroSAT_RGB")  # both copies in one folder: refused, not guessed
    with pytest.raises(DataError, match="keep one copy") as err:
        sources.read_source("eurosat", tmp_path / "b")
    one_line_error(err)


def test_stanford_dogs_lists_at_the_top_as_lists_tar_unpacks(tmp_path):
    folder = FIXTURES["stanford_dogs"](tmp_path)
    for mat in (folder / "lists").iterdir():
        mat.rename(folder / mat.name)
    (folder / "lists").rmdir()
    source = sources.read_source("stanford_dogs", tmp_path)
    assert len(source.train) == 120 * PER_CLASS and len(source.test) == 120 * held_out_per_class(PER_CLASS)


def test_plantvillage_inside_the_zips_top_folder(tmp_path):
    folder = FIXTURES["plantvillage"](tmp_path, per_class=1)
    top = folder / "Plant_leave_diseases_dataset_without_augmentation"
    top.mkdir()
    for class_dir in [p for p in folder.iterdir() if p != top]:
        class_dir.rename(top / class_dir.name)
    source = sources.read_source("plantvillage", tmp_path)
    assert len(source.classes) == 39 and source.train.ids[0].startswith(top.name + "/")


def test_dtd_validates_on_val1_not_on_a_share_of_train1(tmp_path):
    import lib.data

    FIXTURES["dtd"](tmp_path)
    source = sources.read_source("dtd", tmp_path)
    splits = lib.data.load("dtd", root=tmp_path, image_size=16, cache_dir=tmp_path / "cache", progress=False)
    assert list(splits.val.ids) == source.val.ids and list(splits.train.ids) == source.train.ids
    assert not set(splits.train.ids) & set(splits.val.ids)
    assert split_sizes(splits) == {"train": 47 * PER_CLASS, "val": 47 * held_out_per_class(PER_CLASS),
                                   "test": 47 * held_out_per_class(PER_CLASS)}


def test_wrong_class_count_is_refused(tmp_path):
    folder = FIXTURES["plantvillage"](tmp_path, per_class=1)
    for image in (folder / "Background_without_leaves").iterdir():  # the common 38-class copy
        image.unlink()
    (folder / "Background_without_leaves").rmdir()
    with pytest.raises(DataError) as err:
        sources.read_source("plantvillage", tmp_path)
    assert "found 38 classes" in one_line_error(err) and "expected 39" in str(err.value)


def test_listed_image_missing_is_reported_before_training(tmp_path):
    folder = FIXTURES["food101"](tmp_path, per_class=1)
    victim = next((folder / "food-101" / "images" / "dish_005").iterdir())
    victim.unlink()
    with pytest.raises(DataError) as err:
        sources.read_source("food101", tmp_path)
    assert str(victim) in one_line_error(err) and "1 of the" in str(err.value)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # PIL's warning for the truncated TIFF
@pytest.mark.parametrize("name, pattern", [("eurosat", "2750/*/*.jpg"), ("breakhis_40x", "**/40X/*.png"),
                                           ("neu", "*.bmp"), ("ucmerced", "**/*.tif")])
def test_corrupt_image_is_named_by_path(name, pattern, tmp_path):
    folder = FIXTURES[name](tmp_path)
    victim = sorted(folder.glob(pattern))[0]
    victim.write_bytes(victim.read_bytes()[:20])  # truncated
    source = sources.read_source(name, tmp_path)
    split = source.train if victim.relative_to(folder).as_posix() in source.train.ids else source.test
    with pytest.raises(DataError) as err:
        split.load(split.ids.index(victim.relative_to(folder).as_posix()))
    message = one_line_error(err)
    assert str(victim) in message and "cannot decode" in message


def test_corrupt_dicom_is_named_by_path(tmp_path):
    folder = FIXTURES["rsna"](tmp_path)
    victim = sorted((folder / "stage_2_train_images").iterdir())[0]
    victim.write_bytes(b"not a dicom file")
    with pytest.raises(DataError) as err:
        sources.read_source("rsna", tmp_path).train.load(0)
    assert str(victim) in one_line_error(err)


def test_malformed_index_files(tmp_path):
    import h5py

    folder = FIXTURES["galaxy10"](tmp_path)
    with h5py.File(folder / "Galaxy10_DECals.h5", "a") as h5:
        del h5["ans"]
    with pytest.raises(DataError) as err:
        sources.read_source("galaxy10", tmp_path)
    assert "'ans'" in one_line_error(err)

    folder = FIXTURES["rsna"](tmp_path)
    (folder / "stage_2_train_labels.csv").write_text("patient,label\nabc,1\n")
    with pytest.raises(DataError) as err:
        sources.read_source("rsna", tmp_path)
    assert "patientId,x,y,width,height,Target" in one_line_error(err)

    folder = FIXTURES["cifar10"](tmp_path)
    (folder / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x02garbage")
    with pytest.raises(DataError) as err:
        sources.read_source("cifar10", tmp_path)
    assert "data_batch_3" in one_line_error(err) and "malformed" in str(err.value)

    folder = FIXTURES["stanford_cars"](tmp_path, per_class=1)
    (folder / "devkit" / "cars_meta.mat").write_bytes(b"MATLAB 5.0 garbage")
    with pytest.raises(DataError) as err:
        sources.read_source("stanford_cars", tmp_path)
    assert "cars_meta.mat" in one_line_error(err)


def test_catalogue_is_the_registry_as_a_table():
    table = sources.catalogue()
    assert list(table["dataset"]) == sources.names()
    assert table.loc[table["dataset"] == "breakhis_40x", "image_size"].item() == "448×672"
    assert table.loc[table["dataset"] == "eurosat", "test_split"].item() == "30% held out"
    assert table["paper_train"].iloc[:20].sum() == sum(sources.spec(n).paper_train for n in PAPER_DATASETS)


def test_breakhis_validation_is_carved_by_patient(tmp_path):
    """The reader's patient ids travel with the train split, so load() holds out whole patients for validation."""
    import lib.data

    FIXTURES["breakhis_40x"](tmp_path, per_class=12)
    source = read("breakhis_40x", tmp_path)
    assert source.train.groups is not None and len(source.train.groups) == len(source.train.ids)
    splits = lib.data.load("breakhis_40x", root=tmp_path, image_size=32, cache_dir=tmp_path / "cache",
                           val_fraction=0.25, progress=False)

    def patients(dataset):
        return {Path(i).parts[-3].rsplit("_", 1)[-1] for i in dataset.ids}

    assert patients(splits.val) and patients(splits.train)
    assert not patients(splits.train) & patients(splits.val)
    assert not (patients(splits.train) | patients(splits.val)) & patients(splits.test)


# ----------------------------------------------------------------------------------------------------------
# The reader's own images: folder:<name> and csv:<file>.csv under the data root


def _reader_tree(base: Path, per_class: int = 5) -> Path:
    """``base/pets/<cat|dog>/<n>.png`` with the class painted into the pixels, and ``base/pets.csv`` listing them."""
    rows = ["path,label"]
    for label, cls in enumerate(("cat", "dog")):
        (base / "pets" / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((9, 7, 3), 40 + 150 * label, np.uint8)).save(base / "pets" / cls / f"{i}.png")
            rows.append(f"pets/{cls}/{i}.png,{cls}")
    (base / "pets.csv").write_text("\n".join(rows) + "\n")
    return base


def test_reader_folder_and_csv_read_the_same_images_with_the_same_labels(tmp_path):
    import lib.data

    _reader_tree(tmp_path)
    for name, prefix in (("folder:pets", ""), ("csv:pets.csv", "pets/")):
        source = sources.read_source(name, tmp_path)
        assert source.classes == ["cat", "dog"] and source.test is None
        assert source.train.ids[0] == f"{prefix}cat/0.png" and source.train.labels == [0] * 5 + [1] * 5
        assert np.asarray(source.train.load(7))[0, 0, 0] == 190      # a dog, decoded to RGB
        spec = sources.spec(name)
        assert spec.num_classes is None and spec.domain == "yours" and not spec.official_test
        splits = lib.data.load(name, root=tmp_path, image_size=16, cache_dir=tmp_path / "cache", progress=False)
        assert split_sizes(splits) == {"train": 6, "val": 2, "test": 2}
        assert splits.manifest.test_source == "stratified 0.2 of the source, seed 0"
    assert sources.resolve("folder:pets", tmp_path).folder == tmp_path / "pets"
    assert sources.resolve("csv:pets.csv", tmp_path).folder == tmp_path
    assert sources.resolve("csv:pets.csv", tmp_path).location == tmp_path / "pets.csv"


def test_reader_cache_is_named_by_location_so_two_folders_of_one_name_never_share_it(tmp_path):
    _reader_tree(tmp_path / "a")
    _reader_tree(tmp_path / "b")
    one, other = sources.resolve("folder:pets", tmp_path / "a"), sources.resolve("folder:pets", tmp_path / "b")
    assert one.cache_name != other.cache_name and one.cache_name.startswith("folder-pets-")
    assert "/" not in one.cache_name and ":" not in one.cache_name
    assert sources.resolve("cifar10").cache_name == "cifar10"
    assert sources.reader_name(tmp_path / "a" / "pets") == (tmp_path / "a", "folder:pets")
    assert sources.reader_name(tmp_path / "a" / "pets.csv") == (tmp_path / "a", "csv:pets.csv")


EARLIER_SPLITS = {"train": ("cat/0.png", "cat/1.png", "cat/4.png", "dog/0.png", "dog/1.png", "dog/2.png"),
                  "val": ("cat/3.png", "dog/3.png"), "test": ("cat/2.png", "dog/4.png")}
"""What went where for :func:`_reader_tree`'s pets, as every earlier version split them."""


def test_load_parses_a_reader_name_once_and_keeps_its_splits_and_cache_names(monkeypatch, tmp_path):
    """``load`` resolves the name at the edge (one parse) and passes the value down; what went where and the cache
    folder (kind, name, hash of the absolute location) are those of earlier versions, so their records still match."""
    import lib.data

    _reader_tree(tmp_path)
    parsed, parse = [], sources._parse_reader_name

    def counted(name):
        parsed.append(name)
        return parse(name)

    monkeypatch.setattr(sources, "_parse_reader_name", counted)
    for name, entry in (("folder:pets", "pets"), ("csv:pets.csv", "pets.csv")):
        parsed.clear()
        splits = lib.data.load(name, root=tmp_path, image_size=16, cache_dir=tmp_path / "cache", progress=False)
        assert parsed == [name]
        digest = hashlib.sha256(os.fsencode((tmp_path / entry).absolute())).hexdigest()[:10]
        assert splits.train.images.path.parent == tmp_path / "cache" / f"{name.split(':')[0]}-{entry}-{digest}"
        prefix = "" if entry == "pets" else "pets/"     # a CSV's ids are relative to its folder
        assert splits.manifest.ids == {split: tuple(prefix + i for i in ids) for split, ids in EARLIER_SPLITS.items()}
    parsed.clear()
    lib.data.load("digits", image_size=8, cache_dir=tmp_path / "cache", progress=False)
    assert parsed == []


@pytest.mark.parametrize("name, error, pattern", [
    ("folder:a/b", DataError, r"'a/b' is not a single file or folder name; pass the parent folder as root"),
    ("folder:..", DataError, r"'\.\.' is not a single file or folder name"),
    ("csv:labels.txt", DataError, r"does not end in \.csv"),
    ("zip:x", UnknownNameError, r"must start with folder: or csv:"),
    ("folder:", DataError, r"'' is not a single file or folder name"),
])
def test_reader_names_that_cannot_work_are_refused_in_one_line(name, error, pattern):
    with pytest.raises(error, match=pattern) as err:
        sources.spec(name)
    one_line_error(err)


def test_reader_folder_missing_under_the_root_names_the_path(tmp_path):
    with pytest.raises(DataError, match=r"nowhere is not a folder; pass a folder holding one sub-folder") as err:
        sources.read_source("folder:nowhere", tmp_path)
    one_line_error(err)
