"""The book's datasets: a registry of the paper's 20 (plus ``digits``) and one call to load any of them.

``load(name)`` reads the source files (``lib.data.sources``), splits them (``lib.data.splits``), decodes
them once into a uint8 cache (``lib.data.cache``) and returns torch datasets that augment and normalise
per item (``lib.data.transforms``)::

    splits = load("digits", image_size=32)
    x, y = splits.train[0]          # float32 3 x 32 x 32, ImageNet-normalised; int label
    splits.manifest.sha256["all"]   # the same on every machine that holds the same files
"""
from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lib.data import sources
from lib import paths
from lib.data.cache import CachedImages, DecodedImages, cached_split
from lib.data.sources import names, read_source, spec
from lib.data.splits import (SPLIT_SEED, Manifest, check_fraction, check_seed, class_counts,
                             held_out_ratio, items_sha256, read_manifest, stratified_split, stratified_subset,
                             uncovered_classes, write_manifest)
from lib.data.transforms import ToModelInput, check_image_size
from lib.errors import ConfigError, DataError

__all__ = ["names", "spec", "load", "Splits", "ImageDataset", "Manifest", "write_manifest",
           "read_manifest", "read_source", "SELECT_ON", "check_select_on",
           "split_counts", "train_test_positions", "file_stamps", "check_scored_splits"]

SELECT_ON = {
    "val": "held-out validation split (carved from train); the test split is scored once, at the end",
    "test": "paper protocol: epochs are selected on the test split itself, as the authors' code does",
}
"""Which split selects the epoch (early stopping, best checkpoint)."""


class ImageDataset(torch.utils.data.Dataset):
    """Items ``(float32 3 x H x W ImageNet-normalised tensor, int label)`` of one split.

    ``.targets`` and ``.classes`` as in torchvision; ``.ids`` the source file ids; ``.pixels(i)`` the decoded
    uint8 image (``H x W x 3``); ``.with_augment(False)`` the same images without augmentation (for
    evaluation). Picklable: cached images are memory-mapped lazily per worker.
    """

    def __init__(self, images: CachedImages | DecodedImages, positions: np.ndarray, targets: list[int],
                 ids: list[str], classes: list[str], augment: str | bool | None, name: str = ""):
        self.images = images
        self.positions = np.asarray(positions, dtype=np.int64)  # rows in the source split
        self.targets = list(targets)
        self.ids = list(ids)
        self.classes = list(classes)
        self.name = name
        self.transform = ToModelInput(augment)

    @property
    def augment(self) -> bool:
        return self.transform.augment

    def with_augment(self, augment: str | bool | None) -> "ImageDataset":
        """A copy sharing the images, with another augmentation (a name, True for TrivialAugmentWide) or none."""
        other = copy.copy(self)
        other.transform = ToModelInput(augment)
        return other

    def __len__(self) -> int:
        return len(self.positions)

    def pixels(self, index: int) -> np.ndarray:
        """Item ``index`` as decoded uint8 ``H x W x 3`` (resized, not augmented, not normalised)."""
        return self.images[int(self.positions[index])]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.pixels(index)), self.targets[index]

    def uint8_item(self, index: int) -> tuple[torch.Tensor, int]:
        """Item ``index`` augmented but not normalised: uint8 ``3 x H x W`` (what the trainer's loaders carry)."""
        return self.transform.augment_pixels(self.pixels(index)), self.targets[index]

    def __repr__(self) -> str:
        return (f"ImageDataset({self.name!r}, {len(self)} images, {len(self.classes)} classes, "
                f"augment={self.augment})")


@dataclass
class Splits:
    """The result of :func:`load`: three datasets, the spec and the manifest of which ids went where."""

    train: ImageDataset
    val: ImageDataset
    test: ImageDataset
    spec: Any
    manifest: Manifest
    select_on: str = "val"
    image_size: tuple[int, int] = (256, 256)

    @property
    def protocol(self) -> str:
        return SELECT_ON[self.select_on]


