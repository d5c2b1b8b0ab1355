"""One reader per on-disk format: each turns a dataset folder into file ids, labels and a lazy image loader.

A reader never decodes the whole dataset; it reads the index (pickle batches, .mat lists, text lists, CSV,
folder names), checks that every listed file is there, and returns ``load(i)`` that decodes one image to
RGB. Every problem a reader can detect becomes a one-line :class:`~lib.errors.DataError` naming the path.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from lib.data.spec import DatasetSpec, RawSplit, Source
from lib.errors import DataError


# ----------------------------------------------------------------------------------------------------------
# Shared checks and loaders


def layout_line(spec: DatasetSpec) -> str:
    """The spec's layout tree squeezed onto one line, for error messages."""
    return "; ".join(" ".join(line.split()) for line in spec.layout.strip().splitlines())


def missing(spec: DatasetSpec, folder: Path, path: Path, what: str = "") -> DataError:
    """The error for a missing file or folder: which dataset, which path, the expected layout, where to get it."""
    what = f" ({what})" if what else ""
    return DataError(
        f"{spec.display}: {path} not found{what}; expected under {folder}: {layout_line(spec)}; "
        f"download from {spec.url} and unpack it there"
    )


def malformed(spec: DatasetSpec, path: Path, problem: str) -> DataError:
    """The error for a file that is there but does not hold what the format promises."""
    return DataError(f"{spec.display}: {path} is malformed: {problem}; re-extract it from {spec.url}")


def need(spec: DatasetSpec, folder: Path, relative: str, what: str = "") -> Path:
    """``folder / relative``, or a :func:`missing` error when it does not exist."""
    path = folder / relative
    if not path.exists():
        raise missing(spec, folder, path, what)
    return path


def require_listed_files(spec: DatasetSpec, folder: Path, ids: list[str], index: str) -> None:
    """Fail early (not mid-training) when an index file lists images that are not on disk."""
    absent = [i for i in ids if not (folder / i).is_file()]
    if absent:
        raise DataError(
            f"{spec.display}: {folder / absent[0]} not found ({len(absent)} of the {len(ids)} images listed in "
            f"{index} are missing); re-extract the images from {spec.url}"
        )


def check_labels(spec: DatasetSpec, classes: list[str], labels: list[int], where: Path) -> None:
    """The class count must be the paper's, and every label must index a class."""
    if len(classes) != spec.num_classes:
        raise DataError(
            f"{spec.display}: found {len(classes)} classes in {where}, expected {spec.num_classes}; "
            f"check the layout ({layout_line(spec)}) against {spec.url}"
        )
    bad = [y for y in labels if not 0 <= y < len(classes)]
    if bad:
        raise malformed(spec, where, f"label {bad[0]} outside 0..{len(classes) - 1}")


def file_split(spec: DatasetSpec, folder: Path, ids: list[str], labels: list[int]) -> RawSplit:
    """A split whose images are individual files, ids relative to ``folder``."""
    return RawSplit(ids=ids, labels=labels, load=lambda i: open_rgb(folder / ids[i], spec))


def read_lines(path: Path) -> list[str]:
    """Non-empty, stripped lines of a text index file."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def loadmat(spec: DatasetSpec, path: Path, keys: tuple[str, ...]) -> dict:
    """A MATLAB file as scipy reads it (squeezed), with the keys the format needs checked."""
    from scipy.io import loadmat as scipy_loadmat

    try:
        content = scipy_loadmat(path, squeeze_me=True)
    except Exception as err:  # scipy raises several unrelated types for a damaged file
        raise malformed(spec, path, f"not a readable MATLAB file ({type(err).__name__})") from None
    absent = [k for k in keys if k not in content]
    if absent:
        raise malformed(spec, path, f"no variable {absent[0]!r} (expected {', '.join(keys)})")
    return content


def image_folder(spec: DatasetSpec, folder: Path, relative: str = "") -> tuple[list[str], list[str], list[int]]:
    """Class-per-subfolder images, as torchvision's ImageFolder sees them: (classes, ids, labels)."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    base = need(spec, folder, relative, "the class folders") if relative else folder
    try:
        classes, class_to_idx = find_classes(base)
        samples = make_dataset(base, class_to_idx, extensions=IMG_EXTENSIONS)
    except FileNotFoundError as err:
        raise DataError(
            f"{spec.display}: {base} does not hold class folders of images ({err}); expected under {folder}: "
            f"{layout_line(spec)}"
        ) from None
    ids = [Path(path).relative_to(folder).as_posix() for path, _ in samples]
    labels = [label for _, label in samples]
    check_labels(spec, classes, labels, base)
    return classes, ids, labels


# ----------------------------------------------------------------------------------------------------------
# Decoding: every image to the 8-bit RGB pixels an image viewer shows


WHITE = (255, 255, 255)
"""Transparent pixels are shown on white, as a viewer on a white page shows them (not the colour hidden under
alpha 0, which is often black and differs from tool to tool)."""

HOW_TO_CONVERT = "save it as 8- or 16-bit integer PNG or TIFF, or as JPEG"

WIDE_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535}
"""Pillow's one-channel integer modes wider than 8 bits and the value shown as white: 16-bit PNG, TIFF and
PGM (Pillow already stretches a PGM's own maximum to 65535). Pillow itself reduces 16-bit colour files
(RGB, RGBA, grey+alpha) to their high byte, which is this scaling to within one level."""


