"""Tiny copies of the paper's 20 datasets, written in each publisher's native format.

``write_<name>(root, per_class=3)`` writes ``root/<name>/`` with the same file names and index files as
the real download (CIFAR pickle batches, .mat lists shaped as the originals, Galaxy10 as HDF5, RSNA as
DICOM + CSV) and returns that folder. Where the publisher fixes a test split, each class gets
``per_class`` training and ``held_out_per_class(per_class)`` test images; otherwise ``per_class`` images.
Every image is one flat colour that encodes its label (:func:`label_of`), so a test can check that each
loaded image carries the label the reader gave it.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = (10, 12)  # (H, W): tiny and not square, so a transposed image shows
BREAKHIS_MAGS = ("40X", "100X", "200X", "400X")


def held_out_per_class(per_class: int) -> int:
    """Test images per class where the dataset has an official split (fewer than train, to catch swaps)."""
    return max(1, per_class - 1)


def colour(label: int) -> tuple[int, int, int]:
    """A colour that survives JPEG and encodes ``label`` (up to 256 classes)."""
    return (label % 16 * 16 + 8, label // 16 * 16 + 8, 128)


def label_of(image: Image.Image) -> int:
    """The label encoded by :func:`colour` in a loaded RGB image (its mean colour, rounded to the grid)."""
    red, green = np.asarray(image, dtype=float).reshape(-1, 3).mean(axis=0)[:2]
    return int(round((red - 8) / 16)) + 16 * int(round((green - 8) / 16))


def grey(label: int, levels: int) -> int:
    """A grey level that encodes ``label`` for single-channel formats (read back by :func:`grey_label_of`)."""
    return int(round((label + 0.5) * 255 / levels))


def grey_label_of(image: Image.Image, levels: int) -> int:
    return int(np.asarray(image, dtype=float).mean() * levels / 255)


def _save(path: Path, label: int, mode: str = "RGB", levels: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "L":
        Image.new("L", SIZE[::-1], grey(label, levels)).save(path)
    else:
        Image.new("RGB", SIZE[::-1], colour(label)).save(path)


def _pixels(labels: list[int]) -> np.ndarray:
    """N x H x W x 3 uint8 images in the :func:`colour` of each label."""
    return np.array([np.broadcast_to(colour(y), (*SIZE, 3)) for y in labels], dtype=np.uint8)


def _official(num_classes: int, per_class: int) -> dict[str, list[int]]:
    """Labels of each split, classes interleaved (as in real index files)."""
    return {"train": [c for _ in range(per_class) for c in range(num_classes)],
            "test": [c for _ in range(held_out_per_class(per_class)) for c in range(num_classes)]}


# ----------------------------------------------------------------------------------------------------------
# Natural images

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _pickle(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(content, handle, protocol=2)


def _cifar_pixels(labels: list[int]) -> np.ndarray:
    """N x 3072 channel-major rows of 32 x 32 images, as in the real batches."""
    rows = [np.broadcast_to(np.array(colour(y), np.uint8)[:, None, None], (3, 32, 32)).reshape(-1)
            for y in labels]
    return np.array(rows, dtype=np.uint8).reshape(len(labels), 3072)


def write_cifar10(root: Path, per_class: int = 3) -> Path:
    folder, split = Path(root) / "cifar10", _official(10, per_class)
    base = folder / "cifar-10-batches-py"
    chunks = np.array_split(np.arange(len(split["train"])), 5)
    for k, chunk in enumerate(chunks, start=1):
        labels = [split["train"][i] for i in chunk]
        _pickle(base / f"data_batch_{k}", {"batch_label": f"training batch {k} of 5", "labels": labels,
                                          "data": _cifar_pixels(labels),
                                          "filenames": [f"img_{k}_{i}.png" for i in range(len(labels))]})
    _pickle(base / "test_batch", {"batch_label": "testing batch 1 of 1", "labels": split["test"],
                                  "data": _cifar_pixels(split["test"]),
                                  "filenames": [f"test_{i}.png" for i in range(len(split["test"]))]})
    _pickle(base / "batches.meta", {"num_cases_per_batch": 10000, "label_names": CIFAR10_CLASSES,
                                    "num_vis": 3072})
    return folder


def write_cifar100(root: Path, per_class: int = 3) -> Path:
    folder, split = Path(root) / "cifar100", _official(100, per_class)
    base = folder / "cifar-100-python"
    for part in ("train", "test"):
        labels = split[part]
        _pickle(base / part, {"filenames": [f"{part}_{i}.png" for i in range(len(labels))],
                              "batch_label": f"{part} batch", "fine_labels": labels,
                              "coarse_labels": [y // 5 for y in labels], "data": _cifar_pixels(labels)})
    _pickle(base / "meta", {"fine_label_names": [f"fine_{k:03d}" for k in range(100)],
                            "coarse_label_names": [f"coarse_{k:02d}" for k in range(20)]})
    return folder


def write_tiny_imagenet(root: Path, per_class: int = 3) -> Path:
    folder = Path(root) / "tiny_imagenet"
    base = folder / "tiny-imagenet-200"
    wnids = [f"n{1443537 + 7 * k:08d}" for k in range(200)]
    base.mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(reversed(wnids)) + "\n")  # the real file is not sorted
    extra = [f"n{9999000 + k:08d}\tunused synset {k}" for k in range(3)]  # words.txt covers all of ImageNet
    (base / "words.txt").write_text("\n".join([f"{w}\tthing {k}, alias {k}" for k, w in enumerate(wnids)] + extra))
    for label, wnid in enumerate(wnids):
        boxes = []
        for i in range(per_class):
            _save(base / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", label)
            boxes.append(f"{wnid}_{i}.JPEG\t0\t0\t63\t63")
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text("\n".join(boxes) + "\n")
    rows = []
    for i, label in enumerate(_official(200, per_class)["test"]):
        _save(base / "val" / "images" / f"val_{i}.JPEG", label)
        rows.append(f"val_{i}.JPEG\t{wnids[label]}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(rows) + "\n")
    _save(base / "test" / "images" / "test_0.JPEG", 0)  # unlabelled: must be ignored
    return folder


def _cell(strings: list[str]) -> np.ndarray:
    """An N x 1 MATLAB cell array of strings, as scipy.io.savemat writes it."""
    cell = np.empty((len(strings), 1), dtype=object)
    for i, s in enumerate(strings):
        cell[i, 0] = s
    return cell


def write_stanford_dogs(root: Path, per_class: int = 3) -> Path:
    from scipy.io import savemat

    folder = Path(root) / "stanford_dogs"
    breeds = [f"n{2085620 + 11 * k:08d}-Breed_{k}" for k in range(120)]
    every = []
    (folder / "lists").mkdir(parents=True)
    for part, labels in _official(120, per_class).items():
        files = []
        for i, label in enumerate(labels):
            wnid = breeds[label].split("-")[0]
            files.append(f"{breeds[label]}/{wnid}_{part}{i}.jpg")
            _save(folder / "Images" / files[-1], label)
        every += files
        savemat(folder / "lists" / f"{part}_list.mat",
                {"file_list": _cell(files), "annotation_list": _cell([f.rsplit(".", 1)[0] for f in files]),
                 "labels": np.array(labels, dtype=float)[:, None] + 1})
    savemat(folder / "lists" / "file_list.mat", {"file_list": _cell(every)})
    return folder


def write_flowers102(root: Path, per_class: int = 3) -> Path:
    from scipy.io import savemat

    folder = Path(root) / "flowers102"
    split = _official(102, per_class)
    labels = split["train"] + split["test"]
    numbers = np.random.default_rng(0).permutation(len(labels)) + 1  # image numbers are not grouped by split
    for number, label in zip(numbers, labels):
        _save(folder / "jpg" / f"image_{number:05d}.jpg", label)
    # integer types as in the real files (torchvision formats the ids with :05d)
    label_of_number = np.zeros(len(labels), dtype=np.uint8)
    label_of_number[numbers - 1] = np.array(labels) + 1
    savemat(folder / "imagelabels.mat", {"labels": label_of_number[None, :]})
    train, ids = numbers[: len(split["train"])], numbers.astype(np.uint16)
    half = len(train) // 2
    savemat(folder / "setid.mat", {"trnid": ids[:half][None, :], "valid": ids[half:len(train)][None, :],
                                   "tstid": ids[len(train):][None, :]})
    return folder


def write_cub200(root: Path, per_class: int = 3) -> Path:
    folder = Path(root) / "cub200"
    base = folder / "CUB_200_2011"
    classes = [f"{k + 1:03d}.Bird_{k}" for k in range(200)]
    split = _official(200, per_class)
    items = [(y, "1") for y in split["train"]] + [(y, "0") for y in split["test"]]
    order = np.random.default_rng(1).permutation(len(items))  # train and test ids are interleaved
    images, labels, flags = [], [], []
    for image_id, k in enumerate(order, start=1):
        label, flag = items[k]
        path = f"{classes[label]}/{classes[label].split('.')[1]}_{image_id:04d}_{k}.jpg"
        _save(base / "images" / path, label)
        images.append(f"{image_id} {path}")
        labels.append(f"{image_id} {label + 1}")
        flags.append(f"{image_id} {flag}")
    for name, lines in (("images.txt", images), ("image_class_labels.txt", labels),
                        ("train_test_split.txt", flags),
                        ("classes.txt", [f"{k + 1} {c}" for k, c in enumerate(classes)])):
        (base / name).write_text("\n".join(lines) + "\n")
    return folder


def _car_annotations(labels: list[int], first: int) -> np.ndarray:
    """A 1 x N MATLAB struct array with bbox_x1..bbox_y2, class (1-based), fname."""
    fields = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname"]
    records = np.empty((1, len(labels)), dtype=[(f, object) for f in fields])
    for i, label in enumerate(labels):
        records[0, i] = (np.array([[1]], np.uint8), np.array([[1]], np.uint8), np.array([[9]], np.uint8),
                         np.array([[7]], np.uint8), np.array([[label + 1]], np.uint8),
                         f"{first + i:05d}.jpg")
    return records


def write_stanford_cars(root: Path, per_class: int = 3) -> Path:
    from scipy.io import savemat

    folder = Path(root) / "stanford_cars"
    split = _official(196, per_class)
    for part, annos in (("train", folder / "devkit" / "cars_train_annos.mat"),
                        ("test", folder / "cars_test_annos_withlabels.mat")):
        for i, label in enumerate(split[part]):
            _save(folder / f"cars_{part}" / f"{i + 1:05d}.jpg", label)
        annos.parent.mkdir(parents=True, exist_ok=True)
        savemat(annos, {"annotations": _car_annotations(split[part], 1)})
    classes = np.empty((1, 196), dtype=object)
    classes[0, :] = [f"Maker Model {k} 2012" for k in range(196)]
    savemat(folder / "devkit" / "cars_meta.mat", {"class_names": classes})
    return folder


def write_food101(root: Path, per_class: int = 3) -> Path:
    folder = Path(root) / "food101"
    base = folder / "food-101"
    classes = [f"dish_{k:03d}" for k in range(101)]
    (base / "meta").mkdir(parents=True)
    for part, labels in _official(101, per_class).items():
        listing: dict[str, list[str]] = {c: [] for c in reversed(classes)}  # json order is not sorted
        for i, label in enumerate(labels):
            listing[classes[label]].append(f"{classes[label]}/{part}{i}")
            _save(base / "images" / f"{listing[classes[label]][-1]}.jpg", label)
        (base / "meta" / f"{part}.json").write_text(json.dumps(listing))
        (base / "meta" / f"{part}.txt").write_text("\n".join(p for v in listing.values() for p in v) + "\n")
    (base / "meta" / "classes.txt").write_text("\n".join(classes) + "\n")
    (base / "meta" / "labels.txt").write_text("\n".join(c.replace("_", " ").title() for c in classes) + "\n")
    return folder


# ----------------------------------------------------------------------------------------------------------
# Texture, surface defects, remote sensing, plants


def write_dtd(root: Path, per_class: int = 3) -> Path:
    folder = Path(root) / "dtd"
    base = folder / "dtd"
    classes = [f"texture{k:02d}" for k in range(47)]
    split = _official(47, per_class)
    lines: dict[str, list[str]] = {"train1": [], "val1": [], "test1": []}
    seen = [0] * 47
    for part, labels in (("train1", split["train"]), ("val1", split["test"]), ("test1", split["test"])):
        for label in labels:
            seen[label] += 1
            line = f"{classes[label]}/{classes[label]}_{seen[label]:04d}.jpg"
            _save(base / "images" / line, label)
            lines[part].append(line)
    (base / "labels").mkdir(parents=True)
    for name, entries in lines.items():
        (base / "labels" / f"{name}.txt").write_text("\n".join(sorted(entries)) + "\n")
    (base / "labels" / "labels_joint_anno.txt").write_text("")
    return folder


NEU_PREFIXES = ["Cr", "In", "Pa", "PS", "RS", "Sc"]


def write_neu(root: Path, per_class: int = 3) -> Path:
    folder = Path(root) / "neu"
    for label, prefix in enumerate(NEU_PREFIXES):
        for i in range(1, per_class + 1):
            _save(folder / f"{prefix}_{i}.bmp", label, mode="L", levels=6)
    return folder


UCMERCED_CLASSES = ["agricultural", "airplane", "baseballdiamond", "beach", "buildings", "chaparral",
                    "denseresidential", "forest", "freeway", "golfcourse", "harbor", "intersection",
                    "mediumresidential", "mobilehomepark", "overpass", "parkinglot", "river", "runway",
                    "sparseresidential", "storagetanks", "tenniscourt"]


def write_ucmerced(root: Path, per_class: int = 3) -> Path:
    folder = Path(root) / "ucmerced"
    for label, name in enumerate(UCMERCED_CLASSES):
        for i in range(per_class):
            _save(folder / "UCMerced_LandUse" / "Images" / name / f"{name}{i:02d}.tif", label)
    return folder


EUROSAT_CLASSES = ["AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial", "Pasture",
                   "PermanentCrop", "Residential", "River", "SeaLake"]


def write_eurosat(root: Path, per_class: int = 3, top: str = "2750") -> Path:
    """``2750/`` as torchvision's mirror unpacks; ``top="EuroSAT_RGB"`` as the publisher's zip does."""
    folder = Path(root) / "eurosat"
    for label, name in enumerate(EUROSAT_CLASSES):
        for i in range(1, per_class + 1):
            _save(folder / top / name / f"{name}_{i}.jpg", label)
    return folder


def _class_folders(folder: Path, classes: list[str], per_class: int) -> Path:
    for label, name in enumerate(sorted(classes)):
        for i in range(per_class):
            _save(folder / name / f"image_{label}_{i}.jpg", label)
    return folder


def write_plantvillage(root: Path, per_class: int = 3) -> Path:
    classes = [f"Plant_{k // 4}___disease_{k % 4}" for k in range(38)] + ["Background_without_leaves"]
    return _class_folders(Path(root) / "plantvillage", classes, per_class)


def write_plantclef(root: Path, per_class: int = 3) -> Path:
    return _class_folders(Path(root) / "plantclef", [str(100000 + 37 * k) for k in range(20)], per_class)


# ----------------------------------------------------------------------------------------------------------
# Astronomy and medical


def write_galaxy10(root: Path, per_class: int = 3) -> Path:
    import h5py

    folder = Path(root) / "galaxy10"
    folder.mkdir(parents=True)
    labels = [c for _ in range(per_class) for c in range(10)]
    images = np.array([np.broadcast_to(colour(y), (256, 256, 3)) for y in labels], dtype=np.uint8)
    with h5py.File(folder / "Galaxy10_DECals.h5", "w") as h5:
        h5.create_dataset("images", data=images)
        h5.create_dataset("ans", data=np.array(labels, dtype=np.uint8))
        for key in ("ra", "dec", "redshift", "pxscale"):
            h5.create_dataset(key, data=np.zeros(len(labels)))
    return folder


BREAKHIS_TYPES = {"benign": ["A", "F", "PT", "TA"], "malignant": ["DC", "LC", "MC", "PC"]}
BREAKHIS_NAMES = {"A": "adenosis", "F": "fibroadenoma", "PT": "phyllodes_tumor", "TA": "tubular_adenoma",
                  "DC": "ductal_carcinoma", "LC": "lobular_carcinoma", "MC": "mucinous_carcinoma",
                  "PC": "papillary_carcinoma"}


def _write_breakhis(folder: Path, per_class: int) -> Path:
    """The whole BreaKHis tree (all four magnifications): ``max(2, per_class)`` patients per class, one
    image per patient and magnification, so a patient-level split has patients on both sides."""
    base = folder / "BreaKHis_v1" / "histology_slides" / "breast"
    for label, kind in enumerate(("benign", "malignant")):
        letter = kind[0].upper()
        for p in range(max(2, per_class)):
            tumour = BREAKHIS_TYPES[kind][p % 4]
            patient = f"14-{10000 + 100 * label + p}{'AB' if p % 2 else ''}"
            patient_dir = base / kind / "SOB" / BREAKHIS_NAMES[tumour] / f"SOB_{letter}_{tumour}_{patient}"
            for mag in BREAKHIS_MAGS:
                _save(patient_dir / mag / f"SOB_{letter}_{tumour}-{patient}-{mag[:-1]}-001.png", label)
    return folder


def write_breakhis_40x(root: Path, per_class: int = 3) -> Path:
    return _write_breakhis(Path(root) / "breakhis_40x", per_class)


def write_breakhis_100x(root: Path, per_class: int = 3) -> Path:
    return _write_breakhis(Path(root) / "breakhis_100x", per_class)


def write_breakhis_200x(root: Path, per_class: int = 3) -> Path:
    return _write_breakhis(Path(root) / "breakhis_200x", per_class)


def write_breakhis_400x(root: Path, per_class: int = 3) -> Path:
    return _write_breakhis(Path(root) / "breakhis_400x", per_class)


def write_dicom(path: Path, pixels: np.ndarray, patient_id: str, photometric: str = "MONOCHROME2") -> None:
    """An uncompressed greyscale DICOM file (explicit VR little endian) as pydicom writes it."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.Modality, ds.BodyPartExamined = patient_id, "CR", "CHEST"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def write_rsna(root: Path, per_class: int = 3) -> Path:
    """Per class ``per_class`` patients; every pneumonia patient has two box rows, as in the real CSV."""
    folder = Path(root) / "rsna"
    rows = ["patientId,x,y,width,height,Target"]
    for label in (0, 1):
        for i in range(per_class):
            patient = f"{label:x}{i:07x}-0000-4000-8000-{label * 1000 + i:012x}"
            write_dicom(folder / "stage_2_train_images" / f"{patient}.dcm",
                        np.full(SIZE, grey(label, 2), dtype=np.uint8), patient)
            if label:
                rows += [f"{patient},264.0,152.0,213.0,379.0,1", f"{patient},562.0,152.0,256.0,453.0,1"]
            else:
                rows.append(f"{patient},,,,,0")
    (folder / "stage_2_train_labels.csv").write_text("\n".join(rows) + "\n")
    return folder


FIXTURES = {
    "cifar10": write_cifar10, "cifar100": write_cifar100, "tiny_imagenet": write_tiny_imagenet,
    "stanford_dogs": write_stanford_dogs, "flowers102": write_flowers102, "cub200": write_cub200,
    "stanford_cars": write_stanford_cars, "food101": write_food101, "dtd": write_dtd, "neu": write_neu,
    "ucmerced": write_ucmerced, "eurosat": write_eurosat, "plantvillage": write_plantvillage,
    "plantclef": write_plantclef, "galaxy10": write_galaxy10, "breakhis_40x": write_breakhis_40x,
    "breakhis_100x": write_breakhis_100x, "breakhis_200x": write_breakhis_200x,
    "breakhis_400x": write_breakhis_400x, "rsna": write_rsna,
}
"""Dataset name -> writer of its tiny native copy (the 20 paper datasets; ``digits`` needs no files)."""