def train_test_positions(source, dataset_spec) -> tuple[np.ndarray, np.ndarray, str]:
    """The train part and the test split of a read source: positions in ``source.train`` and in the test split's
    own list (``source.test``, or ``source.train`` where the test split is held out of it), and how the test
    split was formed. Labels only: the same rule gives the counts of Table 3 without decoding an image."""
    train_raw = source.train
    if source.test is not None:
        test_source = "official" if dataset_spec.official_test else "the reader's split (see split_note)"
        return np.arange(len(train_raw.ids)), np.arange(len(source.test.ids)), test_source
    ratio = held_out_ratio(dataset_spec)
    train_pos, test_pos = stratified_split(train_raw.labels, ratio, SPLIT_SEED, train_raw.ids,
                                           getattr(train_raw, "groups", None))
    return train_pos, test_pos, f"stratified {ratio:g} of the source, seed {SPLIT_SEED}"


def split_counts(source, dataset_spec) -> dict[str, int | None]:
    """Images in the train part, the publisher's validation split (None where there is none: ``load`` then carves
    one from train) and the test split, as ``load`` forms them at ``fraction=1``."""
    train_pos, test_pos, _ = train_test_positions(source, dataset_spec)
    return {"train": len(train_pos), "val": None if source.val is None else len(source.val.ids),
            "test": len(test_pos)}


def file_stamps(folder: Path, ids: list[str], content: bool) -> list[str]:
    """What ties each item to its file: the sha256 of the file's bytes (``content``: the reader's own images, so a
    copy or a fresh clone keeps its records) or its size (a registered dataset: hundreds of GB, and unpacking the
    same archive again keeps its records). An id ``file#row`` (HDF5, a CIFAR batch) stamps its container file;
    an item without a file (digits, from scikit-learn) is stamped ``-``."""
    stamps: dict[str, str] = {}

    def stamp(file: str) -> str:
        path = folder / file
        try:
            if not content:
                return str(os.stat(path).st_size)
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
        except FileNotFoundError:
            return "-"
        except OSError as err:
            raise DataError(f"image {path} cannot be read ({err.strerror or type(err).__name__}); check its "
                            f"permissions or remove it from the dataset") from None

    files = [i.split("#", 1)[0] for i in ids]
    return [stamps[f] if f in stamps else stamps.setdefault(f, stamp(f)) for f in files]


def check_scored_splits(splits: "Splits") -> None:
    """A DataError with the per-class counts unless train, validation and test each hold every class: a split
    without a class cannot measure it (a record from 0 test images would say 0.00 %)."""
    labels = {"train": splits.train.targets, "val": splits.val.targets, "test": splits.test.targets}
    if splits.select_on == "test":
        del labels["val"]   # the paper protocol selects on the test split itself
    problem = uncovered_classes(splits.train.classes, labels)
    if problem:
        raise DataError(f"{splits.manifest.dataset}: {problem}; each class needs at least 3 images (one for "
                        f"training, one for validation, one for test): add images to those classes or remove them")


def check_select_on(select_on: str) -> str:
    """``select_on`` if it names a split that may select the epoch (:data:`SELECT_ON`), else a ConfigError."""
    if select_on not in SELECT_ON:
        raise ConfigError(f"select_on {select_on!r} is not allowed: choose 'val' (a held-out validation split, the "
                          f"default) or 'test' (the paper's protocol)")
    return select_on


def _check_val_fraction(val_fraction: float) -> float:
    try:
        value = float(val_fraction)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value <= 0.5:
        raise ConfigError(f"val_fraction={val_fraction!r} is outside (0, 0.5]; pass e.g. 0.1, or "
                          f"select_on='test' for the paper protocol without a validation split")
    return value