def _bits_per_sample(image: Image.Image) -> int | None:
    tags = getattr(image, "tag_v2", None)   # TIFF only
    bits = tags.get(258) if tags is not None else None
    return int(bits[0] if isinstance(bits, tuple) else bits) if bits else None


def viewer_rgb(image: Image.Image, orient: bool = False) -> Image.Image:
    """``image`` as 8-bit RGB, as a viewer shows it; a ValueError (one line, with how to convert) for pixels
    that have no agreed way to be shown.

    - 16-bit grey (PNG, TIFF, PGM): 0..65535 scaled to 0..255 (the file's bit depth is its range, as in a
      viewer; a 12-bit image stored in 16 bits looks dark there too);
    - float grey (TIFF): 0.0..1.0 scaled to 0..255; values outside 0..1, NaN or infinity are refused, since
      viewers disagree on them (float colour TIFFs Pillow cannot open at all);
    - 32-bit integer TIFF and CIELab: refused;
    - palette, CMYK, 1-bit, grey: Pillow's conversion to RGB; alpha: composited on :data:`WHITE`;
    - ``orient``: turn the image as its EXIF orientation tag says (a phone photo taken upright), as viewers do
      and torchvision's loaders do not. Embedded colour profiles are not applied (nor by torchvision).
    """
    bits = _bits_per_sample(image)   # read before turning: the turned copy has no TIFF tags
    if orient:
        image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in WIDE_MODES:
        if mode == "I" and bits == 32:
            raise ValueError(f"32-bit integer pixels have no agreed range to show; {HOW_TO_CONVERT}")
        pixels = np.asarray(image, dtype=np.float64)
        if pixels.size and (pixels.min() < 0 or pixels.max() > WIDE_MODES[mode]):
            raise ValueError(f"integer pixels span {pixels.min():g}..{pixels.max():g}, outside 0..65535; "
                             f"{HOW_TO_CONVERT}")
        image = Image.fromarray(np.rint(pixels * (255.0 / WIDE_MODES[mode])).astype(np.uint8), "L")
    elif mode == "F":
        pixels = np.asarray(image, dtype=np.float64)
        if not np.isfinite(pixels).all():
            raise ValueError(f"float pixels include NaN or infinity; replace them, then {HOW_TO_CONVERT}")
        if pixels.size and (pixels.min() < 0 or pixels.max() > 1):
            raise ValueError(f"float pixels span {pixels.min():.4g}..{pixels.max():.4g}, outside 0..1 (black..white); "
                             f"rescale them to 0..1, or {HOW_TO_CONVERT}")
        image = Image.fromarray(np.rint(pixels * 255.0).astype(np.uint8), "L")
    elif mode == "LAB":
        raise ValueError(f"CIELab pixels are not converted here; {HOW_TO_CONVERT} in RGB")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (*WHITE, 255)), rgba)
    return image.convert("RGB")


def decode_file(path: Path, orient: bool = False) -> tuple[Image.Image, str]:
    """The file at ``path`` as :func:`viewer_rgb` shows it, and the file's own Pillow mode. Raises what Pillow
    raises for a damaged file, and ValueError for refused pixels."""
    with Image.open(path) as image:
        image.load()
        return viewer_rgb(image, orient), image.mode


DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
"""What decoding a damaged, foreign or refused file raises (FileNotFoundError is an OSError: check it first)."""


