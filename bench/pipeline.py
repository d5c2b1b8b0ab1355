"""Benchmark 1, the input pipeline: images/s delivered to the training loop, three ways, side by side.

- ``authors``: ``torchvision.datasets.ImageFolder`` + PIL decode + ``Resize`` + ``TrivialAugmentWide`` +
  ``ToTensor`` + ``Normalize``, every JPEG decoded on every epoch, with the authors' loader settings (2 workers,
  persistent workers, prefetch factor 2);
- ``book_decode``: this book's dataset with ``cache=False`` (decode and resize on every access), same augmentation;
- ``book_cache``: this book's default path: JPEGs decoded and resized once into a uint8 ``.npy`` cache, read
  memory-mapped, augmented per item in uint8; loaders from ``lib.loaders.make_loader`` exactly as the trainer builds
  them (persistent workers, draws seeded per sample), and each batch normalised by the trainer's
  ``Runtime.to_device`` (on the device; here the CPU, inside the timed loop).

The pipelines run with the torch threads the trainer would give them and take turns epoch by epoch (interleaved
rounds), so a slow spell of the shared machine hits all of them.

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

from bench.common import Size, interleaved, write
from lib import paths
from lib.data import ImageDataset
from lib.data.cache import CachedImages, DecodedImages, cached_split
from lib.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from lib.loaders import make_loader
from lib.runs import default_threads, torch_threads
from lib.timing import rate_stats, seconds
from lib.train import Runtime

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


def authors_dataset(root, image_size: int, augment: bool = True) -> datasets.ImageFolder:
    """The authors' per-epoch pipeline: ImageFolder, PIL decode, Resize, TrivialAugmentWide, ToTensor, Normalize."""
    return datasets.ImageFolder(str(root), transform=T.Compose(
        [T.Resize((image_size, image_size))] + ([T.TrivialAugmentWide()] if augment else [])
        + [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]))


class JpegFiles:
    """``load(i)``: the i-th JPEG of the folder as an RGB PIL image (picklable, for other processes)."""

    def __init__(self, root, ids: list[str]):
        self.root, self.ids = root, list(ids)

    def __call__(self, i: int) -> Image.Image:
        with Image.open(self.root / self.ids[i]) as image:
            return image.convert("RGB")


