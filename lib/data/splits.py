"""Which images go where: stratified seeded splits, low-data subsets, and the manifest that records them.

Every function here works on labels (and file ids) only, never on pixels, so a split can be checked on
any machine without the images: two machines that hold the same files get the same manifest.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from lib.atomic import atomic_write_text
from lib.errors import ConfigError, DataError

SPLIT_SEED = 0
"""Seed of the test split (datasets without an official test set) and of the validation split.

Both stay fixed whatever the run's seed, so every run of a dataset is scored on the same images;
the run's seed only picks the low-data subset (and the network's initialisation, in the trainer).
"""

DEFAULT_TEST_RATIO = 0.2
"""Held-out share for a dataset without an official test split when the paper gives no counts."""


def check_fraction(fraction: float, what: str = "fraction") -> float:
    """``fraction`` as a float in (0, 1], or a ConfigError that says what to pass instead."""
    if isinstance(fraction, (bool, str)) or not isinstance(fraction, (int, float, np.number)):
        raise ConfigError(f"{what} {fraction!r} is not a number: pass a share of the training images in (0, 1], "
                          f"e.g. 0.1 for 10 %")
    value = float(fraction)
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"{what} {fraction!r} is outside (0, 1]: pass a share of the training images, e.g. 0.01 "
                          f"for 1 % or 1.0 for all")
    return value


MAX_SEED = 2**32 - 1   # numpy's legacy seeding takes 32 bits; every seed the book derives stays inside 64


def check_seed(seed: int) -> int:
    """``seed`` as an int from 0 to :data:`MAX_SEED`, or a ConfigError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed {seed!r} is not allowed: use a whole number from 0 to {MAX_SEED}, e.g. 0")
    return int(seed)


def held_out_ratio(spec) -> float:
    """The held-out share used when a dataset has no official test split.

    ``spec.test_ratio`` when the registry sets one; otherwise the ratio implied by the paper's Table 3
    counts (test / (train + test), rounded to 0.05: 0.2 for UC Merced and PlantVillage, 0.3 for EuroSAT
    and BreakHis, 0.1 for Galaxy10 and PlantCLEF); 0.2 when the paper gives no counts (digits).
    """
    ratio = getattr(spec, "test_ratio", None)
    if ratio is None:
        train, test = getattr(spec, "paper_train", None), getattr(spec, "paper_test", None)
        if train and test:
            ratio = round(20 * test / (train + test)) / 20
        else:
            ratio = DEFAULT_TEST_RATIO
    if not 0.0 < ratio < 1.0:
        raise ConfigError(f"test ratio {ratio!r} of dataset {spec.name!r} is outside (0, 1); "
                          f"fix test_ratio in its DatasetSpec")
    return float(ratio)


def _members_by_class(labels: Sequence[int], ids: Sequence[str] | None) -> dict[int, np.ndarray]:
    """Positions of each class's items, ordered by file id so the split does not depend on listing order."""
    labels = np.asarray(labels, dtype=np.int64)
    by_class: dict[int, np.ndarray] = {}
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if ids is not None:
            members = members[np.argsort([ids[i] for i in members], kind="stable")]
        by_class[int(c)] = members
    return by_class


def _group_units(members: np.ndarray, groups: Sequence[str]) -> list[np.ndarray]:
    """The members gathered by group, groups in sorted order (members keep their id order)."""
    by_group: dict[str, list[int]] = {}
    for m in members:
        by_group.setdefault(str(groups[m]), []).append(int(m))
    return [np.array(by_group[g], dtype=np.int64) for g in sorted(by_group)]


