"""The registry of the paper's 20 datasets (Table 3) plus the workshop's ``digits``: where each comes from,
how it lies on disk, and the reader for that format.

Each dataset lives in ``<root>/<name>/``, holding what its publisher's archive unpacks to (the ``layout``
field). ``read_source(name, root)`` checks that layout and returns the file ids, labels and a lazy RGB
loader per split; splitting, caching and tensors are ``lib.data``'s job (``splits.py``, ``cache.py``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lib.data import formats
from lib.data.formats import RawSplit, Source
from lib.errors import DataError, UnknownNameError
from lib.provenance import REPO_ROOT

__all__ = ["DOMAINS", "READER_KINDS", "DatasetSpec", "RawSplit", "Source", "cache_name", "catalogue", "data_root",
           "dataset_folder", "names", "read_source", "reader_name", "spec", "specs"]

DOMAINS = ("natural", "texture", "surface_defects", "remote_sensing", "plant", "astronomy", "medical")

PAPER_SIZE = (256, 256)


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

    @property
    def trivial_augment(self) -> bool:
        """Whether the paper's TrivialAugmentWide augments this dataset's training images."""
        return self.augmentation == "trivial_augment_wide"

    @property
    def split_lists(self) -> dict[str, tuple[str, ...]]:
        """Which of the publisher's lists form each of our splits, e.g. DTD ``{"train": ("train1",), ...}``."""
        return dict(self.lists)


def _spec(name, display, domain, classes, train, test, url, licence, layout, reader, cite, *,
          official=True, test_ratio=None, note="", size=PAPER_SIZE, augment="trivial_augment_wide", workshop=False,
          lists=None) -> DatasetSpec:
    return DatasetSpec(name=name, display=display, domain=domain, num_classes=classes, paper_train=train,
                       paper_test=test, image_size=size, augmentation=augment, url=url, licence=licence,
                       layout=layout.strip("\n"), official_test=official, reader=reader, cite=cite,
                       test_ratio=test_ratio, split_note=note, workshop=workshop,
                       lists=tuple((k, tuple(v)) for k, v in (lists or {}).items()))


_IMAGENET_TERMS = "ImageNet terms of access: non-commercial research and education only"

_BREAKHIS_LAYOUT = """
BreaKHis_v1/histology_slides/breast/
  benign/SOB/<tumour type>/SOB_B_<type>_<patient>/{mag}/*.png
  malignant/SOB/<tumour type>/SOB_M_<type>_<patient>/{mag}/*.png
"""

_BREAKHIS_NOTE = (
    "Split by patient, not by image: 30 % of the patients of each class (seeded, seed 0) form the test set, "
    "the same patients at every magnification, as in the dataset's own protocol (Spanhol et al. 2016), because "
    "images of one patient are crops of the same slides and an image-level split leaks them into the test set. "
    "The paper's counts (e.g. 1,398/606 at 40x: a test share of 0.302 at all four magnifications) suggest an "
    "image-level split; ours has a similar but not identical share, and 9 fewer images than the paper's totals "
    "(the public release has 1,995/2,081/2,013/1,820 images)."
)

_BREAKHIS = [
    _spec(f"breakhis_{mag}x", f"BreakHis {mag}×", "medical", 2, train, test,
          "https://web.inf.ufpr.br/vri/databases/breast-cancer-histopathological-database-breakhis/",
          "research use on request from the authors (UFPR/P&D Laboratory); cite Spanhol et al. 2016",
          _BREAKHIS_LAYOUT.format(mag=f"{mag}X"), formats.read_breakhis, "spanhol2016breakhis",
          official=False, test_ratio=0.3, note=_BREAKHIS_NOTE, size=(448, 672), augment=None)
    for mag, train, test in ((40, 1398, 606), (100, 1458, 632), (200, 1411, 611), (400, 1276, 553))
]