def load(name: str, root: str | os.PathLike | None = None, fraction: float = 1.0, seed: int = 0,
         image_size: int | tuple[int, int] | None = None, augment: bool | None = None,
         cache_dir: str | os.PathLike | None = None, val_fraction: float = 0.1, select_on: str = "val",
         cache: bool = True, progress: bool = True) -> Splits:
    """Load dataset ``name`` from ``<root>/<name>/`` as train / val / test datasets.

    ``name`` is a registered dataset, or the reader's own images as ``folder:<folder>`` (an ImageFolder tree
    ``<root>/<folder>/<class>/<image>``) or ``csv:<file>.csv`` (``<root>/<file>.csv``, columns path,label).

    - test: the official test split when the dataset has one, else a stratified ``held_out_ratio``
      share with the fixed seed ``SPLIT_SEED`` (the same test images for every run);
    - val: the publisher's validation split where it is not part of the paper's training images (DTD's val1),
      else ``val_fraction`` of each class of the train part, stratified, fixed seed ``SPLIT_SEED``
      (whole groups, e.g. patients, when the reader's split has ``groups``);
      with ``select_on="test"`` (paper protocol) there is no validation split and ``val`` is ``test``;
    - train: the rest, or a stratified ``fraction`` of the train part drawn with ``seed`` (at least one
      image per class; sized on the whole train part, so 1 % of CIFAR-10 is 500 images as in the paper);
    - ``image_size`` None = the paper's size for the dataset; ``augment`` None = the spec's choice
      (TrivialAugmentWide on train only); ``cache=False`` decodes every item on access instead.
    """
    resolved = sources.resolve(name, root)   # the name parsed once; its spec, folder and cache name from here on
    dataset_spec = resolved.spec
    fraction, seed = check_fraction(fraction), check_seed(seed)
    select_on = check_select_on(select_on)
    size = check_image_size(dataset_spec.image_size if image_size is None else image_size)
    augment = dataset_spec.augmentation if augment is None else (
        (dataset_spec.augmentation or "trivial_augment_wide") if augment else None)
    source = resolved.read()
    if cache:
        cache_dir = Path(cache_dir) if cache_dir is not None else paths.cache()

    def images_of(split_name: str, raw) -> CachedImages | DecodedImages:
        if not cache:
            return DecodedImages(raw.load, size)
        path = cached_split(cache_dir, resolved.cache_name, split_name, resolved.folder, raw.ids, raw.load, size,
                            progress)
        return CachedImages(path, (len(raw.ids), *size, 3))

    train_raw = source.train
    train_images = images_of("train", train_raw)
    all_train, test_pos, test_source = train_test_positions(source, dataset_spec)
    if source.test is not None:
        test_raw, test_images = source.test, images_of("test", source.test)
    else:
        test_raw, test_images = train_raw, train_images

    train_labels = [train_raw.labels[i] for i in all_train]
    train_ids = [train_raw.ids[i] for i in all_train]
    official_val = source.val if select_on == "val" else None  # the publisher's validation split (DTD's val1)
    if official_val is not None:
        _check_val_fraction(val_fraction)  # unused here, but a bad value is refused for every dataset alike
        pool, val_pos = all_train, np.arange(len(official_val.ids))
    elif select_on == "val":
        groups = getattr(train_raw, "groups", None)  # e.g. BreakHis patients: none in both train and val
        keep, held = stratified_split(train_labels, _check_val_fraction(val_fraction), SPLIT_SEED,
                                      train_ids, None if groups is None else [groups[i] for i in all_train])
        pool, val_pos = all_train[keep], all_train[held]
    else:
        pool, val_pos = all_train, None
    if fraction < 1.0:
        pool_labels = [train_raw.labels[i] for i in pool]
        pool_ids = [train_raw.ids[i] for i in pool]
        pool = pool[stratified_subset(pool_labels, fraction, seed, pool_ids, class_counts(train_labels))]

    def dataset(images, raw, positions, split_augment, split_name) -> ImageDataset:
        return ImageDataset(images, positions, [raw.labels[i] for i in positions],
                            [raw.ids[i] for i in positions], source.classes, split_augment,
                            name=f"{name}/{split_name}")

    train = dataset(train_images, train_raw, pool, augment, "train")
    test = dataset(test_images, test_raw, test_pos, False, "test")
    if val_pos is None:
        val = test
    elif official_val is not None:
        val = dataset(images_of("val", official_val), official_val, val_pos, False, "val")
    else:
        val = dataset(train_images, train_raw, val_pos, False, "val")
    split_ids = {"train": tuple(train.ids), "val": tuple(val.ids) if val_pos is not None else (),
                 "test": tuple(test.ids)}
    digests = {}
    for split_name, ds in (("train", train), ("val", val if val_pos is not None else None), ("test", test)):
        ids = ds.ids if ds is not None else []
        digests[split_name] = items_sha256(ids, [source.classes[t] for t in (ds.targets if ds else [])],
                                           file_stamps(resolved.folder, ids, content=resolved.own))
    manifest = Manifest(dataset=name, fraction=fraction, seed=seed, select_on=select_on,
                        test_source=test_source, ids=split_ids, data=digests)
    return Splits(train=train, val=val, test=test, spec=dataset_spec, manifest=manifest,
                  select_on=select_on, image_size=size)
