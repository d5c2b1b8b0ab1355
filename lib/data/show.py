"""Chapter 2's tables and figures: the paper's Table 3 from the registry, sample grids, class balance.

Nothing here decodes a whole dataset: the table reads only folder indexes, the grids decode the few
images they show, and the balance plot uses labels.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from lib.data import sources
from lib.data.splits import held_out_ratio
from lib.errors import DataError

DOMAIN_ORDER = tuple(d.replace("_", " ") for d in (*sources.DOMAINS, "workshop"))


def availability(name: str, root: str | os.PathLike | None = None) -> tuple[bool, str]:
    """(True, "") when ``<root>/<name>/`` reads in its native format, else (False, the reason in one line)."""
    spec = sources.spec(name)
    if not spec.workshop and not (sources.data_root(root) / name).is_dir():
        return False, f"no folder {sources.data_root(root) / name}"
    try:
        sources.read_source(name, root)
    except DataError as err:
        return False, str(err)
    return True, ""


def split_rule(spec) -> str:
    """How the test split is formed, in a few words: official, or the train/test shares (seeded, seed 0)."""
    if spec.official_test:
        return "official"
    return f"{1 - held_out_ratio(spec):.0%}/{held_out_ratio(spec):.0%}, seed 0"


def table3(root: str | os.PathLike | None = None, datasets: list[str] | None = None) -> pd.DataFrame:
    """The paper's Table 3 regenerated from the registry, by domain, with a column 'here' (present or not).

    The counts are the paper's (``paper_train``/``paper_test``); the split rule and image size are the
    book's, read from each :class:`~lib.data.sources.DatasetSpec`.
    """
    rows = []
    for name in datasets or sources.names():
        spec = sources.spec(name)
        present, _ = availability(name, root)
        rows.append({
            "domain": spec.domain.replace("_", " "), "dataset": spec.display, "name": name,
            "classes": spec.num_classes,
            "train (paper)": spec.paper_train, "test (paper)": spec.paper_test,
            "image size (H×W)": f"{spec.image_size[0]}×{spec.image_size[1]}",
            "augmentation": spec.augmentation or "none",
            "train/test split (ours)": split_rule(spec),
            "here": "present" if present else "absent",
        })
    table = pd.DataFrame(rows)
    table["domain"] = pd.Categorical(table["domain"], categories=DOMAIN_ORDER, ordered=True)
    table = table.sort_values("domain", kind="stable").set_index(["domain", "dataset"])
    for column in ("train (paper)", "test (paper)"):
        table[column] = table[column].astype("Int64")
    return table


def where_to_get(name: str, root: str | os.PathLike | None = None) -> str:
    """Markdown: where to download an absent dataset and the layout to unpack into."""
    spec = sources.spec(name)
    folder = sources.data_root(root) / name
    return (f"**{spec.display}** — download from {spec.url}  \n"
            f"Licence: {spec.licence}  \n"
            f"Unpack into `{folder}/` as:\n\n```text\n{spec.layout}\n```\n\n{spec.split_note}\n")


def sample_grid(dataset, per_class: int = 6, max_classes: int = 10, seed: int = 0, title: str = ""):
    """A figure with ``per_class`` images (un-augmented) of each of the first ``max_classes`` classes."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    targets = np.asarray(dataset.targets)
    classes = [c for c in range(len(dataset.classes)) if np.any(targets == c)][:max_classes]
    fig, axes = plt.subplots(len(classes), per_class, squeeze=False,
                             figsize=(0.8 * per_class + 1.2, 0.8 * len(classes) + 0.4))
    for row, c in zip(axes, classes):
        members = np.flatnonzero(targets == c)
        picks = rng.choice(members, size=min(per_class, len(members)), replace=False)
        for ax, i in zip(row, picks):
            ax.imshow(dataset.pixels(int(i)))
        for ax in row:
            ax.set_xticks([]), ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
        row[0].set_ylabel(_short(dataset.classes[c]), rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title or dataset.name, fontsize=10)
    fig.tight_layout()
    return fig


def class_balance(splits, title: str = ""):
    """Bar chart of images per class in train, val and test (ours), sorted by class index."""
    import matplotlib.pyplot as plt

    num_classes = len(splits.train.classes)
    parts = {"train": splits.train, "test": splits.test}
    if splits.select_on == "val":
        parts = {"train": splits.train, "val": splits.val, "test": splits.test}
    counts = pd.DataFrame({name: np.bincount(part.targets, minlength=num_classes)
                           for name, part in parts.items()})
    fig, ax = plt.subplots(figsize=(min(2 + 0.25 * num_classes, 14), 2.8))
    bottom = np.zeros(num_classes)
    for name in counts:
        ax.bar(np.arange(num_classes), counts[name], bottom=bottom, label=name, width=0.85)
        bottom += counts[name].to_numpy()
    if num_classes <= 25:
        ax.set_xticks(np.arange(num_classes), [_short(c) for c in splits.train.classes], rotation=60,
                      ha="right", fontsize=7)
    ax.set_xlabel("class"), ax.set_ylabel("images (ours)")
    ax.set_title(title or f"{splits.spec.display}: images per class", fontsize=10)
    ax.set_ylim(top=1.3 * bottom.max())
    ax.legend(fontsize=8, ncol=3, loc="upper right")
    fig.tight_layout()
    return fig


def split_summary(splits) -> pd.DataFrame:
    """Our split sizes beside the paper's counts, and the manifest digest of each split."""
    digests = splits.manifest.sha256
    rows = [{"split": name, "images (ours)": len(getattr(splits, name)),
             "images (paper)": {"train": splits.spec.paper_train, "test": splits.spec.paper_test}.get(name),
             "sha256 of ids": digests[name][:12] if splits.manifest.ids[name] else "—"}
            for name in ("train", "val", "test")]
    table = pd.DataFrame(rows).set_index("split")
    table["images (paper)"] = table["images (paper)"].astype("Int64")
    return table


def split_notes(datasets: list[str] | None = None) -> pd.DataFrame:
    """Each dataset's split note from the registry: how train/test are formed, against the paper's counts."""
    rows = [{"dataset": sources.spec(n).display, "how the split is formed (ours)": sources.spec(n).split_note}
            for n in datasets or sources.names()]
    return pd.DataFrame(rows).set_index("dataset")


def augmentation_grid(dataset, indices: list[int], draws: int = 6, seed: int = 0):
    """Each row: an image as stored (left), then ``draws`` TrivialAugmentWide draws of it (seeded)."""
    import matplotlib.pyplot as plt
    import torch

    from lib.data.transforms import denormalise

    augmented = dataset.with_augment(True)
    torch.manual_seed(seed)
    fig, axes = plt.subplots(len(indices), draws + 1, squeeze=False,
                             figsize=(0.9 * (draws + 1) + 0.4, 0.9 * len(indices) + 0.5))
    for row, i in zip(axes, indices):
        row[0].imshow(dataset.pixels(i))
        for ax in row[1:]:
            ax.imshow(denormalise(augmented[i][0]))
        for ax in row:
            ax.set_xticks([]), ax.set_yticks([])
    axes[0][0].set_title("stored", fontsize=8)
    for ax in axes[0][1:]:
        ax.set_title("augmented", fontsize=8)
    fig.tight_layout()
    return fig


def _short(label: str, width: int = 18) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
