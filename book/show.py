"""Chapter 2's tables and figures: the paper's Table 3 from the registry, sample grids, class balance.

Nothing here decodes a whole dataset: the table reads only folder indexes, the grids decode the few
images they show, and the balance plot uses labels.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from lib import paths
from lib.data import sizes, sources
from lib.data.splits import held_out_ratio
from lib.errors import DataError

DOMAIN_ORDER = tuple(d.replace("_", " ") for d in (*sources.DOMAINS, "workshop"))


def availability(name: str, root: str | os.PathLike | None = None) -> tuple[bool, str]:
    """(True, "") when ``<root>/<name>/`` reads in its native format, else (False, the reason in one line)."""
    spec = sources.spec(name)
    if not spec.workshop and not (paths.data_root(root) / name).is_dir():
        return False, f"no folder {paths.data_root(root) / name}"
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


def root_text(root: str | os.PathLike | None = None) -> str:
    """The data root as a reader would type it: ``data`` (relative to the repository), ``$WB_DATA``, or the
    folder's last parts, never the build machine's absolute path."""
    from book import present

    folder = paths.data_root(root)
    if os.environ.get("WB_DATA") and folder.resolve() == Path(os.environ["WB_DATA"]).expanduser().resolve():
        return "$WB_DATA"
    return present.shown_path(folder)


def where_to_get(name: str, root: str | os.PathLike | None = None) -> str:
    """Markdown: where to download an absent dataset and the layout to unpack into."""
    spec = sources.spec(name)
    return (f"**{spec.display}** — download from {spec.url}  \n"
            f"Licence: {spec.licence}  \n"
            f"Unpack into `{root_text(root)}/{name}/` as:\n\n```text\n{spec.layout}\n```\n\n{spec.split_note}\n")


def _shown_classes(dataset, max_classes: int) -> list[int]:
    targets = np.asarray(dataset.targets)
    return [c for c in range(len(dataset.classes)) if np.any(targets == c)][:max_classes]


def sample_grid(dataset, per_class: int = 6, max_classes: int = 10, seed: int = 0, title: str = "", fig=None):
    """A figure with ``per_class`` images (un-augmented) of each of the first ``max_classes`` classes; with
    ``fig`` (a figure or sub-figure), drawn into it."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    targets = np.asarray(dataset.targets)
    classes = _shown_classes(dataset, max_classes)
    own = fig is None
    if own:
        fig = plt.figure(figsize=(0.8 * per_class + 1.2, 0.8 * len(classes) + 0.4))
    axes = fig.subplots(len(classes), per_class, squeeze=False)
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
    if own:
        fig.tight_layout()
    return fig


def sample_grids(splits: dict, per_class: int = 6, max_classes: int = 10, seed: int = 0):
    """One figure: :func:`sample_grid` of the training split of every dataset in ``splits`` (name -> the
    ``lib.data.load`` result), stacked, each under its display name."""
    import matplotlib.pyplot as plt

    heights = [0.8 * len(_shown_classes(s.train, max_classes)) + 0.5 for s in splits.values()]
    fig = plt.figure(figsize=(0.8 * per_class + 1.6, sum(heights)), layout="constrained")
    subfigures = fig.subfigures(len(heights), 1, height_ratios=heights, squeeze=False)
    for sub, s in zip(subfigures.flat, splits.values()):
        sample_grid(s.train, per_class, max_classes, seed, title=s.spec.display, fig=sub)
    return fig


def class_balances(splits: dict):
    """One figure: :func:`class_balance` of every dataset in ``splits`` (name -> splits), one panel each."""
    import matplotlib.pyplot as plt

    widest = max(len(s.train.classes) for s in splits.values())
    fig, axes = plt.subplots(len(splits), 1, squeeze=False,
                             figsize=(min(2 + 0.25 * widest, 14), 2.8 * len(splits)))
    for ax, s in zip(axes.flat, splits.values()):
        class_balance(s, ax=ax)
    fig.tight_layout()
    return fig