_SPECS = [
    _spec("cifar10", "CIFAR-10", "natural", 10, 50_000, 10_000,
          "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
          "no licence stated; free to use with citation (Krizhevsky 2009)",
          """
cifar-10-batches-py/
  data_batch_1 ... data_batch_5   (train, pickled dicts: data N x 3072 uint8, labels)
  test_batch
  batches.meta                    (label_names)
""", formats.read_cifar10, "krizhevsky2009cifar",
          note="Official split: data_batch_1..5 (50,000) / test_batch (10,000), as torchvision's CIFAR10.",
          lists={"train": [f"data_batch_{k}" for k in range(1, 6)], "test": ["test_batch"]}),
    _spec("cifar100", "CIFAR-100", "natural", 100, 50_000, 10_000,
          "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
          "no licence stated; free to use with citation (Krizhevsky 2009)",
          """
cifar-100-python/
  train  test   (pickled dicts: data N x 3072 uint8, fine_labels)
  meta          (fine_label_names)
""", formats.read_cifar100, "krizhevsky2009cifar",
          note="Official split, the 100 fine labels, as torchvision's CIFAR100.",
          lists={"train": ["train"], "test": ["test"]}),
    _spec("tiny_imagenet", "Tiny ImageNet", "natural", 200, 100_000, 10_000,
          "http://cs231n.stanford.edu/tiny-imagenet-200.zip", _IMAGENET_TERMS,
          """
tiny-imagenet-200/
  wnids.txt  words.txt
  train/<wnid>/images/<wnid>_<k>.JPEG
  val/val_annotations.txt  val/images/val_<k>.JPEG
""", formats.read_tiny_imagenet, "le2015tinyimagenet",
          note="The paper's 10,000 test images are the labelled val set (50 per class); test/ has no labels.",
          lists={"train": ["train"], "test": ["val"]}),
    _spec("stanford_dogs", "Stanford Dogs", "natural", 120, 12_000, 8_580,
          "http://vision.stanford.edu/aditya86/ImageNetDogs/", _IMAGENET_TERMS,
          """
Images/<wnid>-<breed>/<wnid>_<k>.jpg     (images.tar unpacks to Images/)
train_list.mat  test_list.mat            (lists.tar unpacks them here, no folder; lists/ is accepted too)
""", formats.read_stanford_dogs, "khosla2011dogs",
          note="Official split from train_list.mat (100 per breed) and test_list.mat.",
          lists={"train": ["train_list.mat"], "test": ["test_list.mat"]}),
    _spec("flowers102", "Flowers-102", "natural", 102, 2_040, 6_149,
          "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/",
          "no licence stated; research use with citation (Nilsback & Zisserman 2008)",
          """
jpg/image_00001.jpg ... image_08189.jpg   (102flowers.tgz)
imagelabels.mat   (labels 1..102)
setid.mat         (trnid, valid, tstid)
""", formats.read_flowers102, "nilsback2008flowers",
          note="Train = the official train + val sets (1,020 + 1,020 = the paper's 2,040); test = tstid (6,149). "
               "The authors' code used torchvision's split='train' (1,020) instead.",
          lists={"train": ["trnid", "valid"], "test": ["tstid"]}),
    _spec("cub200", "CUB-200-2011", "natural", 200, 5_994, 5_794,
          "https://data.caltech.edu/records/65de6-vp158",
          "research use; images from Flickr under their owners' terms",
          """
CUB_200_2011/
  images.txt  image_class_labels.txt  train_test_split.txt  classes.txt
  images/<NNN.Class_name>/<file>.jpg
""", formats.read_cub200, "welinder2010cub",
          note="Official split from train_test_split.txt (1 = train).",
          lists={"train": ["is_training_image=1"], "test": ["is_training_image=0"]}),
    _spec("stanford_cars", "Stanford Cars", "natural", 196, 8_144, 8_041,
          "https://ai.stanford.edu/~jkrause/cars/car_dataset.html (offline; use a mirror in torchvision's layout)",
          _IMAGENET_TERMS,
          """
devkit/cars_meta.mat  devkit/cars_train_annos.mat
cars_train/<NNNNN>.jpg
cars_test_annos_withlabels.mat
cars_test/<NNNNN>.jpg
""", formats.read_stanford_cars, "krause2013cars",
          note="torchvision's StanfordCars layout (the original site is gone; the labelled test annotations "
               "come from the devkit update). Official split 8,144 / 8,041.",
          lists={"train": ["devkit/cars_train_annos.mat"], "test": ["cars_test_annos_withlabels.mat"]}),
    _spec("food101", "Food-101", "natural", 101, 75_750, 25_250,
          "https://data.vision.ee.ethz.ch/cvl/datasets_extra/food-101/",
          "images from foodspotting.com; non-commercial research use",
          """
food-101/
  meta/train.json  meta/test.json   ({class: ["class/id", ...]})
  images/<class>/<id>.jpg
""", formats.read_food101, "bossard2014food101",
          note="Official split (750 / 250 per class), as torchvision's Food101.",
          lists={"train": ["train.json"], "test": ["test.json"]}),
    _spec("dtd", "DTD", "texture", 47, 1_880, 1_880,
          "https://www.robots.ox.ac.uk/~vgg/data/dtd/",
          "research use only (images from Flickr)",
          """
dtd/
  images/<class>/<class>_<k>.jpg
  labels/train1.txt  labels/val1.txt  labels/test1.txt
""", formats.read_dtd, "cimpoi2014dtd",
          note="Partition 1 of the publisher's ten: train = train1 (1,880), validation = val1 (1,880), test = test1 "
               "(1,880); train and test match the paper's counts. val1 is the natural validation split, so none is "
               "carved from train1.",
          lists={"train": ["train1"], "val": ["val1"], "test": ["test1"]}),
    _spec("neu", "NEU Surface Defects", "surface_defects", 6, 1_440, 360,
          "http://faculty.neu.edu.cn/songkechen/zh_CN/zdylm/263270/list/index.htm",
          "research use with citation (Song & Yan 2013)",
          """
Cr_1.bmp ... Cr_300.bmp   In_*.bmp  Pa_*.bmp  PS_*.bmp  RS_*.bmp  Sc_*.bmp
(the 1,800 NEU-CLS .bmp files, directly in this folder)
""", formats.read_neu, "song2013neu", official=False, test_ratio=0.2,
          note="No official split: stratified 80/20 (the paper's Table 3 counts 1,440/360; its appendix says "
               "1,200/600, Table 3 is followed)."),
    _spec("ucmerced", "UC Merced Land Use", "remote_sensing", 21, 1_680, 420,
          "http://weegee.vision.ucmerced.edu/datasets/landuse.html",
          "public domain imagery (USGS National Map); cite Yang & Newsam 2010",
          """
UCMerced_LandUse/Images/<class>/<class>NN.tif   (21 classes x 100)
""", formats.read_ucmerced, "yang2010ucmerced", official=False, test_ratio=0.2,
          note="No official split: stratified 80/20 (1,680/420)."),
    _spec("eurosat", "EuroSAT", "remote_sensing", 10, 18_900, 8_100,
          "https://zenodo.org/records/7711810 (EuroSAT_RGB.zip)",
          "MIT",
          """
EuroSAT_RGB/<class>/<class>_<k>.jpg   (the publisher's EuroSAT_RGB.zip; 10 classes, 27,000 RGB images)
2750/<class>/<class>_<k>.jpg          (the same images as torchvision's mirror EuroSAT.zip unpacks them)
""", formats.read_eurosat, "helber2019eurosat", official=False, test_ratio=0.3,
          note="No official split: stratified 70/30 (18,900/8,100)."),
    _spec("plantvillage", "PlantVillage", "plant", 39, 44_343, 11_105,
          "https://data.mendeley.com/datasets/tywbtsjrjv/1 (Plant_leaf_diseases_dataset_without_augmentation)",
          "CC BY 4.0 (Mendeley Data record; check the page)",
          """
<class>/<image>.jpg   (39 class folders, incl. Background_without_leaves; 55,448 images)
(or inside the one top folder the Mendeley zip unpacks to: <top folder>/<class>/<image>.jpg)
""", formats.read_class_folders, "hughes2016plantvillage", official=False, test_ratio=0.2,
          note="No official split: stratified 80/20. The 39-class release (with background) matches the paper's "
               "44,343 + 11,105 = 55,448 images; the common 38-class copy does not and is refused."),
    _spec("plantclef", "PlantCLEF", "plant", 20, 10_455, 1_135,
          "https://www.aicrowd.com/challenges/lifeclef-2021-plant",
          "per-image Creative Commons licences (see the challenge's metadata)",
          """
<species_id>/<image>.jpg   (the 20 species folders of the subset, prepared by the user)
""", formats.read_class_folders, "goeau2021plantclef", official=False, test_ratio=0.1,
          note="The paper uses an unspecified 20-class subset (10,455/1,135, about 90/10). The book's recipe: "
               "from the PlantCLEF 2021 training set, take the 20 species with the most images (ties: smaller "
               "species id) and copy each species' images into <species_id>/; then a stratified 90/10 split."),
    _spec("galaxy10", "Galaxy10 DECals", "astronomy", 10, 15_962, 1_774,
          "https://zenodo.org/records/10845026/files/Galaxy10_DECals.h5",
          "public data (DESI Legacy Surveys images, Galaxy Zoo labels); cite Leung & Bovy",
          """
Galaxy10_DECals.h5   (images: N x 256 x 256 x 3 uint8, ans: N labels 0..9)
""", formats.read_galaxy10, "leung2018galaxy10", official=False, test_ratio=0.1, augment=None,
          note="No official split: stratified 90/10 (15,962/1,774 of 17,736). No augmentation, as in the paper."),
    *_BREAKHIS,
    _spec("rsna", "RSNA Pneumonia Detection", "medical", 2, 24_181, 6_046,
          "https://www.kaggle.com/competitions/rsna-pneumonia-detection-challenge/data",
          "Kaggle competition rules: non-commercial research use",
          """
stage_2_train_labels.csv   (patientId,x,y,width,height,Target; one row per box)
stage_2_train_images/<patientId>.dcm
""", formats.read_rsna, "stein2018rsna", official=False, test_ratio=0.2,
          note="One image per patient, labelled pneumonia if any of its rows has Target 1 (26,684 images), "
               "stratified 80/20. The paper's 24,181 + 6,046 = 30,227 equals the CSV's row count, so the paper "
               "seems to have counted an image once per box."),
    _spec("digits", "Digits (scikit-learn)", "workshop", 10, None, None,
          "bundled with scikit-learn (sklearn.datasets.load_digits); nothing to download",
          "BSD-3-Clause (scikit-learn); UCI Optical Recognition of Handwritten Digits, CC BY 4.0",
          """
(no files: read from the scikit-learn installation)
""", formats.read_digits, "", official=False, test_ratio=0.2, size=(32, 32), workshop=True,
          augment="small_affine",
          note="1,797 greyscale 8x8 images with 16 levels, scaled to 0..255 and copied to three channels; "
               "stratified 80/20. A stand-in so every chapter runs offline; not one of the paper's datasets."),
]

