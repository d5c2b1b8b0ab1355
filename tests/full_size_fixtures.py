"""The paper's datasets at their real size, index files only: every publisher list, CSV, .mat and JSON written
with as many entries as the real one (``lib.data.sizes``), every listed image an empty placeholder file.

Readers only index and check that listed files exist, so counts can be checked at real size in seconds; nothing
here can be decoded. Layouts are the publishers' (``EuroSAT_RGB/``, Stanford Dogs' lists at the top, PlantVillage
inside the Mendeley zip's top folder).
"""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np

from lib.data import sizes, sources


def _touch_all(paths) -> None:
    """Empty files (the parent folders made once each)."""
    made = set()
    for path in paths:
        parent = os.path.dirname(path)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def _round_robin(n: int, classes: int) -> list[int]:
    return [i % classes for i in range(n)]


def _cell(strings: list[str]) -> np.ndarray:
    cell = np.empty((len(strings), 1), dtype=object)
    cell[:, 0] = strings
    return cell


def _cifar(folder: Path, base: str, lists: dict[str, int], label_key: str, meta: str, names_key: str,
           classes: int) -> None:
    (folder / base).mkdir(parents=True)
    for name, n in lists.items():
        with open(folder / base / name, "wb") as handle:
            pickle.dump({label_key: _round_robin(n, classes), "data": np.zeros((n, 3072), np.uint8)}, handle, 2)
    with open(folder / base / meta, "wb") as handle:
        pickle.dump({names_key: [f"class {k}" for k in range(classes)]}, handle, 2)


def write_cifar10(folder: Path, lists: dict[str, int]) -> None:
    _cifar(folder, "cifar-10-batches-py", lists, "labels", "batches.meta", "label_names", 10)


def write_cifar100(folder: Path, lists: dict[str, int]) -> None:
    _cifar(folder, "cifar-100-python", lists, "fine_labels", "meta", "fine_label_names", 100)


def write_tiny_imagenet(folder: Path, lists: dict[str, int]) -> None:
    base = folder / "tiny-imagenet-200"
    wnids = [f"n{1443537 + 7 * k:08d}" for k in range(200)]
    base.mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (base / "words.txt").write_text("\n".join(f"{w}\tthing {k}" for k, w in enumerate(wnids)) + "\n")
    per_class = lists["train"] // len(wnids)
    _touch_all(f"{base}/train/{w}/images/{w}_{i}.JPEG" for w in wnids for i in range(per_class))
    val = [(f"val_{i}.JPEG", wnids[y]) for i, y in enumerate(_round_robin(lists["val"], 200))]
    _touch_all(f"{base}/val/images/{f}" for f, _ in val)
    (base / "val" / "val_annotations.txt").write_text("".join(f"{f}\t{w}\t0\t0\t63\t63\n" for f, w in val))
    _touch_all(f"{base}/test/images/test_{i}.JPEG" for i in range(lists["test"]))


def write_stanford_dogs(folder: Path, lists: dict[str, int]) -> None:
    from scipy.io import savemat

    breeds = [f"n{2085620 + 11 * k:08d}-Breed_{k}" for k in range(120)]
    folder.mkdir(parents=True)
    for name, n in lists.items():  # lists.tar unpacks the .mat files without a folder
        labels = _round_robin(n, 120)
        files = [f"{breeds[y]}/{name[:4]}{i}.jpg" for i, y in enumerate(labels)]
        _touch_all(f"{folder}/Images/{f}" for f in files)
        savemat(folder / name, {"file_list": _cell(files), "labels": np.array(labels, float)[:, None] + 1})


def write_flowers102(folder: Path, lists: dict[str, int]) -> None:
    from scipy.io import savemat

    total = sum(lists.values())
    _touch_all(f"{folder}/jpg/image_{n:05d}.jpg" for n in range(1, total + 1))
    savemat(folder / "imagelabels.mat", {"labels": (np.array(_round_robin(total, 102)) + 1)[None, :]})
    numbers, first = {}, 1
    for key, n in lists.items():
        numbers[key] = np.arange(first, first + n, dtype=np.uint16)[None, :]
        first += n
    savemat(folder / "setid.mat", numbers)


def write_cub200(folder: Path, lists: dict[str, int]) -> None:
    base = folder / "CUB_200_2011"
    classes = [f"{k + 1:03d}.Bird_{k}" for k in range(200)]
    flags = [1] * lists["is_training_image=1"] + [0] * lists["is_training_image=0"]
    labels = _round_robin(len(flags), 200)
    paths = [f"{classes[y]}/img_{i}.jpg" for i, y in enumerate(labels)]
    _touch_all(f"{base}/images/{p}" for p in paths)
    for name, values in (("images.txt", paths), ("image_class_labels.txt", [y + 1 for y in labels]),
                         ("train_test_split.txt", flags)):
        (base / name).write_text("".join(f"{i} {v}\n" for i, v in enumerate(values, start=1)))
    (base / "classes.txt").write_text("".join(f"{k + 1} {c}\n" for k, c in enumerate(classes)))