def stratified_split(labels: Sequence[int], ratio: float, seed: int = SPLIT_SEED,
                     ids: Sequence[str] | None = None,
                     groups: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split positions into (kept, held_out) with ``ratio`` of every class held out.

    Per class: ``round(ratio * n)`` held out, at least one when the class has two or more images, and
    never the last one (every class keeps an image). With ``groups`` (e.g. the patient of each image),
    whole groups are held out instead of images, so no group is on both sides; ``n`` then counts groups.
    Returns sorted position arrays.
    """
    if not 0.0 < ratio < 1.0:
        raise ConfigError(f"split ratio {ratio!r} is outside (0, 1); pass e.g. 0.2")
    rng = np.random.default_rng(seed)
    kept, held = [], []
    for _, members in sorted(_members_by_class(labels, ids).items()):
        units = [np.array([m]) for m in members] if groups is None else _group_units(members, groups)
        order = rng.permutation(len(units))
        n = len(units)
        n_held = min(max(int(round(ratio * n)), 1 if n >= 2 else 0), n - 1) if n else 0
        held.extend(units[u] for u in order[:n_held])
        kept.extend(units[u] for u in order[n_held:])
    empty = np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate([empty, *kept])), np.sort(np.concatenate([empty, *held]))


def stratified_subset(labels: Sequence[int], fraction: float, seed: int,
                      ids: Sequence[str] | None = None,
                      reference_counts: dict[int, int] | None = None) -> np.ndarray:
    """Positions of a stratified ``fraction`` of the items: ``max(1, round(fraction * n_c))`` per class.

    ``n_c`` is the class's count in ``reference_counts`` when given (the whole training part, so that
    1 % of CIFAR-10 is 500 images as in the paper even after a validation split was carved out), else in
    ``labels``; capped at what ``labels`` holds. Subsets are nested: for one seed, the 1 % subset lies
    inside the 10 % subset. Returns sorted positions.
    """
    fraction = check_fraction(fraction)
    rng = np.random.default_rng(seed)
    chosen = []
    for c, members in sorted(_members_by_class(labels, ids).items()):
        order = rng.permutation(members)
        n_ref = (reference_counts or {}).get(c, len(order))
        n = min(len(order), max(1, int(round(fraction * n_ref))))
        chosen.append(order[:n])
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def class_counts(labels: Sequence[int]) -> dict[int, int]:
    """How many items each class has."""
    values, counts = np.unique(np.asarray(labels, dtype=np.int64), return_counts=True)
    return {int(v): int(n) for v, n in zip(values, counts)}


def ids_sha256(ids: Sequence[str]) -> str:
    """sha256 over the ids, one per line, in order: equal digests mean the same images in the same order."""
    digest = hashlib.sha256()
    for i in ids:
        digest.update(i.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _with_all(per_split: dict[str, str]) -> dict[str, str]:
    per_split["all"] = ids_sha256([f"{k}:{v}" for k, v in sorted(per_split.items())])
    return per_split


def items_sha256(ids: Sequence[str], labels: Sequence[str], stamps: Sequence[str]) -> str:
    """sha256 over one split's items in order: id, class name and file stamp (a content digest or a size) each."""
    digest = hashlib.sha256()
    for i, label, stamp in zip(ids, labels, stamps, strict=True):
        digest.update(os.fsencode(f"{i}\t{label}\t{stamp}\n"))   # an id need not be UTF-8
    return digest.hexdigest()


def uncovered_classes(classes: Sequence[str], split_labels: dict[str, Sequence[int]]) -> str | None:
    """Why a split cannot be scored, or None: every split (train, val, test) must hold at least one image of
    every class. The one rule for ``lib.train`` and ``yourdata``; the text names the classes and counts."""
    counts = {name: np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(classes))
              for name, labels in split_labels.items()}
    missing = [k for k in range(len(classes)) if any(c[k] == 0 for c in counts.values())]
    if not missing:
        return None
    shown = "; ".join(f"{classes[k]!r}: " + ", ".join(f"{name} {int(c[k])}" for name, c in counts.items())
                      for k in missing[:4]) + (f"; and {len(missing) - 4} more" if len(missing) > 4 else "")
    return (f"{len(missing)} of {len(classes)} classes have no image in a split that is trained or scored on "
            f"({shown})")


@dataclass(frozen=True)
class Manifest:
    """Which file ids are in each split, and how they were chosen; compare two by ``sha256``."""

    dataset: str
    fraction: float
    seed: int
    select_on: str
    test_source: str  # "official" or "stratified <ratio> seed <SPLIT_SEED>"
    ids: dict[str, tuple[str, ...]] = field(compare=True)
    data: dict[str, str] = field(default_factory=dict, compare=True)
    """Per split, the digest of what it holds (:func:`items_sha256`: ids, labels, and the files' contents for the
    reader's own images or their sizes for a registered dataset); empty in a manifest written before it existed."""

    @property
    def sha256(self) -> dict[str, str]:
        """One digest per split over its ids, and ``all`` over the split names and their digests."""
        return _with_all({name: ids_sha256(ids) for name, ids in self.ids.items()})

    @property
    def data_sha256(self) -> dict[str, str]:
        """One digest per split over its ids, labels and files (:attr:`data`), and ``all``; {} when unknown."""
        return _with_all(dict(self.data)) if self.data else {}

    def counts(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in self.ids.items()}

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "fraction": self.fraction, "seed": self.seed,
                "select_on": self.select_on, "test_source": self.test_source,
                "counts": self.counts(), "sha256": self.sha256, "data_sha256": self.data_sha256,
                "ids": {name: list(ids) for name, ids in self.ids.items()}}


def write_manifest(manifest: Manifest, path: str | os.PathLike) -> Path:
    """Write the manifest as JSON (atomically: a temp file renamed into place)."""
    return atomic_write_text(path, json.dumps(manifest.to_dict(), indent=1) + "\n", what="split manifest")


def read_manifest(path: str | os.PathLike) -> Manifest:
    """Read a manifest written by :func:`write_manifest`, checking its digests against its ids."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        manifest = Manifest(dataset=data["dataset"], fraction=float(data["fraction"]),
                            seed=int(data["seed"]), select_on=data["select_on"],
                            test_source=data["test_source"],
                            ids={name: tuple(ids) for name, ids in data["ids"].items()},
                            data={k: v for k, v in (data.get("data_sha256") or {}).items() if k != "all"})
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"manifest {path} is unreadable ({type(err).__name__}: {err}); "
                        f"expected a JSON file written by lib.data.write_manifest, write it again") from None
    if data.get("sha256") != manifest.sha256 or (data.get("data_sha256") or {}) != manifest.data_sha256:
        raise DataError(f"manifest {path} has sha256 digests that do not match its ids; the file was "
                        f"edited or damaged, write it again with lib.data.write_manifest")
    return manifest
