"""The registry of the paper's 20 datasets (Table 3) plus the workshop's ``digits``: where each comes from,
how it lies on disk, and the reader for that format.

Each dataset lives in ``<root>/<name>/``, holding what its publisher's archive unpacks to (the ``layout``
field). ``resolve(name, root)`` turns a name into its spec and places once; its ``read()`` (or
``read_source(name, root)``) checks that layout and returns the file ids, labels and a lazy RGB loader per split;
splitting, caching and tensors are ``lib.data``'s job (``splits.py``, ``cache.py``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from lib import paths
from lib.data import formats
from lib.data.spec import DatasetSpec, Download, RawSplit, Source
from lib.errors import DataError, UnknownNameError

__all__ = ["DOMAINS", "READER_KINDS", "DatasetSpec", "Download", "RawSplit", "Resolved", "Source",
           "catalogue", "names", "read_source", "reader_name", "resolve", "spec", "specs"]

DOMAINS = ("natural", "texture", "surface_defects", "remote_sensing", "plant", "astronomy", "medical")

PAPER_SIZE = (256, 256)


def _spec(name, display, domain, classes, train, test, url, licence, layout, reader, cite, *,
          official=True, test_ratio=None, note="", size=PAPER_SIZE, augment="trivial_augment_wide", workshop=False,
          lists=None) -> DatasetSpec:
    return DatasetSpec(name=name, display=display, domain=domain, num_classes=classes, paper_train=train,
                       paper_test=test, image_size=size, augmentation=augment, url=url, licence=licence,
                       layout=layout.strip("\n"), official_test=official, reader=reader, cite=cite,
                       test_ratio=test_ratio, split_note=note, workshop=workshop,
                       lists=tuple((k, tuple(v)) for k, v in (lists or {}).items()),
                       downloads=DOWNLOADS.get(name, ()), access=ACCESS.get(name, ""))


_IMAGENET_TERMS = "ImageNet terms of access: non-commercial research and education only"

# What `python -m lib.fetch` downloads for each dataset, with the checksums published for those exact files:
# torchvision's md5s (its dataset classes: CIFAR10.tgz_md5, Flowers102._file_dict, DTD._MD5, Food101._MD5,
# EuroSAT.download), TensorFlow Datasets' sha256 and sizes (tensorflow-datasets 4.9.10, checksums.tsv and
# url_checksums/), astroNN's sha256 for Galaxy10. Where none is published, ``checksum_from`` says why, and the
# sha256 of the first download is recorded in lib/data/checksums.lock (a later download must match it).
_TV = "torchvision 0.29 ({}); sha256 and size: TensorFlow Datasets 4.9.10 ({})"
_TFDS = "TensorFlow Datasets 4.9.10 ({})"
_DOGS = "http://vision.stanford.edu/aditya86/ImageNetDogs/"
_FLOWERS = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
_CARS_NOTE = _TFDS.format("url_checksums/cars196.txt") + " for the original files"
_BREAKHIS_FILE = "none published (the archive's address comes by mail after a request form); recorded at first use"
DOWNLOADS: dict[str, tuple[Download, ...]] = {
    "cifar10": (Download("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "cifar-10-python.tar.gz",
                         md5="c58f30108f718f92721af3b95e74349a", checksum_from="torchvision 0.29 (CIFAR10.tgz_md5)"),),
    "cifar100": (Download("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "cifar-100-python.tar.gz",
                          md5="eb9058c3a382ffc7106e4002c42a8d85",
                          checksum_from="torchvision 0.29 (CIFAR100.tgz_md5)"),),
    "tiny_imagenet": (Download("http://cs231n.stanford.edu/tiny-imagenet-200.zip", "tiny-imagenet-200.zip",
                               checksum_from="none published (the CS231n page gives only the address; torchvision "
                                             "and TensorFlow Datasets do not ship it); recorded at first use"),),
    "stanford_dogs": (
        Download(_DOGS + "images.tar", "images.tar", size=793_579_520,
                 sha256="a443fc2f9a851aa1a7b8e4fa4af94b8459fce2c9f5a2f4dd4669cf9673a4ec58",
                 checksum_from=_TFDS.format("stanford_dogs/checksums.tsv")),
        Download(_DOGS + "lists.tar", "lists.tar", size=481_280,
                 sha256="34b47cacd9a98b5d150e084f24d29391c084c55272295ec65c85651bc35f4d6c",
                 checksum_from=_TFDS.format("stanford_dogs/checksums.tsv"))),
    "flowers102": (
        Download(_FLOWERS + "102flowers.tgz", "102flowers.tgz", md5="52808999861908f626f3c1f4e79d11fa",
                 sha256="2d01ecc807db462958cfe3d92f57a8c252b4abd240eb955770201e45f783b246", size=344_862_509,
                 checksum_from=_TV.format("Flowers102._file_dict", "oxford_flowers102/checksums.tsv")),
        Download(_FLOWERS + "imagelabels.mat", "imagelabels.mat", md5="e0620be6f572b9609742df49c70aed4d",
                 sha256="4903e94206bac23bf772aadf06451916df56b58fc483a62db32a97b82656651d", size=502, unpack=False,
                 checksum_from=_TV.format("Flowers102._file_dict", "oxford_flowers102/checksums.tsv")),
        Download(_FLOWERS + "setid.mat", "setid.mat", md5="a5357ecc9cb78c4bef273ce3793fc85c",
                 sha256="46b8678f91fd95d3c8f4feab80d271a6c834a1dd896fe29fd3e6ad9ce5c8dccd", size=14_989, unpack=False,
                 checksum_from=_TV.format("Flowers102._file_dict", "oxford_flowers102/checksums.tsv"))),
    "cub200": (Download("https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz?download=1",
                        "CUB_200_2011.tgz", size=1_150_585_339,
                        sha256="0c685df5597a8b24909f6a7c9db6d11e008733779a671760afef78feb49bf081",
                        checksum_from=_TFDS.format("url_checksums/caltech_birds2011.txt")),),
    "stanford_cars": (
        Download("https://ai.stanford.edu/~jkrause/cars/car_devkit.tgz", "car_devkit.tgz", size=330_960,
                 sha256="b97deb463af7d58b6bfaa18b2a4de9829f0f79e8ce663dfa9261bf7810e9accd", checksum_from=_CARS_NOTE),
        Download("http://ai.stanford.edu/~jkrause/car196/cars_train.tgz", "cars_train.tgz", size=979_269_282,
                 sha256="512b227b30e2f0a8aab9e09485786ab4479582073a144998da74d64b801fd288", checksum_from=_CARS_NOTE),
        Download("http://ai.stanford.edu/~jkrause/car196/cars_test.tgz", "cars_test.tgz", size=977_350_468,
                 sha256="bffea656d6f425cba3c91c6d83336e4c5f86c6cffd8975b0f375d3a10da8e243", checksum_from=_CARS_NOTE),
        Download("http://ai.stanford.edu/~jkrause/car196/cars_test_annos_withlabels.mat",
                 "cars_test_annos_withlabels.mat", size=185_758, unpack=False,
                 sha256="790f75be8ea34eeded134cc559332baf23e30e91367e9ddca97d26ed9b895f05", checksum_from=_CARS_NOTE)),
    "food101": (Download("http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz", "food-101.tar.gz",
                         md5="85eeb15f3717b99a5da872d97d918f87", size=4_996_278_331,
                         sha256="d97d15e438b7f4498f96086a4f7e2fa42a32f2712e87d3295441b2b6314053a4",
                         checksum_from=_TV.format("Food101._MD5", "url_checksums/food101.txt")),),
    "dtd": (Download("https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz", "dtd-r1.0.1.tar.gz",
                     md5="fff73e5086ae6bdbea199a49dfb8a4c1", size=625_239_812,
                     sha256="e42855a52a4950a3b59612834602aa253914755c95b0cff9ead6d07395f8e205",
                     checksum_from=_TV.format("DTD._MD5", "url_checksums/dtd.txt")),),
    "neu": (Download("http://faculty.neu.edu.cn/songkechen/zh_CN/zdylm/263270/list/index.htm", "NEU-CLS.zip",
                     members=("*.bmp", "*.BMP"), flatten=True,
                     checksum_from="none published (the page links to a cloud drive); recorded at first use"),),
    "ucmerced": (Download("http://weegee.vision.ucmerced.edu/datasets/UCMerced_LandUse.zip", "UCMerced_LandUse.zip",
                          size=332_468_434, sha256="06c539ef28703a58fb07bd2837991ac7c48b813b00bb12ac197efd813a18daeb",
                          checksum_from=_TFDS.format("url_checksums/uc_merced.txt")),),
    "eurosat": (Download("https://huggingface.co/datasets/torchgeo/eurosat/resolve/"
                         "c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip", "EuroSAT.zip",
                         md5="c8fa014336c82ac7804f0398fcb19387",
                         checksum_from="torchvision 0.29 (EuroSAT.download: its mirror, which unpacks to 2750/)"),),
    "plantvillage": (Download("https://data.mendeley.com/public-files/datasets/tywbtsjrjv/files/"
                              "d5652a28-c1d8-4b76-97f3-72fb80f94efc/file_downloaded",
                              "Plant_leaf_diseases_dataset_without_augmentation.zip", size=868_032_562,
                              sha256="ac3432453984d02a86197987e775a5429d0d59e7cc7c35bcf5a8f50349b90ff0",
                              checksum_from=_TFDS.format("plant_village/checksums.tsv")),),
    "plantclef": (Download("https://www.aicrowd.com/challenges/lifeclef-2021-plant", "plantclef_subset.zip",
                           checksum_from="none possible (each reader builds the 20-species subset from the "
                                         "challenge's files); your archive's sha256 is recorded at first use "
                                         "(a folder: counts only)"),),
    "galaxy10": (Download("https://zenodo.org/records/10845026/files/Galaxy10_DECals.h5", "Galaxy10_DECals.h5",
                          sha256="19aefc477c41bb7f77ff07599a6b82a038dc042f889a111b0d4d98bb755c1571", unpack=False,
                          checksum_from="astroNN 1.1.0 (astroNN.datasets.galaxy10.load_data), the dataset "
                                        "author's loader"),),
    **{f"breakhis_{mag}x": (Download("https://web.inf.ufpr.br/vri/databases/breast-cancer-histopathological-"
                                     "database-breakhis/", "BreaKHis_v1.tar.gz", members=(f"*/{mag}X/*",),
                                     checksum_from=_BREAKHIS_FILE),)
       for mag in (40, 100, 200, 400)},
    "rsna": (Download("https://www.kaggle.com/competitions/rsna-pneumonia-detection-challenge/data",
                      "rsna-pneumonia-detection-challenge.zip",
                      members=("stage_2_train_labels.csv", "stage_2_train_images/*"),
                      checksum_from="none published (Kaggle gives no checksum); recorded at first use"),),
}
"""Dataset name -> the files `python -m lib.fetch` gets for it (digits: none, it ships with scikit-learn)."""

_BREAKHIS_STEPS = (
    "1. Fill in the request form on https://web.inf.ufpr.br/vri/databases/breast-cancer-histopathological-"
    "database-breakhis/ (the authors mail a download address). 2. Download BreaKHis_v1.tar.gz from it. "
    "3. python -m lib.fetch breakhis --from BreaKHis_v1.tar.gz (one archive gives all four magnifications).")
ACCESS: dict[str, str] = {
    "stanford_cars": (
        "The publisher's site is offline. 1. Get the four original files car_devkit.tgz, cars_train.tgz, "
        "cars_test.tgz and cars_test_annos_withlabels.mat into one folder (from a colleague or a mirror: each is "
        "checked against the sha256 TensorFlow Datasets published for the original). 2. python -m lib.fetch "
        "stanford_cars --from THAT_FOLDER (or serve them at $WB_MIRROR/stanford_cars/<file>)."),
    "neu": (
        "1. Open http://faculty.neu.edu.cn/songkechen/zh_CN/zdylm/263270/list/index.htm and download NEU-CLS (the "
        "1,800 .bmp images of six defects) from the cloud drive it links to. 2. If it is a .rar, unpack it. "
        "3. python -m lib.fetch neu --from THE_ZIP_OR_FOLDER (the .bmp files are gathered wherever they lie)."),
    "plantclef": (
        "1. Sign in on AIcrowd, accept the rules of https://www.aicrowd.com/challenges/lifeclef-2021-plant and "
        "download its training images and metadata. 2. Take the 20 species with the most images (ties: the "
        "smaller species id) and copy each species' images into <species_id>/ in one folder. "
        "3. python -m lib.fetch plantclef --from THAT_FOLDER (or a .zip/.tar of it)."),
    **{f"breakhis_{mag}x": _BREAKHIS_STEPS for mag in (40, 100, 200, 400)},
    "rsna": (
        "1. Sign in on Kaggle and accept the rules at "
        "https://www.kaggle.com/competitions/rsna-pneumonia-detection-challenge/rules. 2. Download "
        "rsna-pneumonia-detection-challenge.zip: 'Download All' on the competition's Data tab, or Kaggle's CLI "
        "(kaggle competitions download -c rsna-pneumonia-detection-challenge, with your API token in "
        "~/.kaggle/kaggle.json). 3. python -m lib.fetch rsna --from rsna-pneumonia-detection-challenge.zip"),
}
"""Datasets that `python -m lib.fetch` cannot download itself (a login, a request form, an offline site): the
steps, after which ``python -m lib.fetch NAME --from FILE`` verifies and unpacks what the reader downloaded."""

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
    return _REGISTRY[name] if name in _REGISTRY else _reader_spec(*_parse_reader_name(name))


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


def read_source(name: str, root: str | os.PathLike | None = None) -> Source:
    """Read dataset ``name`` from ``<root>/<name>/`` in its native format (index only; images load lazily)."""
    return resolve(name, root).read()


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
    """``("folder", "leaves")`` from ``"folder:leaves"``, with one-line errors for anything else (a name that is
    neither registered nor the reader's)."""
    if not isinstance(name, str) or ":" not in name:
        raise UnknownNameError(f"unknown dataset {name!r}; choose one of: {', '.join(_REGISTRY)}, or "
                               f"folder:<folder> / csv:<file>.csv for your own images under the data root")
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


# ----------------------------------------------------------------------------------------------------------
# A name resolved once: ``lib.data.load`` turns the name into a Resolved at the edge and passes that down.


@dataclass(frozen=True)
class Resolved:
    """A dataset name resolved under a data root (:func:`resolve`): its spec, where its files lie and the name of
    its decoded-image cache."""

    spec: DatasetSpec
    root: Path        # the data root
    location: Path    # what the reader reads: <root>/<name>/, or the reader's own folder or CSV under the root
    folder: Path      # what the file ids are relative to (cache fingerprints, file stamps)
    cache_name: str   # a file-name-safe name for the decoded-image cache

    @property
    def own(self) -> bool:
        """Whether these are the reader's own images (a folder or CSV), not a registered dataset."""
        return self.spec.name not in _REGISTRY

    def read(self) -> Source:
        """The dataset in its native format (index only; images load lazily), after checking that its files are
        where the spec's layout says."""
        s = self.spec
        if self.own:  # the reader's folder or CSV
            return s.reader(self.location, s)
        if s.workshop:  # bundled with a package: no folder needed
            return s.reader(Path(), s)
        layout = formats.layout_line(s)
        if not self.root.is_dir():
            state = "is not a folder" if self.root.exists() else "does not exist"
            raise DataError(f"{s.display}: data root {self.root} {state}; create it, download {s.url} and unpack "
                            f"into {self.location}/ as: {layout} (or pass root=/set WB_DATA to where your data lives)")
        if not self.location.is_dir():
            raise DataError(f"{s.display}: folder {self.location} not found; download {s.url} and unpack it there "
                            f"as: {layout}")
        return s.reader(self.location, s)


def resolve(name: str, root: str | os.PathLike | None = None) -> Resolved:
    """Dataset ``name`` under the data root ``root`` (:func:`lib.paths.data_root`), its name parsed once. The cache
    of the reader's own data is named by its kind, name and a hash of its absolute location (two folders called
    ``leaves`` never share a cache); a registered dataset's by its name."""
    base = paths.data_root(root)
    if name in _REGISTRY:
        return Resolved(_REGISTRY[name], base, base / name, base / name, name)
    kind, entry = _parse_reader_name(name)
    location = base / entry
    digest = hashlib.sha256(os.fsencode(location.absolute())).hexdigest()[:10]     # a folder name need not be UTF-8
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in entry)
    return Resolved(_reader_spec(kind, entry), base, location, location if kind == "folder" else base,
                    f"{kind}-{safe}-{digest}")
