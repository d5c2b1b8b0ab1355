"""The datasets at their real size, without the images: how many images each publisher's split lists hold, how
many each class holds where there are no lists, and the train/test counts this book's split rules give at that
size, beside the paper's Table 3.

The sizes are reference data (like the paper's tables): each entry says where it comes from. The counts are
computed: the spec's ``lists`` (which publisher lists form each split) summed over the list sizes, or the
held-out rule of ``lib.data`` (``train_test_positions``) applied to labels drawn at the real class sizes.
``tests/test_full_size.py`` writes every publisher index at these sizes and checks that the readers count the
same; where the book's counts differ from Table 3, ``DEVIATIONS`` says why (a test fails if one is missing or
stale).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.data import sources


@dataclass(frozen=True)
class ListSizes:
    """A dataset with an official split: images in each of the publisher's lists."""

    sizes: dict[str, int]
    source: str


@dataclass(frozen=True)
class ClassSizes:
    """A dataset without an official split: images per class (in the reader's class order)."""

    sizes: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class Unknown:
    """A dataset whose split counts cannot be computed without its files."""

    total: int | None
    source: str


_CIFAR = "the publisher's page (cs.toronto.edu/~kriz/cifar.html): five training batches and one test batch of 10,000"

OFFICIAL: dict[str, ListSizes] = {
    "cifar10": ListSizes({**{f"data_batch_{k}": 10_000 for k in range(1, 6)}, "test_batch": 10_000}, _CIFAR),
    "cifar100": ListSizes({"train": 50_000, "test": 10_000},
                          "the publisher's page: 500 training and 100 test images per class, 100 classes"),
    "tiny_imagenet": ListSizes({"train": 100_000, "val": 10_000, "test": 10_000},
                               "the archive's README: 500 train, 50 val and 50 (unlabelled) test images per class, "
                               "200 classes"),
    "stanford_dogs": ListSizes({"train_list.mat": 12_000, "test_list.mat": 8_580},
                               "the publisher's page: 20,580 images, 100 training images per breed, 120 breeds"),
    "flowers102": ListSizes({"trnid": 1_020, "valid": 1_020, "tstid": 6_149},
                            "the publisher's page: 10 train and 10 val images per class, 6,149 test (8,189 in all)"),
    "cub200": ListSizes({"is_training_image=1": 5_994, "is_training_image=0": 5_794},
                        "the publisher's README (train_test_split.txt): 5,994 train, 5,794 test (11,788)"),
    "stanford_cars": ListSizes({"devkit/cars_train_annos.mat": 8_144, "cars_test_annos_withlabels.mat": 8_041},
                               "the publisher's page: 16,185 images, 8,144 train and 8,041 test"),
    "food101": ListSizes({"train.json": 75_750, "test.json": 25_250},
                         "the publisher's page: 750 train and 250 test images per class, 101 classes"),
    "dtd": ListSizes({"train1": 1_880, "val1": 1_880, "test1": 1_880},
                     "the publisher's page: 5,640 images, 40 per class in each of train/val/test of every partition"),
}

_PLANTVILLAGE_38 = (630, 621, 275, 1645, 1502, 1052, 854, 513, 1192, 985, 1162, 1180, 1383, 1076, 423, 5507, 2297,
                    360, 997, 1478, 1000, 1000, 152, 371, 5090, 1835, 1109, 456, 2127, 1000, 1909, 952, 1771, 1676,
                    1404, 373, 5357, 1591)  # per class, Apple___Apple_scab ... Tomato___healthy

