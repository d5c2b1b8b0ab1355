"""Benchmark 1, the input pipeline: images/s delivered to the training loop, three ways, side by side.

- ``authors``: ``torchvision.datasets.ImageFolder`` + PIL decode + ``Resize`` + ``TrivialAugmentWide`` +
  ``ToTensor`` + ``Normalize``, every JPEG decoded on every epoch, with the authors' loader settings (2 workers,
  persistent workers, prefetch factor 2);
- ``book_decode``: this book's dataset with ``cache=False`` (decode and resize on every access), same augmentation;
- ``book_cache``: this book's default path: JPEGs decoded and resized once into a uint8 ``.npy`` cache, read
  memory-mapped, augmented per item in uint8; loaders from ``lib.train.make_loader`` exactly as the trainer builds
  them (workers started anew each epoch, which counts against this path), and each batch normalised by the
  trainer's ``Runtime.to_device`` (on the device; here the CPU, inside the timed loop).

The images are generated JPEG files in an ImageFolder layout (``<root>/<class>/<i>.jpg``), larger than the training
size as photographs are, so every path pays for a real decode and resize. The one-time cost of building the cache is
measured and reported separately.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision import transforms as T

from bench.common import Size, interleaved, rate_stats, timed, write
from lib.data import ImageDataset
from lib.data.cache import CachedImages, DecodedImages, cached_split, default_cache_dir
from lib.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from lib.train import Runtime, make_loader

CLASSES = 10


def make_jpeg_folder(root, count: int, source: tuple[int, int], seed: int = 0) -> list[str]:
    """``count`` JPEG files of ``source`` = (H, W) pixels in ``<root>/class_<k>/<i>.jpg``; their relative paths.

    Each image is smooth random colour fields plus noise (so JPEG sizes are photograph-like, not trivially small).
    Existing files are kept, so a second run re-uses the folder.
    """
    from pathlib import Path

    root, rng = Path(root), np.random.default_rng(seed)
    height, width = source
    ids = []
    for i in range(count):
        rel = f"class_{i % CLASSES}/{i:05d}.jpg"
        ids.append(rel)
        path = root / rel
        coarse = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
        pixels = np.asarray(image, dtype=np.int16) + rng.integers(-24, 25, size=(height, width, 3))
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=90)
    return ids


def authors_dataset(root, image_size: int) -> datasets.ImageFolder:
    """The authors' per-epoch pipeline: ImageFolder, PIL decode, Resize, TrivialAugmentWide, ToTensor, Normalize."""
    return datasets.ImageFolder(str(root), transform=T.Compose([
        T.Resize((image_size, image_size)), T.TrivialAugmentWide(), T.ToTensor(),
        T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]))


def book_datasets(root, ids: list[str], image_size: int, cache_dir) -> tuple[ImageDataset, ImageDataset, float]:
    """This book's dataset over the same files: (cached, decode-every-access, seconds to build the cache)."""
    from pathlib import Path

    root = Path(root)
    labels = [int(i.split("/")[0].split("_")[1]) for i in ids]
    classes = [f"class_{k}" for k in range(CLASSES)]

    def load(i: int) -> Image.Image:
        with Image.open(root / ids[i]) as image:
            return image.convert("RGB")

    size = (image_size, image_size)
    path_box = []
    build_s = timed(lambda: path_box.append(cached_split(Path(cache_dir), "bench_jpeg", "train", root, ids, load,
                                                         size, progress=False)))
    positions = np.arange(len(ids))
    cached = ImageDataset(CachedImages(path_box[0], (len(ids), *size, 3)), positions, labels, ids, classes,
                          augment=True, name="bench/cache")
    decoded = ImageDataset(DecodedImages(load, size), positions, labels, ids, classes, augment=True,
                           name="bench/decode")
    return cached, decoded, build_s


def _epoch(loader, rt) -> int:
    """One pass, each batch handed to the trainer's ``Runtime.to_device`` (which normalises uint8 batches)."""
    seen = 0
    for images, labels in loader:
        images, labels = rt.to_device(images, labels)
        seen += labels.numel()
    return seen


def run(sz: Size, out_dir=None, work_dir=None) -> pd.DataFrame:
    """Measure the three pipelines on ``sz.pipeline_images`` generated JPEGs; write ``input_pipeline.csv/.png``."""
    from pathlib import Path

    work = Path(work_dir) if work_dir is not None else default_cache_dir() / "bench"
    root = work / f"jpeg-{sz.pipeline_images}-{sz.pipeline_source[0]}x{sz.pipeline_source[1]}"
    ids = make_jpeg_folder(root, sz.pipeline_images, sz.pipeline_source)
    cached, decoded, build_s = book_datasets(root, ids, sz.pipeline_size, work / "npy")
    workers, batch = sz.pipeline_workers, sz.pipeline_batch
    device = torch.device("cpu")
    authors = DataLoader(authors_dataset(root, sz.pipeline_size), batch_size=batch, shuffle=True,
                         num_workers=workers, persistent_workers=workers > 0, prefetch_factor=2 if workers else None)
    book_cache = make_loader(cached, batch, True, 0, workers, device)
    book_decode = make_loader(decoded, batch, True, 0, workers, device)
    rt = Runtime(device, None, False, progress=False)
    seconds = interleaved({"authors": lambda: _epoch(authors, rt), "book_decode": lambda: _epoch(book_decode, rt),
                           "book_cache": lambda: _epoch(book_cache, rt)}, sz.pipeline_repeats)
    labels = {"authors": "(a) authors: ImageFolder + PIL decode/resize every epoch",
              "book_decode": "book, cache=False: decode/resize every epoch",
              "book_cache": "(b) book default: decoded uint8 cache"}
    rows = []
    for name, secs in seconds.items():
        rows.append({"pipeline": name, "label": labels[name], "images": len(ids), "workers": workers,
                     "batch": batch, "image_size": sz.pipeline_size,
                     "source_size": f"{sz.pipeline_source[0]}x{sz.pipeline_source[1]}",
                     **{k.replace("per_s", "img_s"): v for k, v in rate_stats(len(ids), secs).items()},
                     "cache_build_s": build_s if name == "book_cache" else float("nan")})
    table = pd.DataFrame(rows)
    base = table.set_index("pipeline").loc["authors", "img_s_median"]
    table["speedup_vs_authors"] = table["img_s_median"] / base
    return write("input_pipeline", table, figure, out_dir)


def figure(table: pd.DataFrame):
    """Bars of median images/s with min-max whiskers, one per pipeline."""
    import matplotlib.pyplot as plt

    from bench.common import machine_label

    fig, ax = plt.subplots(figsize=(7, 2.6))
    med = table["img_s_median"].to_numpy()
    err = np.vstack([med - table["img_s_min"].to_numpy(), table["img_s_max"].to_numpy() - med])
    ax.barh(table["label"], med, xerr=err, color=["#999999", "#7fa7d1", "#1f5fa8"][:len(table)])
    for y, (m, s) in enumerate(zip(med, table["speedup_vs_authors"])):
        ax.text(m, y, f"  {m:.0f} img/s ({s:.1f}x)", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"images/s delivered ({table['workers'].iloc[0]} workers, "
                  f"{table['image_size'].iloc[0]}x{table['image_size'].iloc[0]}, TrivialAugmentWide)")
    ax.set_xlim(0, med.max() * 1.45)
    if "machine" in table:
        ax.set_title(machine_label(table), fontsize=8)
    return fig