def class_balance(splits, title: str = "", ax=None):
    """Bar chart of images per class in train, val and test (ours), sorted by class index (on ``ax`` if given)."""
    import matplotlib.pyplot as plt

    num_classes = len(splits.train.classes)
    parts = {"train": splits.train, "test": splits.test}
    if splits.select_on == "val":
        parts = {"train": splits.train, "val": splits.val, "test": splits.test}
    counts = pd.DataFrame({name: np.bincount(part.targets, minlength=num_classes)
                           for name, part in parts.items()})
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(2 + 0.25 * num_classes, 14), 2.8))
    fig = ax.figure
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
    if not fig.get_layout_engine():
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


# --- How chapter 2 shows its tables (display only) -------------------------------------------------------------

def table3_table(table: pd.DataFrame):
    """:func:`table3` as a reader's table (the columns the prose names; the whole table as a CSV download)."""
    from book import present

    flat = table.reset_index()
    return present.table(flat, ["domain", "dataset", "train (paper)", "test (paper)",
                                "image size (H×W)", "train/test split (ours)", "here"],
                         {"image size (H×W)": "size (H×W)", "train/test split (ours)": "split (ours)"},
                         csv="table3.csv")


def split_notes_table(datasets: list[str] | None = None):
    """:func:`split_notes` without an index column."""
    from book import present

    return present.table(split_notes(datasets).reset_index())


def split_table(splits: dict):
    """Our split sizes beside the paper's, one row per split of every dataset in ``splits`` (name -> splits)."""
    from book import present

    rows = pd.concat([split_summary(s).reset_index().assign(dataset=s.spec.display) for s in splits.values()])
    columns = (["dataset"] if len(splits) > 1 else []) + ["split", "images (ours)", "images (paper)",
                                                          "sha256 of ids"]
    return present.table(rows, columns)


def table3_counts(datasets: list[str] | None = None):
    """Per paper dataset: Table 3's train/test (paper), the book's train/val/test at real size (ours), whether they
    agree, and the reason where they do not. Imports pandas lazily."""
    import pandas as pd

    rows = []
    for name in datasets or sources.names(workshop=False):
        spec, ours = sources.spec(name), sizes.counts(name)
        same = (ours["train"], ours["test"]) == (spec.paper_train, spec.paper_test)
        rows.append({"dataset": name, "display": spec.display, "train (paper)": spec.paper_train,
                     "test (paper)": spec.paper_test, "train (ours)": ours["train"], "val (ours)": ours["val"],
                     "test (ours)": ours["test"],
                     "split": "official" if spec.official_test else f"{spec.test_ratio:.0%} held out",
                     "same as paper": same, "why not": "" if same else sizes.DEVIATIONS.get(name, "undocumented"),
                     "sizes from": sizes.provenance(name)})
    table = pd.DataFrame(rows)
    for column in ("train (ours)", "val (ours)", "test (ours)"):
        table[column] = table[column].astype("Int64")
    return table


def on_disk(counts_frame, root=None):
    """``counts_frame`` with what the files under ``root`` hold, for every dataset present there: ``train (on
    disk)`` and ``test (on disk)`` (the publisher's train and test lists as read from the files; a dash where the
    dataset is absent or has no fixed test split)."""
    from lib.errors import DataError

    train, test = [], []
    for name in counts_frame["dataset"]:
        try:
            source = sources.read_source(name, root)
        except DataError:
            train.append(None), test.append(None)
            continue
        train.append(len(source.train.ids))
        test.append(len(source.test.ids) if source.test is not None else None)
    return counts_frame.assign(**{"train (on disk)": train, "test (on disk)": test})


def table3_counts_table(counts_frame):
    """:func:`table3_counts` as a reader's table: paper beside ours, and why they differ (the CSV has the rest);
    with the counts on disk (:func:`on_disk`) beside them when any of these datasets is present."""
    from book import present

    columns = ["display", "train (paper)", "test (paper)", "train (ours)", "test (ours)", "same as paper", "why not"]
    if "train (on disk)" in counts_frame and counts_frame["train (on disk)"].notna().any():
        columns = columns[:5] + ["train (on disk)", "test (on disk)"]   # the reason goes to the CSV
    return present.table(counts_frame, columns,
                         {"display": "dataset", "same as paper": "same", "why not": "why not (ours)"},
                         csv="table3_counts.csv")