HELD_OUT: dict[str, ClassSizes | Unknown] = {
    "neu": ClassSizes((300,) * 6, "the publisher's page: 300 images of each of the six defects (1,800)"),
    "ucmerced": ClassSizes((100,) * 21, "the publisher's page: 100 images of each of 21 classes (2,100)"),
    "eurosat": ClassSizes((3000, 3000, 3000, 2500, 2500, 2000, 2500, 3000, 2500, 3000),
                          "Helber et al. 2019, Table 1: 2,000-3,000 images per class (27,000)"),
    "plantvillage": ClassSizes(_PLANTVILLAGE_38[:4] + (1143,) + _PLANTVILLAGE_38[4:],
                               "the 38 disease classes as commonly listed (54,305 images) and "
                               "Background_without_leaves taking the rest of Table 3's 55,448 (1,143)"),
    "plantclef": Unknown(None, "the paper's 20-species subset is not published; the book's recipe picks it from "
                               "the PlantCLEF 2021 files"),
    "galaxy10": ClassSizes((1081, 1853, 2645, 2027, 334, 2043, 1829, 2628, 1423, 1873),
                           "the Galaxy10 DECals documentation (astroNN): 17,736 images in 10 classes"),
    **{f"breakhis_{m}x": Unknown(total, "the public release (Spanhol et al. 2016); split by patient, so the counts "
                                        "depend on which patients are drawn and need the files")
       for m, total in ((40, 1995), (100, 2081), (200, 2013), (400, 1820))},
    "rsna": ClassSizes((20_672, 6_012), "stage_2_train_labels.csv: 26,684 patients, 6,012 with Target 1 "
                                        "(30,227 rows: one per box)"),
}

DEVIATIONS: dict[str, str] = {
    **{name: "a stratified share held out, each class rounded on its own, lands a few images from the paper's "
             "count; the paper does not say how it drew its test set" for name in ("galaxy10", "plantvillage")},
    "rsna": "one image per patient (26,684 images); the paper's 24,181 + 6,046 = 30,227 is the CSV's row count, "
            "which counts an image once per box",
    **{f"breakhis_{m}x": "split by patient (30 % of the patients), not by image; the public release also has 9 "
                         "images fewer than the paper's total" for m in (40, 100, 200, 400)},
    "plantclef": "a 20-species subset the reader builds (the paper's is not published); 10 % held out",
}
"""Why the book's counts differ from the paper's Table 3, for every dataset where they do."""


def list_counts(name: str, sizes: dict[str, int] | None = None) -> dict[str, int | None]:
    """Train / val / test of an official split: the spec's ``lists`` summed over the publisher's list sizes."""
    sizes = OFFICIAL[name].sizes if sizes is None else sizes
    lists = sources.spec(name).split_lists
    return {part: sum(sizes[n] for n in lists[part]) if part in lists else None for part in ("train", "val", "test")}


def class_labels(sizes: tuple[int, ...]) -> list[int]:
    """Labels at the real class sizes (class 0 repeated ``sizes[0]`` times, ...)."""
    return np.repeat(np.arange(len(sizes)), sizes).tolist()


def held_out_counts(name: str, sizes: tuple[int, ...] | None = None) -> dict[str, int | None]:
    """Train / test of a dataset without an official split: ``lib.data``'s held-out rule on the real class sizes."""
    from lib.data import train_test_positions
    from lib.data.formats import RawSplit, Source

    labels = class_labels(HELD_OUT[name].sizes if sizes is None else sizes)
    ids = [f"{i:07d}" for i in range(len(labels))]
    source = Source([str(c) for c in sorted(set(labels))], RawSplit(ids, labels, load=None), None)
    train, test, _ = train_test_positions(source, sources.spec(name))
    return {"train": len(train), "val": None, "test": len(test)}


def counts(name: str) -> dict[str, int | None]:
    """Train / val / test as the book forms them at the dataset's real size (None where it cannot be computed)."""
    if name in OFFICIAL:
        return list_counts(name)
    if isinstance(HELD_OUT.get(name), ClassSizes):
        return held_out_counts(name)
    return {"train": None, "val": None, "test": None}


def provenance(name: str) -> str:
    """Where the sizes of ``name`` come from."""
    entry = OFFICIAL.get(name) or HELD_OUT.get(name)
    return entry.source if entry else ""