def reason(err: BaseException) -> str:
    """The first line of a decoder's complaint, for an error message."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def open_rgb(path: Path, spec: DatasetSpec) -> Image.Image:
    """Decode one image file of a registered dataset to RGB (:func:`viewer_rgb`, without EXIF orientation, as
    torchvision's loaders read the paper's datasets), turning any decoder failure into a DataError naming it."""
    try:
        return decode_file(path)[0]
    except FileNotFoundError:
        raise DataError(f"{spec.display}: image {path} not found; re-extract it from {spec.url}") from None
    except DECODE_ERRORS as err:
        raise DataError(
            f"{spec.display}: cannot decode image {path} ({reason(err)}); replace the file with a fresh copy from "
            f"{spec.url}"
        ) from None


# ----------------------------------------------------------------------------------------------------------
# Natural images


def _cifar_batches(spec, folder, base, files, label_key, meta_file, names_key) -> Source:
    """CIFAR python batches: pickled dicts with ``data`` (N x 3072 uint8, channel-major) and labels."""
    meta_path = need(spec, folder, f"{base}/{meta_file}", "class names")
    classes = list(_unpickle(spec, meta_path)[names_key])

    def split(names: list[str]) -> RawSplit:
        ids, labels, arrays = [], [], []
        for name in names:
            path = need(spec, folder, f"{base}/{name}")
            batch = _unpickle(spec, path)
            if "data" not in batch or label_key not in batch:
                raise malformed(spec, path, f"no 'data' or {label_key!r} entry")
            data = np.asarray(batch["data"], dtype=np.uint8)
            if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(batch[label_key]) != len(data):
                raise malformed(spec, path, f"'data' has shape {data.shape}, expected (N, 3072) with N labels")
            arrays.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            ids += [f"{base}/{name}#{i}" for i in range(len(data))]
            labels += [int(y) for y in batch[label_key]]
        pixels = np.concatenate(arrays)
        return RawSplit(ids=ids, labels=labels, load=lambda i: Image.fromarray(pixels[i], "RGB"))

    train, test = split(files[0]), split(files[1])
    check_labels(spec, classes, train.labels + test.labels, folder / base)
    return Source(classes=classes, train=train, test=test)


def _unpickle(spec: DatasetSpec, path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle, encoding="latin1")  # the batches were pickled by Python 2
    except Exception as err:  # unpickling a damaged file raises many unrelated types
        raise malformed(spec, path, f"not a CIFAR python batch ({type(err).__name__})") from None


def read_cifar10(folder: Path, spec: DatasetSpec) -> Source:
    """``cifar-10-batches-py/``: data_batch_1..5 (train), test_batch, batches.meta (the spec's ``lists``)."""
    lists = spec.split_lists
    return _cifar_batches(spec, folder, "cifar-10-batches-py", (lists["train"], lists["test"]), "labels",
                          "batches.meta", "label_names")


def read_cifar100(folder: Path, spec: DatasetSpec) -> Source:
    """``cifar-100-python/``: train, test, meta; the 100 fine labels."""
    lists = spec.split_lists
    return _cifar_batches(spec, folder, "cifar-100-python", (lists["train"], lists["test"]), "fine_labels",
                          "meta", "fine_label_names")


def read_tiny_imagenet(folder: Path, spec: DatasetSpec) -> Source:
    """``tiny-imagenet-200/``: the labelled val set (50 per class) is the test split; test/ has no labels."""
    base = "tiny-imagenet-200"
    wnids = sorted(read_lines(need(spec, folder, f"{base}/wnids.txt", "the 200 class ids")))
    words = {}
    for line in read_lines(need(spec, folder, f"{base}/words.txt", "class names")):
        wnid, _, text = line.partition("\t")
        words[wnid] = text.split(",")[0].strip()
    classes = [words.get(w, w) for w in wnids]
    if len(set(classes)) != len(classes):  # fall back to ids where two classes share a first name
        classes = [f"{w} {words.get(w, '')}".strip() for w in wnids]
    index = {w: k for k, w in enumerate(wnids)}

    train_ids, train_labels = [], []
    for wnid in wnids:
        images = need(spec, folder, f"{base}/train/{wnid}/images")
        names = sorted(p.name for p in images.iterdir() if p.suffix.lower() == ".jpeg")
        train_ids += [f"{base}/train/{wnid}/images/{n}" for n in names]
        train_labels += [index[wnid]] * len(names)

    annotations = need(spec, folder, f"{base}/val/val_annotations.txt", "labels of the val images")
    test_ids, test_labels = [], []
    for line in read_lines(annotations):
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in index:
            raise malformed(spec, annotations, f"line {line!r} has no known class id in its second column")
        test_ids.append(f"{base}/val/images/{fields[0]}")
        test_labels.append(index[fields[1]])
    require_listed_files(spec, folder, test_ids, annotations.name)
    check_labels(spec, classes, train_labels, folder / base)
    return Source(classes, file_split(spec, folder, train_ids, train_labels),
                  file_split(spec, folder, test_ids, test_labels))


def read_stanford_dogs(folder: Path, spec: DatasetSpec) -> Source:
    """``Images/<wnid>-<breed>/`` with ``train_list.mat`` and ``test_list.mat`` (1-based labels).

    ``lists.tar`` unpacks its .mat files without a folder; a ``lists/`` folder (a common way to keep them apart)
    is read too."""
    images = need(spec, folder, "Images", "one folder per breed")
    breeds = sorted(p.name for p in images.iterdir() if p.is_dir())
    classes = [b.split("-", 1)[-1].replace("_", " ") for b in breeds]

    def split(list_name: str) -> RawSplit:
        here = "" if (folder / list_name).exists() or not (folder / "lists").is_dir() else "lists/"
        path = need(spec, folder, f"{here}{list_name}", "extract lists.tar into the dataset folder")
        content = loadmat(spec, path, ("file_list", "labels"))
        files = [str(f) for f in np.atleast_1d(content["file_list"])]
        labels = [int(y) - 1 for y in np.atleast_1d(content["labels"])]
        if len(files) != len(labels):
            raise malformed(spec, path, f"{len(files)} files but {len(labels)} labels")
        for file, label in zip(files, labels):  # the label must agree with the breed folder
            if not 0 <= label < len(breeds) or file.split("/")[0] != breeds[label]:
                raise malformed(spec, path, f"{file!r} has label {label + 1}, not its folder's class")
        ids = [f"Images/{f}" for f in files]
        require_listed_files(spec, folder, ids, path.name)
        return file_split(spec, folder, ids, labels)

    (train_list,), (test_list,) = spec.split_lists["train"], spec.split_lists["test"]
    train, test = split(train_list), split(test_list)
    check_labels(spec, classes, train.labels, images)
    return Source(classes, train, test)


def read_flowers102(folder: Path, spec: DatasetSpec) -> Source:
    """``jpg/image_NNNNN.jpg``, ``imagelabels.mat`` (1-based), ``setid.mat``; train = trnid + valid."""
    from torchvision.datasets import Flowers102

    labels_path = need(spec, folder, "imagelabels.mat", "one label per image")
    setid_path = need(spec, folder, "setid.mat", "the train/val/test image numbers")
    need(spec, folder, "jpg", "the 8,189 images")
    label_of = np.atleast_1d(loadmat(spec, labels_path, ("labels",))["labels"]).astype(int) - 1
    sets = loadmat(spec, setid_path, ("trnid", "valid", "tstid"))

    def split(keys: tuple[str, ...]) -> RawSplit:
        numbers = [int(n) for key in keys for n in np.atleast_1d(sets[key])]
        if any(not 1 <= n <= len(label_of) for n in numbers):
            raise malformed(spec, setid_path, f"image numbers outside 1..{len(label_of)} of imagelabels.mat")
        ids = [f"jpg/image_{n:05d}.jpg" for n in numbers]
        require_listed_files(spec, folder, ids, setid_path.name)
        return file_split(spec, folder, ids, [int(label_of[n - 1]) for n in numbers])

    # The paper's 2,040 training images are the official train (1,020) plus val (1,020) sets (the spec's lists).
    train, test = split(spec.split_lists["train"]), split(spec.split_lists["test"])
    classes = list(Flowers102.classes)  # torchvision's names, in label order
    check_labels(spec, classes, train.labels + test.labels, labels_path)
    return Source(classes, train, test)


def read_cub200(folder: Path, spec: DatasetSpec) -> Source:
    """``CUB_200_2011/``: images.txt, image_class_labels.txt, train_test_split.txt, classes.txt, images/."""
    base = "CUB_200_2011"

    def table(name: str, what: str) -> dict[str, str]:
        path = need(spec, folder, f"{base}/{name}", what)
        rows = [line.split(" ", 1) for line in read_lines(path)]
        if any(len(row) != 2 for row in rows):
            raise malformed(spec, path, "expected '<id> <value>' on every line")
        return dict(rows)

    class_names = table("classes.txt", "class names")
    paths = table("images.txt", "image paths")
    label_of = table("image_class_labels.txt", "image labels")
    is_train = table("train_test_split.txt", "the official split")
    class_ids = sorted(class_names, key=int)
    classes = [class_names[c].split(".", 1)[-1].replace("_", " ") for c in class_ids]
    index = {c: k for k, c in enumerate(class_ids)}
    unlabelled = [i for i in paths if i not in label_of or i not in is_train or label_of[i] not in index]
    if unlabelled:
        raise malformed(spec, folder / base / "image_class_labels.txt",
                        f"image id {unlabelled[0]} has no class or split entry")

    def split(flag: str) -> RawSplit:
        chosen = sorted((i for i in paths if is_train[i] == flag), key=int)
        ids = [f"{base}/images/{paths[i]}" for i in chosen]
        require_listed_files(spec, folder, ids, "images.txt")
        return file_split(spec, folder, ids, [index[label_of[i]] for i in chosen])

    train, test = split("1"), split("0")
    check_labels(spec, classes, train.labels + test.labels, folder / base)
    return Source(classes, train, test)


def read_stanford_cars(folder: Path, spec: DatasetSpec) -> Source:
    """torchvision's StanfordCars layout: devkit/ .mat files, cars_train/, cars_test/ + labelled test annos."""
    meta = need(spec, folder, "devkit/cars_meta.mat", "class names")
    classes = [str(c) for c in np.atleast_1d(loadmat(spec, meta, ("class_names",))["class_names"])]

    def split(annos: str, images: str) -> RawSplit:
        path = need(spec, folder, annos)
        need(spec, folder, images)
        records = np.atleast_1d(loadmat(spec, path, ("annotations",))["annotations"])
        if records.dtype.names is None or not {"fname", "class"} <= set(records.dtype.names):
            raise malformed(spec, path, "'annotations' is not a struct array with 'fname' and 'class' fields")
        ids = [f"{images}/{r['fname']}" for r in records]
        require_listed_files(spec, folder, ids, path.name)
        return file_split(spec, folder, ids, [int(r["class"]) - 1 for r in records])

    train = split("devkit/cars_train_annos.mat", "cars_train")
    test = split("cars_test_annos_withlabels.mat", "cars_test")
    check_labels(spec, classes, train.labels + test.labels, meta)
    return Source(classes, train, test)


def read_food101(folder: Path, spec: DatasetSpec) -> Source:
    """``food-101/meta/{train,test}.json`` ({class: ["class/id", ...]}) and ``food-101/images/``."""
    base = "food-101"
    need(spec, folder, f"{base}/images")

    def listing(name: str) -> dict[str, list[str]]:
        path = need(spec, folder, f"{base}/meta/{name}", "the official split")
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise malformed(spec, path, f"not JSON ({err.__class__.__name__})") from None
        if not isinstance(content, dict):
            raise malformed(spec, path, "expected an object mapping class name to image list")
        return content

    (train_list,), (test_list,) = spec.split_lists["train"], spec.split_lists["test"]
    train_map, test_map = listing(train_list), listing(test_list)
    classes = sorted(train_map)  # torchvision's order

    def split(content: dict[str, list[str]], name: str) -> RawSplit:
        index = {c: k for k, c in enumerate(classes)}
        unknown = [c for c in content if c not in index]
        if unknown:
            raise malformed(spec, folder / base / "meta" / name, f"class {unknown[0]!r} is not in train.json")
        pairs = [(f"{base}/images/{rel}.jpg", index[c]) for c in sorted(content) for rel in content[c]]
        ids = [p for p, _ in pairs]
        require_listed_files(spec, folder, ids, name)
        return file_split(spec, folder, ids, [y for _, y in pairs])

    train, test = split(train_map, train_list), split(test_map, test_list)
    check_labels(spec, classes, train.labels, folder / base / "meta")
    return Source(classes, train, test)


# ----------------------------------------------------------------------------------------------------------
# Texture, surface defects, remote sensing, plants


def read_dtd(folder: Path, spec: DatasetSpec) -> Source:
    """``dtd/images/<class>/``, ``dtd/labels/{train,val,test}1.txt``; train = train1, val = val1, test = test1
    (the spec's ``lists``)."""
    composition = spec.split_lists
    lists = {}
    for part in dict.fromkeys(p for parts in composition.values() for p in parts):
        path = need(spec, folder, f"dtd/labels/{part}.txt", "split 1 of the official ten")
        lists[part] = read_lines(path)
        if any(line.count("/") != 1 for line in lists[part]):
            raise malformed(spec, path, "expected '<class>/<file>.jpg' on every line")
    classes = sorted({line.split("/")[0] for lines in lists.values() for line in lines})
    index = {c: k for k, c in enumerate(classes)}

    def split(parts: tuple[str, ...]) -> RawSplit:
        lines = [line for part in parts for line in lists[part]]
        ids = [f"dtd/images/{line}" for line in lines]
        require_listed_files(spec, folder, ids, f"dtd/labels/{'+'.join(parts)}.txt")
        return file_split(spec, folder, ids, [index[line.split("/")[0]] for line in lines])

    train, val, test = (split(composition[k]) for k in ("train", "val", "test"))
    check_labels(spec, classes, train.labels + val.labels + test.labels, folder / "dtd" / "labels")
    return Source(classes, train, test, val)


NEU_CLASSES = {"Cr": "crazing", "In": "inclusion", "Pa": "patches", "PS": "pitted surface",
               "RS": "rolled-in scale", "Sc": "scratches"}


def read_neu(folder: Path, spec: DatasetSpec) -> Source:
    """NEU-CLS: 1,800 greyscale .bmp files in one folder, the class in the name prefix (``Cr_1.bmp``)."""
    prefixes = list(NEU_CLASSES)
    files = sorted(p.name for p in folder.iterdir() if p.suffix.lower() == ".bmp")
    if not files:
        raise missing(spec, folder, folder / "Cr_1.bmp", "no .bmp files at all")
    unknown = [f for f in files if f.rsplit("_", 1)[0] not in NEU_CLASSES]
    if unknown:
        raise malformed(spec, folder / unknown[0], f"name prefix is not one of {', '.join(prefixes)}")
    labels = [prefixes.index(f.rsplit("_", 1)[0]) for f in files]
    classes = list(NEU_CLASSES.values())
    check_labels(spec, classes, labels, folder)
    absent = sorted(set(prefixes) - {f.rsplit("_", 1)[0] for f in files})
    if absent:
        raise missing(spec, folder, folder / f"{absent[0]}_1.bmp", "a whole class is absent")
    return Source(classes, file_split(spec, folder, files, labels), None)


def read_ucmerced(folder: Path, spec: DatasetSpec) -> Source:
    """``UCMerced_LandUse/Images/<class>/<class>NN.tif``: 21 classes x 100 images, no official split."""
    classes, ids, labels = image_folder(spec, folder, "UCMerced_LandUse/Images")
    return Source(classes, file_split(spec, folder, ids, labels), None)


EUROSAT_FOLDERS = {"EuroSAT_RGB": "the publisher's EuroSAT_RGB.zip (Zenodo)",
                   "2750": "torchvision's mirror EuroSAT.zip"}
"""The folder EuroSAT's class folders sit in, by where the archive came from; the images are the same."""


def read_eurosat(folder: Path, spec: DatasetSpec) -> Source:
    """EuroSAT RGB, ``EuroSAT_RGB/<class>/`` (the publisher's zip) or ``2750/<class>/`` (torchvision's mirror);
    no official split. File ids keep the folder name, so the two layouts have different manifests."""
    present = [name for name in EUROSAT_FOLDERS if (folder / name).is_dir()]
    if len(present) > 1:
        raise DataError(f"{spec.display}: both {folder / present[0]} and {folder / present[1]} exist; keep one "
                        f"copy of the images ({'; '.join(f'{k}/ is {v}' for k, v in EUROSAT_FOLDERS.items())})")
    classes, ids, labels = image_folder(spec, folder, present[0] if present else next(iter(EUROSAT_FOLDERS)))
    return Source(classes, file_split(spec, folder, ids, labels), None)


def read_class_folders(folder: Path, spec: DatasetSpec) -> Source:
    """An ImageFolder whose class folders sit in the dataset folder (PlantVillage, PlantCLEF subset), or in the
    one top folder an archive unpacks to (PlantVillage's Mendeley zip)."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
    wrapper = entries[0].name if len(entries) == 1 and entries[0].is_dir() else ""
    classes, ids, labels = image_folder(spec, folder, wrapper)
    return Source(classes, file_split(spec, folder, ids, labels), None)


# ----------------------------------------------------------------------------------------------------------
# Astronomy and medical


GALAXY10_CLASSES = ["Disturbed", "Merging", "Round Smooth", "In-between Round Smooth", "Cigar Shaped Smooth",
                    "Barred Spiral", "Unbarred Tight Spiral", "Unbarred Loose Spiral", "Edge-on without Bulge",
                    "Edge-on with Bulge"]


def read_galaxy10(folder: Path, spec: DatasetSpec) -> Source:
    """``Galaxy10_DECals.h5``: 'images' N x 256 x 256 x 3 uint8 and 'ans' N labels; no official split."""
    import h5py

    path = need(spec, folder, "Galaxy10_DECals.h5")
    try:
        with h5py.File(path, "r") as h5:
            if "images" not in h5 or "ans" not in h5:
                raise malformed(spec, path, f"datasets {sorted(h5)} lack 'images' or 'ans'")
            shape, labels = h5["images"].shape, [int(y) for y in h5["ans"][()]]
    except OSError as err:
        raise malformed(spec, path, f"not a readable HDF5 file ({str(err).splitlines()[0]})") from None
    if len(shape) != 4 or shape[3] != 3 or shape[0] != len(labels):
        raise malformed(spec, path, f"'images' has shape {shape}, expected (N, H, W, 3) for N={len(labels)}")
    check_labels(spec, GALAXY10_CLASSES, labels, path)

    def load(i: int) -> Image.Image:
        try:
            with h5py.File(path, "r") as h5:
                pixels = np.asarray(h5["images"][i], dtype=np.uint8)
        except (OSError, KeyError) as err:
            raise DataError(f"{spec.display}: cannot read image {i} of {path} ({err}); re-download it from "
                            f"{spec.url}") from None
        return Image.fromarray(pixels, "RGB")

    ids = [f"{path.name}#{i}" for i in range(len(labels))]
    return Source(list(GALAXY10_CLASSES), RawSplit(ids, labels, load), None)


BREAKHIS_ROOT = "BreaKHis_v1/histology_slides/breast"


def read_breakhis(folder: Path, spec: DatasetSpec) -> Source:
    """BreaKHis at one magnification, split 70/30 by patient (the same patients at every magnification)."""
    base = need(spec, folder, BREAKHIS_ROOT)
    magnification = spec.name.rsplit("_", 1)[-1].upper()  # "40X"
    classes = ["benign", "malignant"]
    images: dict[str, list[tuple[str, int]]] = {}  # patient -> [(id, label)]
    patient_class: dict[str, int] = {}
    for label, kind in enumerate(classes):
        for patient_dir in sorted(need(spec, folder, f"{BREAKHIS_ROOT}/{kind}/SOB").glob("*/*")):
            if not patient_dir.is_dir():
                continue
            patient = patient_dir.name.rsplit("_", 1)[-1]  # SOB_B_A_14-22549AB -> 14-22549AB
            patient_class[patient] = label
            for png in sorted((patient_dir / magnification).glob("*.png")):
                images.setdefault(patient, []).append((png.relative_to(folder).as_posix(), label))
    if not images:
        raise missing(spec, folder, base / "benign/SOB/<type>/<patient>" / magnification, "no .png files")

    test_patients = breakhis_test_patients(patient_class, spec.test_ratio)
    train = [(p, item) for p in sorted(images) if p not in test_patients for item in images[p]]
    test = [(p, item) for p in sorted(images) if p in test_patients for item in images[p]]
    check_labels(spec, classes, [y for _, (_, y) in train + test], base)

    def split(items: list[tuple[str, tuple[str, int]]]) -> RawSplit:
        raw = file_split(spec, folder, [i for _, (i, _) in items], [y for _, (_, y) in items])
        raw.groups = [p for p, _ in items]  # validation is then carved by patient too
        return raw

    return Source(classes, split(train), split(test))


def breakhis_test_patients(patient_class: dict[str, int], ratio: float, seed: int = 0) -> set[str]:
    """A seeded, class-stratified choice of ``ratio`` of the patients (at least one per class when possible)."""
    rng = np.random.default_rng(seed)
    chosen: set[str] = set()
    for label in sorted(set(patient_class.values())):
        patients = sorted(p for p, y in patient_class.items() if y == label)
        count = min(len(patients) - 1, max(1, round(ratio * len(patients)))) if len(patients) > 1 else 0
        chosen.update(rng.permutation(patients)[:count].tolist())
    return chosen


RSNA_COLUMNS = ["patientId", "x", "y", "width", "height", "Target"]


def read_rsna(folder: Path, spec: DatasetSpec) -> Source:
    """``stage_2_train_labels.csv`` (one row per box) + ``stage_2_train_images/<patientId>.dcm``."""
    path = need(spec, folder, "stage_2_train_labels.csv", "the labels")
    need(spec, folder, "stage_2_train_images", "the DICOM files")
    target: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not set(RSNA_COLUMNS) <= set(reader.fieldnames):
            raise malformed(spec, path, f"columns {reader.fieldnames}, expected {','.join(RSNA_COLUMNS)}")
        for row in reader:
            if row["Target"] not in ("0", "1"):
                raise malformed(spec, path, f"Target {row['Target']!r} for {row['patientId']} is not 0 or 1")
            # A patient with several boxes has several rows: the image is positive if any row is.
            target[row["patientId"]] = max(target.get(row["patientId"], 0), int(row["Target"]))
    patients = sorted(target)
    ids = [f"stage_2_train_images/{p}.dcm" for p in patients]
    labels = [target[p] for p in patients]
    require_listed_files(spec, folder, ids, path.name)
    classes = ["no pneumonia", "pneumonia"]  # Target 0 includes abnormal films without lung opacity
    check_labels(spec, classes, labels, path)
    return Source(classes, RawSplit(ids, labels, lambda i: dicom_rgb(folder / ids[i], spec)), None)


def dicom_rgb(path: Path, spec: DatasetSpec) -> Image.Image:
    """A greyscale DICOM radiograph as an 8-bit RGB image (MONOCHROME1 inverted, other depths rescaled)."""
    import pydicom

    try:
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array
    except Exception as err:  # pydicom raises many types for a damaged or non-image file
        raise DataError(f"{spec.display}: cannot read DICOM {path} ({type(err).__name__}: "
                        f"{str(err).splitlines()[0] if str(err) else ''}); replace it from {spec.url}") from None
    if pixels.ndim != 2:
        raise DataError(f"{spec.display}: DICOM {path} has pixel shape {pixels.shape}, expected one greyscale "
                        f"frame; replace it from {spec.url}")
    if pixels.dtype != np.uint8:
        low, high = float(pixels.min()), float(pixels.max())
        pixels = ((pixels - low) * (255.0 / max(high - low, 1e-9))).round().astype(np.uint8)
    if getattr(ds, "PhotometricInterpretation", "MONOCHROME2") == "MONOCHROME1":
        pixels = 255 - pixels
    return Image.fromarray(pixels, "L").convert("RGB")


# ----------------------------------------------------------------------------------------------------------
# Workshop


def read_digits(folder: Path, spec: DatasetSpec) -> Source:
    """scikit-learn's bundled handwritten digits (no files needed): 8x8, 16 grey levels, scaled to 0..255."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.clip(np.round(bunch.images * 255.0 / 16.0), 0, 255).astype(np.uint8)
    labels = [int(y) for y in bunch.target]
    ids = [f"load_digits#{i}" for i in range(len(labels))]
    split = RawSplit(ids, labels, lambda i: Image.fromarray(pixels[i], "L").convert("RGB"))
    return Source([str(d) for d in range(10)], split, None)


# ----------------------------------------------------------------------------------------------------------
# The reader's own images: an ImageFolder tree or a CSV of path + label


READER_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
"""The image extensions torchvision's ImageFolder accepts (matched case-insensitively)."""

CSV_COLUMNS = ("path", "label")


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _natural_order(labels) -> list[str]:
    """Class names sorted as ImageFolder sorts them, except that all-integer labels sort as numbers."""
    labels = sorted(set(labels))
    if all(label.lstrip("-").isdigit() for label in labels):
        return sorted(labels, key=int)
    return labels


def reader_image(path: Path) -> Image.Image:
    """Decode one of the reader's images as a viewer shows it (:func:`viewer_rgb`, EXIF orientation applied:
    a phone photo is trained on upright, as its owner sorted it); a failure names the file and what to do."""
    try:
        return decode_file(path, orient=True)[0]
    except FileNotFoundError:
        raise DataError(f"image {path} not found (it was there when the dataset was read); restore it or "
                        f"remove it from the dataset") from None
    except DECODE_ERRORS as err:
        raise DataError(f"cannot decode image {path} ({reason(err)}); replace, convert or remove the file") from None


def _reader_split(base: Path, ids: list[str], labels: list[int]) -> RawSplit:
    return RawSplit(ids=ids, labels=labels, load=lambda i: reader_image(base / ids[i]))


class LookAlikeLabelsWarning(UserWarning):
    """Two class names that differ only in case, spacing, ``_``/``-`` or leading zeros (``1`` and ``01``)."""


def _look_alike_key(label: str) -> str:
    text = " ".join(label.replace("_", " ").replace("-", " ").split()).casefold()
    try:
        return repr(float(text))          # 1, 01 and 1.0 are one number
    except ValueError:
        return text


def warn_look_alike(labels, where: Path) -> None:
    """Warn (not fail: they may really be two classes) when some labels look alike but count as different."""
    groups: dict[str, list[str]] = {}
    for label in dict.fromkeys(labels):
        groups.setdefault(_look_alike_key(label), []).append(label)
    alike = [g for g in groups.values() if len(g) > 1]
    if alike:
        shown = " and ".join(repr(label) for label in alike[0])
        more = f" ({len(alike) - 1} more such groups)" if len(alike) > 1 else ""
        warnings.warn(f"{where}: labels {shown} look alike but are {len(alike[0])} separate classes{more}; if "
                      f"they are one class, spell them the same way", LookAlikeLabelsWarning, stacklevel=4)


def read_reader_folder(folder: Path, spec: DatasetSpec) -> Source:
    """``<folder>/<class>/<image>`` (sub-folders inside a class are walked too), as torchvision's ImageFolder.

    Hidden files and folders are skipped; files of other types are left out (``yourdata`` reports them).
    One file reached twice (a link to another class folder or image) is refused: it would sit in two classes,
    or in the training and the test split at once.
    """
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; pass a folder holding one sub-folder of images per class "
                        f"(<class>/<image>.png), or a CSV with columns {','.join(CSV_COLUMNS)}")
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and _visible(p))
    if not class_dirs:
        loose = [p for p in folder.iterdir() if p.suffix.lower() in READER_EXTENSIONS]
        hint = f" ({len(loose)} images lie directly in it)" if loose else ""
        raise DataError(f"{folder} has no class sub-folders{hint}; put each class's images into "
                        f"{folder}/<class>/, or pass a CSV with columns {','.join(CSV_COLUMNS)}")
    classes, ids, labels, empty = [], [], [], []
    seen: dict[Path, str] = {}
    for class_dir in class_dirs:
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in READER_EXTENSIONS
                       and all(_visible(part) for part in p.relative_to(folder).parents if part.name)
                       and _visible(p))
        if not files:
            empty.append(class_dir.name)
            continue
        for file in files:
            first = seen.setdefault(file.resolve(), file.relative_to(folder).as_posix())
            if first != file.relative_to(folder).as_posix():
                raise DataError(f"{folder}: {first} and {file.relative_to(folder).as_posix()} are the same file "
                                f"(a link); keep each image once, in its one class folder")
        classes.append(class_dir.name)
        ids += [p.relative_to(folder).as_posix() for p in files]
        labels += [len(classes) - 1] * len(files)
    if empty:
        raise DataError(f"class folder {folder / empty[0]} has no images ({len(empty)} of {len(class_dirs)} class "
                        f"folders are empty; extensions read: {' '.join(READER_EXTENSIONS)}); add images or "
                        f"remove the folder")
    if len(classes) < 2:
        raise DataError(f"{folder} has only one class ({classes[0]!r}); a classifier needs at least two class "
                        f"folders")
    warn_look_alike(classes, folder)
    return Source(classes, _reader_split(folder, ids, labels), None)


