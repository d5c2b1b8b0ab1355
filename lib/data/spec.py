"""The values the data layer passes around: a dataset's spec (what the registry says of it), the files it is
downloaded from, and a dataset as its publisher ships it (a :class:`Source` of :class:`RawSplit`\\ s).
``lib.data.sources`` holds the registry of specs, ``lib.data.formats`` the readers that make a Source.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image


@dataclass
class RawSplit:
    """One split as stored on disk: stable ids (path relative to the dataset folder, or ``file#index``)."""

    ids: list[str]
    labels: list[int]
    load: Callable[[int], Image.Image]
    groups: list[str] | None = None  # e.g. the patient of each image: held-out splits take whole groups

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Source:
    """A dataset as its publisher ships it; ``test`` is None where there is no fixed test split, ``val`` is set
    only where the publisher fixes a validation split that is not part of the paper's training images (DTD)."""

    classes: list[str]
    train: RawSplit
    test: RawSplit | None
    val: RawSplit | None = None


@dataclass(frozen=True)
class Download:
    """One file a dataset is fetched from (``python -m lib.fetch``), with the checksum published for it."""

    url: str
    file: str  # its name on disk; a mirror serves it as <mirror>/<dataset>/<file>
    md5: str = ""  # as published (torchvision's dataset classes)
    sha256: str = ""  # as published (TensorFlow Datasets' checksums, the publisher's own code)
    size: int | None = None  # bytes, where published: free space is checked before the download starts
    checksum_from: str = ""  # where md5/sha256 are published; or, with neither, why none is (then the sha256 of
                             # the first download is recorded in lib/data/checksums.lock and a later one must match)
    unpack: bool = True  # an archive unpacked into the dataset folder; False: the file itself is placed there
    members: tuple[str, ...] = ()  # glob patterns of the archive's files to keep (all when empty)
    flatten: bool = False  # kept files go directly into the dataset folder, whatever folder held them

    @property
    def pinned(self) -> bool:
        return bool(self.md5 or self.sha256)


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset as the paper used it (Table 3) and as this book reads it."""

    name: str  # registry key and folder name under the data root
    display: str  # as printed in the paper's tables
    domain: str  # one of DOMAINS, spelt as in results/paper/table3.csv ("workshop" for digits)
    num_classes: int | None  # None for the reader's own dataset: known once it is read
    paper_train: int | None  # Table 3 of the paper (None for digits)
    paper_test: int | None
    image_size: tuple[int, int]  # (H, W) the paper trains at
    augmentation: str | None  # a name in lib.data.transforms.AUGMENTATIONS; the paper: TrivialAugment for all but
                              # BreakHis and Galaxy10 (None)
    url: str  # where to download it
    licence: str
    layout: str  # a short text tree of the expected files under <root>/<name>/
    official_test: bool  # True when the publisher fixes a test split
    reader: Callable[[Path, "DatasetSpec"], Source]
    cite: str  # key in references.bib
    test_ratio: float | None = None  # test share when there is no official split (the paper's counts imply it)
    split_note: str = ""  # how train/test are formed, and how that relates to the paper's counts
    workshop: bool = False  # runs offline on a laptop (only digits)
    lists: tuple[tuple[str, tuple[str, ...]], ...] = ()  # official splits: ours -> the publisher's lists forming it
    downloads: tuple[Download, ...] = ()  # what lib.fetch downloads, verifies and unpacks into <root>/<name>/
    access: str = ""  # behind a login, a request form or offline: the steps to get the files, then --from FILE

    @property
    def split_lists(self) -> dict[str, tuple[str, ...]]:
        """Which of the publisher's lists form each of our splits, e.g. DTD ``{"train": ("train1",), ...}``."""
        return dict(self.lists)