def book_datasets(root, ids: list[str], image_size: int, cache_dir) -> tuple[ImageDataset, ImageDataset, float]:
    """This book's dataset over the same files: (cached, decode-every-access, seconds to build the cache)."""
    from pathlib import Path

    root = Path(root)
    labels = [int(i.split("/")[0].split("_")[1]) for i in ids]
    classes = [f"class_{k}" for k in range(CLASSES)]

    load = JpegFiles(root, ids)
    size = (image_size, image_size)
    path_box = []
    build_s = seconds(lambda: path_box.append(cached_split(Path(cache_dir), "bench_jpeg", "train", root, ids, load,
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


LABELS = {
    "authors": "(a) authors: ImageFolder + PIL decode/resize every epoch",
    "book_decode": "book, cache=False: decode/resize every epoch",
    "book_cache": "(b) book default: decoded uint8 cache",
    "authors_noaug": "authors, no augmentation (eval; BreakHis, Galaxy10)",
    "book_cache_noaug": "book cache, no augmentation",
}


def variant(name: str, dataset, workers: int, batch: int):
    """A pipeline's loader, with the authors' settings (2 workers, persistent, prefetch factor 2) or the trainer's
    (``make_loader``), and one epoch of it as the thing to time."""
    device = torch.device("cpu")
    rt = Runtime(device, None, False, progress=False)
    if name.startswith("authors"):
        loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers,
                            persistent_workers=workers > 0, prefetch_factor=2 if workers else None)
    else:
        loader = make_loader(dataset, batch, True, 0, workers, device)
    return lambda: _epoch(loader, rt)


def run(sz: Size, out_dir=None, work_dir=None) -> pd.DataFrame:
    """Measure the pipelines on ``sz.pipeline_images`` generated JPEGs; write ``input_pipeline.csv/.png``.

    The cache is built anew in a temporary folder on every run, so its one-time cost is measured, not looked up.
    """
    import tempfile
    from pathlib import Path

    work = Path(work_dir) if work_dir is not None else paths.cache() / "bench"
    root = work / f"jpeg-{sz.pipeline_images}-{sz.pipeline_source[0]}x{sz.pipeline_source[1]}"
    ids = make_jpeg_folder(root, sz.pipeline_images, sz.pipeline_source)
    workers, batch = sz.pipeline_workers, sz.pipeline_batch
    threads = default_threads(workers)   # what the trainer gives a CPU run
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="npy-") as npy:
        cached, decoded, build_s = book_datasets(root, ids, sz.pipeline_size, npy)
        datasets_ = {"authors": authors_dataset(root, sz.pipeline_size, True), "book_decode": decoded,
                     "book_cache": cached, "authors_noaug": authors_dataset(root, sz.pipeline_size, False),
                     "book_cache_noaug": cached.with_augment(False)}
        pipelines = {name: variant(name, data, workers, batch) for name, data in datasets_.items()}
        with torch_threads(threads):
            seconds = interleaved(pipelines, sz.pipeline_repeats)
        del pipelines   # the loaders' workers (and their memory maps) end before the folder goes
    rows = []
    for name, secs in seconds.items():
        rows.append({"pipeline": name, "label": LABELS[name], "augment": not name.endswith("noaug"),
                     "images": len(ids), "workers": workers, "batch": batch, "image_size": sz.pipeline_size,
                     "source_size": f"{sz.pipeline_source[0]}x{sz.pipeline_source[1]}",
                     **{k.replace("per_s", "img_s"): v for k, v in rate_stats(len(ids), secs).items()},
                     "cache_build_s": build_s if name.startswith("book_cache") else float("nan")})
    table = pd.DataFrame(rows)
    by = table.set_index("pipeline")["img_s_median"]
    # each path against the authors' path with the same augmentation
    table["speedup_vs_authors"] = [r.img_s_median / by["authors" if r.augment else "authors_noaug"]
                                   for r in table.itertuples()]
    with torch_threads(threads):   # so that the CSV's machine columns say how many threads the timing used
        return write("input_pipeline", table, figure, out_dir)


def figure(table: pd.DataFrame):
    """Bars of median images/s with min-max whiskers, one per pipeline."""
    import matplotlib.pyplot as plt

    from bench.common import machine_label

    fig, ax = plt.subplots(figsize=(7, 0.45 * len(table) + 1.0))
    med = table["img_s_median"].to_numpy()
    err = np.vstack([med - table["img_s_min"].to_numpy(), table["img_s_max"].to_numpy() - med])
    colours = {"authors": "#999999", "book_decode": "#7fa7d1", "book_cache": "#1f5fa8", "authors_noaug": "#cccccc",
               "book_cache_noaug": "#9bbbe0"}
    ax.barh(table["label"], med, xerr=err, color=[colours.get(p, "#888888") for p in table["pipeline"]])
    for y, (m, top, s) in enumerate(zip(med, table["img_s_max"], table["speedup_vs_authors"])):
        ax.text(max(m, top), y, f"  {m:.0f} img/s ({s:.1f}x)", va="center", fontsize=8)   # right of the whisker
    ax.invert_yaxis()
    ax.set_xlabel(f"images/s delivered ({table['workers'].iloc[0]} workers, {table['image_size'].iloc[0]}x"
                  f"{table['image_size'].iloc[0]}; TrivialAugmentWide unless labelled; x = vs the authors' path)")
    ax.set_xlim(0, table["img_s_max"].max() * 1.45)
    if "machine" in table:
        ax.set_title(machine_label(table), fontsize=8)
    return fig
