"""How much compute a run gets: the ``ci``, ``workshop`` and ``paper`` profiles.

A profile fixes every training knob that is not part of the experiment's name (backbone, dataset,
fraction, seed). Chapters and ``python -m lib.train`` take a profile name; explicit arguments
(``--max-epochs``, ``--batch-size``, ...) override single fields and end up in the run's record.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lib.errors import UnknownNameError


@dataclass(frozen=True)
class Profile:
    """One training budget. ``image_size=None`` means the dataset's paper size (256x256, BreakHis 448x672)."""

    name: str
    description: str
    datasets: tuple[str, ...]          # the datasets a chapter runs by default under this profile
    image_size: int | None             # square side in pixels, or None for the paper's size per dataset
    fraction: float                    # share of the training split used (1.0 = all of it)
    low_data: tuple[float, ...]        # chapter 4's shares, largest first (the paper: 100 %, 10 %, 1 %)
    seeds: tuple[int, ...]             # the paper reports the best of three runs
    pretrained: bool                   # ImageNet weights (the paper) or random initialisation
    patience: int                      # DualOpt: epochs without a better validation top-1 before a phase ends
    max_epochs: int | None             # cap on AdamW + SGD epochs together; None = patience alone decides
    min_sgd_epochs: int                # under a cap, epochs always left for the SGD phase
    batch_size: int
    amp: str                           # "auto" (fp16 on CUDA, off on CPU), "off", "fp16", "bf16"
    channels_last: bool
    num_workers: int                   # DataLoader worker processes (1 on CPU: augmenting tiny images in
                                       # the main process with 2 torch threads is ~10x slower than in a
                                       # single-threaded worker)
    eval_test_every_epoch: bool        # needed for the paper's own metric (best test top-1 over epochs)
    device: str = "auto"               # "auto" = CUDA when available, else CPU
    precise_bn_images: int = 0         # > 0: BatchNorm statistics recomputed on that many training images before
                                       # every evaluation (precise BN); 0: the running averages, as the paper
    adamw_lr_by_backbone: tuple[tuple[str, float], ...] = ()   # (backbone, AdamW lr) where the paper's 1e-3 fails
    backbones: tuple[str, ...] | None = None   # the backbones a chapter trains by default; None = all eleven
    keep_records: bool = True          # False: records go to a git-ignored scratch folder (ci smoke runs)

    def replace(self, **changes) -> "Profile":
        """A copy with some fields overridden (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_PROFILES = {
    p.name: p
    for p in (
        Profile(
            name="ci",
            description="seconds per run: digits at 32x32, a quarter of the training images, 2 epochs "
                        "(1 AdamW + 1 SGD), random initialisation, precise BatchNorm on 64 images",
            datasets=("digits",), image_size=32, fraction=0.25, low_data=(0.25, 0.1, 0.01), seeds=(0,),
            pretrained=False, patience=1, max_epochs=2, min_sgd_epochs=1, batch_size=64, amp="auto",
            channels_last=False, num_workers=1, eval_test_every_epoch=True, device="cpu", precise_bn_images=64,
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
            datasets=("digits",), image_size=32, fraction=1.0, low_data=(1.0, 0.1), seeds=(0, 1, 2),
            pretrained=False, patience=2, max_epochs=20, min_sgd_epochs=2, batch_size=32, amp="auto",
            channels_last=False, num_workers=1, eval_test_every_epoch=True, device="cpu",
            precise_bn_images=512, adamw_lr_by_backbone=(("swin_t", 1e-4), ("swin_v2_t", 1e-4))),
        Profile(
            name="paper",
            description="the paper's protocol: ImageNet weights, paper image sizes, patience 10 per phase, "
                        "no epoch cap, mixed precision on CUDA, best of 3 seeds",
            datasets=("stanford_dogs", "flowers102", "cub200", "stanford_cars", "tiny_imagenet", "cifar10",
                      "cifar100", "food101", "dtd", "ucmerced", "eurosat", "plantvillage", "plantclef",
                      "galaxy10", "neu", "rsna", "breakhis_40x", "breakhis_100x", "breakhis_200x",
                      "breakhis_400x"),
            image_size=None, fraction=1.0, low_data=(1.0, 0.1, 0.01), seeds=(0, 1, 2), pretrained=True,
            patience=10, max_epochs=None, min_sgd_epochs=0, batch_size=64, amp="auto", channels_last=True,
            num_workers=4, eval_test_every_epoch=True, device="auto"),
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
    prof, config = get("paper"), record.get("config") or record
    size = tuple(config.get("image_size") or record.get("image_size"))
    paper_size = tuple(data.spec(record["dataset"]).image_size) if record["dataset"] in data.names() else size
    changes = []
    if config.get("max_epochs") is not None:
        changes.append(f"capped at {config['max_epochs']} epochs")
    if size != paper_size:
        changes.append(f"{size[0]}×{size[1]} px instead of {paper_size[0]}×{paper_size[1]}")
    if config.get("batch_size", prof.batch_size) != prof.batch_size:
        changes.append(f"batch {config['batch_size']} instead of {prof.batch_size}")
    if not config.get("pretrained", True):
        changes.append("random initialisation")
    return "; ".join(changes)