_REGISTRY = {s.name: s for s in _SPECS}


def names(workshop: bool | None = None) -> list[str]:
    """Registered dataset names in the paper's Table 3 order (``digits`` last); filter by ``workshop``."""
    return [n for n, s in _REGISTRY.items() if workshop is None or s.workshop == workshop]


def specs() -> list[DatasetSpec]:
    """All specs, in the order of :func:`names`."""
    return list(_REGISTRY.values())


def spec(name: str) -> DatasetSpec:
    """The spec registered as ``name``, or the spec of the reader's own ``folder:<name>`` / ``csv:<file>``."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if isinstance(name, str) and ":" in name:
        return _reader_spec(*_parse_reader_name(name))
    raise UnknownNameError(f"unknown dataset {name!r}; choose one of: {', '.join(_REGISTRY)}, or "
                           f"folder:<folder> / csv:<file>.csv for your own images under the data root")


def catalogue():
    """One row per dataset (the registry as a table, for the book's dataset chapter): counts, sizes, splits,
    sources and licences. Imports pandas lazily."""
    import pandas as pd

    rows = [{"dataset": s.name, "display": s.display, "domain": s.domain, "num_classes": s.num_classes,
             "paper_train": s.paper_train, "paper_test": s.paper_test,
             "image_size": f"{s.image_size[0]}×{s.image_size[1]}", "augmentation": s.augmentation,
             "test_split": "official" if s.official_test else f"{s.test_ratio:.0%} held out",
             "split_note": s.split_note, "url": s.url, "licence": s.licence, "cite": s.cite,
             "workshop": s.workshop} for s in specs()]
    return pd.DataFrame(rows).astype({"paper_train": "Int64", "paper_test": "Int64"})


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds one sub-folder per dataset: ``root``, else ``$WB_DATA``, else ``<repo>/data``."""
    if root is not None:
        return Path(root).expanduser()
    return Path(os.environ.get("WB_DATA") or REPO_ROOT / "data").expanduser()


def read_source(name: str, root: str | os.PathLike | None = None) -> Source:
    """Read dataset ``name`` from ``<root>/<name>/`` in its native format (index only; images load lazily)."""
    s = spec(name)
    if s.name not in _REGISTRY:  # the reader's folder or CSV
        return s.reader(data_root(root) / _parse_reader_name(name)[1], s)
    if s.workshop:  # bundled with a package: no folder needed
        return s.reader(Path(), s)
    base = data_root(root)
    layout = formats.layout_line(s)
    if not base.is_dir():
        state = "is not a folder" if base.exists() else "does not exist"
        raise DataError(f"{s.display}: data root {base} {state}; create it, download {s.url} and unpack "
                        f"into {base / name}/ as: {layout} (or pass root=/set WB_DATA to where your data lives)")
    folder = base / name
    if not folder.is_dir():
        raise DataError(f"{s.display}: folder {folder} not found; download {s.url} and unpack it there as: "
                        f"{layout}")
    return s.reader(folder, s)


# ----------------------------------------------------------------------------------------------------------
# The reader's own images. A dataset name that carries its location, ``folder:<name>`` (an ImageFolder tree
# ``<root>/<name>/<class>/<image>``) or ``csv:<file>.csv`` (``<root>/<file>.csv`` with columns path,label),
# resolved under the data root like every other dataset, so that it means the same in any process (a Ray
# worker, ``python -m lib.train``) and can be part of a run key and a file name.

READER_KINDS = {
    "folder": ("<class>/<image> (one sub-folder of images per class, as torchvision's ImageFolder)",
               formats.read_reader_folder),
    "csv": ("a CSV with a header row and columns path,label (paths relative to the CSV's folder)",
            formats.read_reader_csv),
}

DEFAULT_READER_TEST_RATIO = 0.2

_READER_NOTE = ("Your own images: no official split, so a stratified 80/20 train/test split (seed 0), then 10 % "
                "of each class of the training part for validation, both fixed whatever the run's seed.")


def _parse_reader_name(name: str) -> tuple[str, str]:
    """``("folder", "leaves")`` from ``"folder:leaves"``, with one-line errors for anything else."""
    kind, _, entry = name.partition(":")
    if kind not in READER_KINDS:
        raise UnknownNameError(f"unknown dataset {name!r}; a name with ':' must start with "
                               f"{' or '.join(k + ':' for k in READER_KINDS)} (e.g. folder:leaves), or use one of: "
                               f"{', '.join(_REGISTRY)}")
    if not entry or "/" in entry or "\\" in entry or entry in (".", ".."):
        raise DataError(f"dataset {name!r}: {entry!r} is not a single file or folder name; pass the parent "
                        f"folder as root and its name here, e.g. root='/home/me', '{kind}:leaves' "
                        f"(lib.data.sources.reader_name(path) does it for you)")
    if kind == "csv" and not entry.lower().endswith(".csv"):
        raise DataError(f"dataset {name!r}: {entry!r} does not end in .csv; pass csv:<file>.csv, or "
                        f"folder:{entry} for an ImageFolder tree")
    return kind, entry


def _reader_spec(kind: str, entry: str) -> DatasetSpec:
    layout, reader = READER_KINDS[kind]
    display = f"your {'folder' if kind == 'folder' else 'CSV'} {entry}"
    return _spec(f"{kind}:{entry}", display, "yours", None, None, None, "the place you copied it from",
                 "yours: check that you may train on these images", layout, reader, "", official=False,
                 test_ratio=DEFAULT_READER_TEST_RATIO, note=_READER_NOTE)



def reader_name(path: str | os.PathLike) -> tuple[Path, str]:
    """``(root, name)`` for a folder of class folders or a CSV: ``/home/me/leaves`` -> ``(/home/me, "folder:leaves")``."""
    location = Path(os.path.abspath(Path(path).expanduser()))   # "..", "." and "a/../b" by name, not "/a/.."
    if location == location.parent:   # "/" or a drive: no parent to be the data root
        raise DataError(f"{path} is the top of the file system, not a dataset; pass the folder that holds your "
                        f"class sub-folders (e.g. ~/leaves, holding leaves/<class>/<image>) or your CSV")
    if location.is_dir():
        kind = "folder"
    elif location.suffix.lower() == ".csv":
        kind = "csv"
    elif location.exists():
        raise DataError(f"{location} is neither a folder nor a .csv file; pass a folder of class sub-folders "
                        f"(<class>/<image>) or a CSV with columns path,label")
    else:
        raise DataError(f"{location} does not exist; pass a folder of class sub-folders (<class>/<image>) or a "
                        f"CSV with columns path,label")
    if "\\" in location.name:
        raise DataError(f"{location} has a backslash in its name; rename it (or its CSV) without one")
    return location.parent, f"{kind}:{location.name}"


def dataset_folder(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder that a dataset's file ids are relative to (for cache fingerprints)."""
    s = spec(name)
    if s.name in _REGISTRY:
        return data_root(root) / name
    kind, entry = _parse_reader_name(name)
    return data_root(root) / entry if kind == "folder" else data_root(root)


def cache_name(name: str, root: str | os.PathLike | None = None) -> str:
    """A file-name-safe name for the decoded-image cache: the dataset's name, or for the reader's own data
    its kind, name and a hash of its absolute location (two folders called ``leaves`` never share a cache)."""
    if spec(name).name in _REGISTRY:
        return name
    kind, entry = _parse_reader_name(name)
    location = (data_root(root) / entry).absolute()
    digest = hashlib.sha256(os.fsencode(location)).hexdigest()[:10]     # a folder name need not be UTF-8
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in entry)
    return f"{kind}-{safe}-{digest}"