def read_reader_csv(path: Path, spec: DatasetSpec) -> Source:
    """A CSV with a header row holding ``path`` and ``label``; relative paths are relative to the CSV's folder and
    must stay inside it (``../x.png`` is refused); absolute paths are accepted (a run's log says how many).

    Paths are resolved before they are compared, so one image listed twice is found however it is spelt
    (``b/../a/0.png``, absolute and relative); it is refused, naming both lines and labels.
    """
    if not path.is_file():
        raise DataError(f"{path} is not a file; pass a CSV with columns {','.join(CSV_COLUMNS)}, or a folder "
                        f"of class sub-folders")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            rows = [{k.strip(): (v or "").strip() for k, v in row.items() if isinstance(k, str)} for row in reader]
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text (byte {err.start} cannot be read); save it as a UTF-8 CSV "
                        f"with columns {','.join(CSV_COLUMNS)}") from None
    except csv.Error as err:
        raise DataError(f"{path} is not a readable CSV ({reason(err)}); save it as CSV with columns "
                        f"{','.join(CSV_COLUMNS)}") from None
    absent = [c for c in CSV_COLUMNS if c not in columns]
    if absent:
        raise DataError(f"{path} has columns {columns}, without {absent[0]!r}; the first row must name the "
                        f"columns, including {' and '.join(repr(c) for c in CSV_COLUMNS)}")
    if not rows:
        raise DataError(f"{path} lists no images; add one row per image: <path>,<label>")
    base = path.parent
    seen: dict[Path, tuple[int, dict]] = {}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        if not row.get("path") or not row.get("label"):
            empty = "path" if not row.get("path") else "label"
            raise DataError(f"{path} line {line} has an empty {empty!r}; every row needs a path and a label")
        if not os.path.isabs(row["path"]) and os.path.normpath(row["path"]).split(os.sep)[0] == os.pardir:
            raise DataError(f"{path} line {line}: {row['path']!r} leads outside the CSV's folder {base}; move the "
                            f"image under {base} and list it relative to it (an absolute path is also accepted)")
        first_line, first = seen.setdefault((base / row["path"]).resolve(), (line, row))
        if first_line != line:
            spelt = f", spelt {first['path']!r} there" if first["path"] != row["path"] else ""
            labels = (f"under two labels, {first['label']!r} and {row['label']!r}" if first["label"] != row["label"]
                      else f"both times as {row['label']!r}")
            raise DataError(f"{path} lists {row['path']!r} twice (lines {first_line} and {line}{spelt}), {labels}; "
                            f"keep one row per image, with its one label")
    ids = [Path(row["path"]).as_posix() for row in rows]
    absent_files = [i for i in ids if not (base / i).is_file()]
    if absent_files:
        raise DataError(f"image {base / absent_files[0]} listed in {path} not found ({len(absent_files)} of "
                        f"{len(ids)} listed images are missing or not files); fix the paths (relative to {base}) "
                        f"or the files")
    classes = _natural_order(row["label"] for row in rows)
    if len(classes) < 2:
        raise DataError(f"{path} has only one label ({classes[0]!r}); a classifier needs at least two classes")
    warn_look_alike(classes, path)
    index = {c: k for k, c in enumerate(classes)}
    return Source(classes, _reader_split(base, ids, [index[row["label"]] for row in rows]), None)
