"""How much compute the book gets: the ``ci``, ``workshop`` and ``paper`` profiles, each with every default a run, a
timing, a demo or a search takes.

A profile's ``run`` is a run's configuration without its backbone, dataset and seed: the paper's protocol (the
defaults of :class:`lib.train.TrainConfig`) with the profile's departures written out. ``lib.config.make_config``
fills in the rest and applies what was asked (``dataclasses.replace``), then checks every value, once. Chapters and
``python -m lib.train`` take a profile name; explicit arguments (``--max-epochs``, ...) end up in the run's record.
"""
from __future__ import annotations

from dataclasses import dataclass

from lib.data import sources
from lib.errors import UnknownNameError
from lib.train import TrainConfig


@dataclass(frozen=True)
class TimingPlan:
    """How much throughput timing a profile does (chapter 5): which backbones (None = all), image side, batch size,
    timed steps, and CPU threads (None = PyTorch's default)."""

    backbones: tuple[str, ...] | None
    image_size: int
    batch_size: int
    steps: int
    threads: int | None = None


@dataclass(frozen=True)
class Profile:
    """One budget. ``run.image_size=None`` means each dataset's paper size (256x256, BreakHis 448x672)."""

    name: str
    description: str
    run: TrainConfig                   # a run's defaults: everything but backbone, dataset and seed
    datasets: tuple[str, ...]          # the datasets a chapter runs by default
    low_data: tuple[float, ...]        # chapter 4's shares, largest first (the paper: 100 %, 10 %, 1 %)
    seeds: tuple[int, ...]             # the paper reports the best of three runs
    num_workers: int                   # DataLoader worker processes (1 on CPU: augmenting tiny images in the main
                                       # process with 2 torch threads is ~10x slower than in one single-threaded
                                       # worker); not part of a run's result, so not in ``run``
    timing: TimingPlan                 # chapter 5's throughput timing
    demo_per_class: int | None         # chapter 7's demo folder: images per digit (None: all 1,797)
    search_seeds: tuple[int, ...]      # chapter 7's search: seeds of a finalist's full runs (two or more tell a
                                       # real gap from seed noise; ci keeps one to stay fast)
    adamw_lr_by_backbone: tuple[tuple[str, float], ...] = ()   # (backbone, AdamW lr) where the paper's 1e-3 fails
    backbones: tuple[str, ...] | None = None   # the backbones a chapter trains by default; None = all eleven
    keep_records: bool = True          # False: records go to a git-ignored scratch folder (ci smoke runs)

    def __post_init__(self):
        if self.run.profile != self.name:
            raise ValueError(f"profile {self.name!r} holds a run of profile {self.run.profile!r}")


_PROFILES = {
    p.name: p
    for p in (
        Profile(
            name="ci",
            description="seconds per run: digits at 32x32, a quarter of the training images, 2 epochs "
                        "(1 AdamW + 1 SGD), random initialisation, precise BatchNorm on 64 images",
            run=TrainConfig(profile="ci", fraction=0.25, pretrained=False, image_size=(32, 32), batch_size=64,
                            patience=1, max_epochs=2, min_sgd_epochs=1, channels_last=False, device="cpu",
                            precise_bn_images=64),
            datasets=("digits",), low_data=(0.25, 0.1, 0.01), seeds=(0,), num_workers=1,
            # one timing thread: on a shared, overloaded CI machine two spinning threads can run 100x slower
            timing=TimingPlan(("shufflenet_v2_x2_0",), image_size=64, batch_size=2, steps=1, threads=1),
            demo_per_class=12, search_seeds=(0,),
            backbones=("shufflenet_v2_x2_0", "mobilenet_v3_large"), keep_records=False),
        Profile(
            name="workshop",
            description="a 2-core CPU, random initialisation (pretrained weights cannot be downloaded here): "
                        "digits at 32x32, the whole training split (and 10 % in chapter 4), 3 seeds, patience 2 "
                        "per phase (a cap of 20 epochs only as a safety net), small affine moves instead of "
                        "TrivialAugment (which turns digits into other digits), precise BatchNorm (statistics "
                        "recomputed on 512 training images before every evaluation: from scratch the running "
                        "averages lag and evaluation collapses to chance), and AdamW at lr 1e-4 for the two Swin "
                        "transformers (at the paper's 1e-3 SwinV2-T's training loss rises above chance level and it "
                        "does not learn; Swin-T learns, then its training loss climbs back mid-phase)",
            run=TrainConfig(profile="workshop", pretrained=False, image_size=(32, 32), batch_size=32, patience=2,
                            max_epochs=20, min_sgd_epochs=2, channels_last=False, device="cpu",
                            precise_bn_images=512),
            datasets=("digits",), low_data=(1.0, 0.1), seeds=(0, 1, 2), num_workers=1,
            timing=TimingPlan(None, image_size=128, batch_size=4, steps=2),
            # 100 per digit give 720 training images: half of them for five probe epochs is about 60 steps of 32,
            # which is when the from-scratch backbones of chapter 3 have left chance behind
            demo_per_class=100, search_seeds=(0, 1),
            adamw_lr_by_backbone=(("swin_t", 1e-4), ("swin_v2_t", 1e-4))),
        Profile(
            name="paper",
            description="the paper's protocol: ImageNet weights, paper image sizes, patience 10 per phase, "
                        "no epoch cap, mixed precision on CUDA, best of 3 seeds",
            run=TrainConfig(profile="paper"),
            datasets=tuple(sources.names(workshop=False)), low_data=(1.0, 0.1, 0.01), seeds=(0, 1, 2),
            num_workers=4, timing=TimingPlan(None, image_size=256, batch_size=32, steps=10),
            demo_per_class=None, search_seeds=(0, 1, 2)),
    )
}


def names() -> list[str]:
    """The registered profile names."""
    return list(_PROFILES)


def get(name: str) -> Profile:
    """The profile called ``name``."""
    try:
        return _PROFILES[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown profile {name!r}: choose one of {', '.join(_PROFILES)}") from None


def departures(record: dict) -> str:
    """How a ``paper``-profile run departs from the paper's protocol ("" when it does not): an epoch cap, another
    image size or batch size, random initialisation. Such a run is labelled in every table and kept out of the
    paper-protocol verdicts (chapters 4 and 6, the answer page). Other profiles are their own protocol: ""."""
    from lib import data

    if record.get("profile") != "paper":
        return ""
    paper_run, config = get("paper").run, record.get("config") or record
    size = tuple(config.get("image_size") or record.get("image_size"))
    paper_size = tuple(data.spec(record["dataset"]).image_size) if record["dataset"] in data.names() else size
    changes = []
    if config.get("max_epochs") is not None:
        changes.append(f"capped at {config['max_epochs']} epochs")
    if size != paper_size:
        changes.append(f"{size[0]}×{size[1]} px instead of {paper_size[0]}×{paper_size[1]}")
    if config.get("batch_size", paper_run.batch_size) != paper_run.batch_size:
        changes.append(f"batch {config['batch_size']} instead of {paper_run.batch_size}")
    if not config.get("pretrained", True):
        changes.append("random initialisation")
    return "; ".join(changes)