def write_stanford_cars(folder: Path, lists: dict[str, int]) -> None:
    from scipy.io import savemat

    for annos, images in (("devkit/cars_train_annos.mat", "cars_train"),
                          ("cars_test_annos_withlabels.mat", "cars_test")):
        n = lists[annos]
        records = np.empty((1, n), dtype=[("class", object), ("fname", object)])
        for i, y in enumerate(_round_robin(n, 196)):
            records[0, i] = (np.array([[y + 1]], np.uint8), f"{i + 1:05d}.jpg")
        _touch_all(f"{folder}/{images}/{i + 1:05d}.jpg" for i in range(n))
        (folder / annos).parent.mkdir(parents=True, exist_ok=True)
        savemat(folder / annos, {"annotations": records})
    classes = np.empty((1, 196), dtype=object)
    classes[0, :] = [f"Maker Model {k}" for k in range(196)]
    savemat(folder / "devkit" / "cars_meta.mat", {"class_names": classes})


def write_food101(folder: Path, lists: dict[str, int]) -> None:
    base = folder / "food-101"
    classes = [f"dish_{k:03d}" for k in range(101)]
    (base / "meta").mkdir(parents=True)
    for name, n in lists.items():
        listing = {c: [] for c in classes}
        for i, y in enumerate(_round_robin(n, 101)):
            listing[classes[y]].append(f"{classes[y]}/{name[:-5]}{i}")
        _touch_all(f"{base}/images/{p}.jpg" for v in listing.values() for p in v)
        (base / "meta" / name).write_text(json.dumps(listing))


def write_dtd(folder: Path, lists: dict[str, int]) -> None:
    base = folder / "dtd"
    classes = [f"texture{k:02d}" for k in range(47)]
    (base / "labels").mkdir(parents=True)
    for name, n in lists.items():
        lines = [f"{classes[y]}/{classes[y]}_{name}_{i:04d}.jpg" for i, y in enumerate(_round_robin(n, 47))]
        _touch_all(f"{base}/images/{line}" for line in lines)
        (base / "labels" / f"{name}.txt").write_text("\n".join(lines) + "\n")


def _class_folders(folder: Path, sizes_: tuple[int, ...], ext: str, names: list[str] | None = None) -> None:
    names = names or [f"class_{k:02d}" for k in range(len(sizes_))]
    _touch_all(f"{folder}/{c}/{c}_{i}{ext}" for c, n in zip(names, sizes_) for i in range(n))


def write_neu(folder: Path, sizes_: tuple[int, ...]) -> None:
    from lib.data.formats import NEU_CLASSES

    _touch_all(f"{folder}/{p}_{i + 1}.bmp" for p, n in zip(NEU_CLASSES, sizes_) for i in range(n))


def write_ucmerced(folder: Path, sizes_: tuple[int, ...]) -> None:
    _class_folders(folder / "UCMerced_LandUse" / "Images", sizes_, ".tif")


def write_eurosat(folder: Path, sizes_: tuple[int, ...]) -> None:
    _class_folders(folder / "EuroSAT_RGB", sizes_, ".jpg")  # the publisher's zip


def write_plantvillage(folder: Path, sizes_: tuple[int, ...]) -> None:
    _class_folders(folder / "Plant_leave_diseases_dataset_without_augmentation", sizes_, ".jpg")


def write_galaxy10(folder: Path, sizes_: tuple[int, ...]) -> None:
    import h5py

    folder.mkdir(parents=True)
    labels = sizes.class_labels(sizes_)
    with h5py.File(folder / "Galaxy10_DECals.h5", "w") as h5:
        h5.create_dataset("images", shape=(len(labels), 256, 256, 3), dtype=np.uint8)  # never written: no space
        h5.create_dataset("ans", data=np.array(labels, np.uint8))


def write_rsna(folder: Path, sizes_: tuple[int, ...]) -> None:
    """One row per box: every positive patient has one row, some a second, so that the CSV has as many rows as
    the paper's Table 3 counts images (train + test)."""
    negative, positive = sizes_
    spec = sources.spec("rsna")
    second_box = spec.paper_train + spec.paper_test - negative - positive
    rows = ["patientId,x,y,width,height,Target"]
    rows += [f"neg{i:06d},,,,,0" for i in range(negative)]
    rows += [f"pos{i:06d},1,2,3,4,1" for i in range(positive)]
    rows += [f"pos{i:06d},5,6,7,8,1" for i in range(second_box)]
    folder.mkdir(parents=True)
    (folder / "stage_2_train_labels.csv").write_text("\n".join(rows) + "\n")
    _touch_all(f"{folder}/stage_2_train_images/{p}{i:06d}.dcm" for p, n in (("neg", negative), ("pos", positive))
               for i in range(n))


WRITERS = {name: globals()[f"write_{name}"] for name in
           (*sizes.OFFICIAL, *(n for n, e in sizes.HELD_OUT.items() if isinstance(e, sizes.ClassSizes)))}
"""Dataset -> writer of its real-size index (every dataset whose sizes ``lib.data.sizes`` holds)."""


def write(name: str, root: Path) -> Path:
    """``root/<name>/`` at the real size recorded in ``lib.data.sizes``."""
    entry = sizes.OFFICIAL.get(name) or sizes.HELD_OUT[name]
    WRITERS[name](Path(root) / name, entry.sizes)
    return Path(root) / name
