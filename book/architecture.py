"""Chapter 5: the paper's Table 9 regenerated from the instantiated models, and their size, FLOPs and speed.

Every introspected value comes from walking a model's module tree: residual blocks are found by their class
(:data:`BLOCK_CLASSES`; DenseNet's layers, whose class torchvision keeps private, by their children:
:data:`DENSE_LAYER_CHILDREN`), and inside each block the main path's ``Conv2d`` / ``ConvTranspose2d`` / ``Linear``
layers, activation and norm modules and ``SqueezeExcitation`` modules are read in registration order. One
forward pass on a small probe image records each block's output resolution, which splits blocks into stages.
Only the explanations of the cells where the book and the paper disagree are text (:data:`DIFFERENCE_NOTES`).

Definitions (the paper gives none, so these are the book's; the chapter prints them):

* **main path** -- the block's layers minus its side branches (:data:`SIDE_BRANCHES`: shortcut projections and
  ShuffleNet's left branch); squeeze-excitation and attention modules count as one unit each.
* **kernels** -- the main path's layers in order; ``Linear`` is a 1x1 (point-wise) layer, a transposed conv is
  marked with a superscript T, attention is ``W-MSA`` with its window. Where blocks differ, the most common
  sequence length among blocks of the model's main kind is kept and each position lists every kernel seen there.
* **block kind** -- "Transformer" if the block has attention; "Tokenmixer" if no ``Conv2d`` on the main path mixes
  space and channels together: its spatial ``Conv2d`` (if any) is depth-wise and comes first, before a channel
  expansion (ConvNeXt), or there is none at all (WaveMix's DWT); otherwise by the main path's widths:
  "Inverted BN" if the widest inner width exceeds both ends, "Bottleneck" if it is narrower than the wider end,
  "Isotropic" if equal, "Plain" for a single layer. The model's kind is the most common kind among its blocks.
* **stages** -- runs of consecutive blocks that share a parent container and an output resolution.
* **CEF** (channel expansion factor) -- the largest factor by which one main-path layer multiplies the channel
  count (out/in), over the model's repeated blocks (input width = output width) of its main kind.
* **stem** -- every ``Conv2d`` before the first block, as ``kernel, /stride``.
* **DConv** -- a main-path ``Conv2d`` with ``groups == in_channels > 1``. **SE** -- a ``SqueezeExcitation`` module.
* **non-linearity / norm** -- activation and norm module types on the main path (the gate of an SE module and
  functional calls such as attention's softmax are not modules on the main path and are not listed).

FLOPs come from PyTorch's own counter (:class:`torch.utils.flop_counter.FlopCounterMode`), which counts one
multiply-add as 2 FLOPs and counts only matrix products and convolutions; the book reports both FLOPs and MACs
(= FLOPs / 2).
"""
from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import convnext, densenet, efficientnet, mobilenetv3, regnet, resnet, shufflenetv2
from torchvision.models import swin_transformer

from lib import models, paths, profiles, wavemix
from lib.errors import ConfigError
from lib.profiles import TimingPlan
from lib.provenance import device_name

TABLE9_CSV = paths.PAPER / "table9.csv"

# Residual blocks, by class; a block is never searched for blocks inside it.
BLOCK_CLASSES: tuple[type[nn.Module], ...] = (
    resnet.BasicBlock, resnet.Bottleneck, shufflenetv2.InvertedResidual,
    mobilenetv3.InvertedResidual, regnet.ResBottleneckBlock, efficientnet.MBConv, efficientnet.FusedMBConv,
    convnext.CNBlock, swin_transformer.SwinTransformerBlock, wavemix.WaveBlock,
)
# A DenseNet layer (BN, ReLU, 1x1 conv, BN, ReLU, 3x3 conv) has a private class in torchvision: inside a public
# ``DenseNet`` it is the module whose children are these, in this order.
DENSE_LAYER_CHILDREN = ("norm1", "relu1", "conv1", "norm2", "relu2", "conv2")
CHANNELS_LAST_BLOCKS = (swin_transformer.SwinTransformerBlock,)  # their outputs are B x H x W x C (V2 subclasses V1)
ATTENTION_CLASSES = (swin_transformer.ShiftedWindowAttention,)  # V2 subclasses V1
SE_CLASSES = (torchvision.ops.SqueezeExcitation,)
# Attribute names of side branches: ResNet's and RegNet's shortcut projections, ShuffleNet's left branch.
SIDE_BRANCHES = frozenset({"downsample", "proj", "branch1"})
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid, nn.Tanh,
               nn.LeakyReLU, nn.ELU, nn.Mish, nn.PReLU)
NORMS = {nn.BatchNorm2d: "BN", nn.LayerNorm: "LN", nn.GroupNorm: "GN", nn.InstanceNorm2d: "IN"}

# The book's column names and the paper's Table 9 headers.
COLUMNS = {"block": "Block", "kernels": "Kernels in block", "stages": "# Stages", "blocks_per_stage": "#Blocks/stage",
           "nonlinearity": "Non-linearity", "cef": "CEF", "stem": "Stem", "dconv": "DConv", "se": "SE",
           "norm": "Norm"}

PROBE_SIZE = 2 * wavemix.SIDE_MULTIPLE  # side of the probe image that records block resolutions


# --- one block ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One main-path layer of a block: a convolution, a point-wise ``Linear``, or an attention unit."""

    kind: str  # "conv", "tconv" (transposed), "linear", "attention"
    kernel: tuple[int, int]
    stride: int
    in_channels: int
    out_channels: int
    groups: int = 1

    @property
    def depthwise(self) -> bool:
        """One filter per input channel (``groups == in_channels > 1``); grouped convs are not depth-wise."""
        return self.kind == "conv" and self.groups == self.in_channels > 1

    @property
    def spatial(self) -> bool:
        return self.kernel != (1, 1)

    @property
    def label(self) -> str:
        size = f"{self.kernel[0]}×{self.kernel[1]}"
        return {"tconv": size + "ᵀ", "attention": f"W-MSA {size}"}.get(self.kind, size)


@dataclass
class Block:
    """What the module walk found in one residual block."""

    path: str  # attribute path in the model, e.g. "layer1.0"
    cls: str  # the block's class name
    layers: list[Layer] = field(default_factory=list)
    activations: list[str] = field(default_factory=list)
    norms: list[str] = field(default_factory=list)
    se: bool = False
    resolution: tuple[int, int] | None = None  # output H x W on the probe image

    @property
    def parent(self) -> str:
        return self.path.rsplit(".", 1)[0]

    @property
    def repeated(self) -> bool:
        """Input width equals output width: a block repeated inside a stage, not a stage transition."""
        return bool(self.layers) and self.layers[0].in_channels == self.layers[-1].out_channels

    @property
    def expansion(self) -> float:
        """The largest out/in channel factor of one main-path layer (at least 1)."""
        return max([1.0] + [layer.out_channels / layer.in_channels for layer in self.layers])

    @property
    def kind(self) -> str:
        """Bottleneck, Inverted BN, Isotropic, Tokenmixer, Transformer or Plain (see the module docstring)."""
        if any(layer.kind == "attention" for layer in self.layers):
            return "Transformer"
        convs = [layer for layer in self.layers if layer.kind == "conv" and layer.spatial]
        expands = self.expansion > 1
        if expands and (not convs or (self.layers[0].depthwise and self.layers[0].spatial)):
            return "Tokenmixer"
        if len(self.layers) < 2:
            return "Plain"
        ends = max(self.layers[0].in_channels, self.layers[-1].out_channels)
        inner = max(layer.out_channels for layer in self.layers[:-1])
        if inner > ends:
            return "Inverted BN"
        return "Bottleneck" if inner < ends else "Isotropic"


def _walk_block(module: nn.Module, block: Block) -> None:
    """Append the main-path layers, activations and norms under ``module`` to ``block``, in registration order."""
    for name, child in module.named_children():
        if name in SIDE_BRANCHES:
            continue
        if isinstance(child, SE_CLASSES):
            block.se = True
        elif isinstance(child, ATTENTION_CLASSES):
            dim = child.qkv.in_features
            block.layers.append(Layer("attention", tuple(child.window_size), 1, dim, dim))
        elif isinstance(child, (nn.Conv2d, nn.ConvTranspose2d)):
            kind = "tconv" if isinstance(child, nn.ConvTranspose2d) else "conv"
            block.layers.append(Layer(kind, tuple(child.kernel_size), child.stride[0], child.in_channels,
                                      child.out_channels, child.groups))
        elif isinstance(child, nn.Linear):
            block.layers.append(Layer("linear", (1, 1), 1, child.in_features, child.out_features))
        elif isinstance(child, ACTIVATIONS):
            block.activations.append(type(child).__name__)
        elif isinstance(child, tuple(NORMS)):
            block.norms.append(NORMS[next(t for t in NORMS if isinstance(child, t))])
        else:
            _walk_block(child, block)


def _find_blocks(model: nn.Module) -> tuple[list[Block], list[nn.Conv2d], dict[str, nn.Module]]:
    """The model's blocks in order, the ``Conv2d`` layers before the first block (the stem), and the block modules."""
    blocks, stem, modules = [], [], {}

    def is_block(module: nn.Module, in_densenet: bool) -> bool:
        return isinstance(module, BLOCK_CLASSES) or (
            in_densenet and tuple(name for name, _ in module.named_children()) == DENSE_LAYER_CHILDREN)

    def visit(module: nn.Module, prefix: str, in_densenet: bool) -> None:
        for name, child in module.named_children():
            path = f"{prefix}{name}"
            if is_block(child, in_densenet):
                block = Block(path, type(child).__name__)
                _walk_block(child, block)
                blocks.append(block)
                modules[path] = child
            else:
                if isinstance(child, nn.Conv2d) and not blocks:
                    stem.append(child)
                visit(child, path + ".", in_densenet or isinstance(child, densenet.DenseNet))

    visit(model, "", isinstance(model, densenet.DenseNet))
    return blocks, stem, modules


def _record_resolutions(model: nn.Module, blocks: list[Block], modules: dict[str, nn.Module], size: int) -> None:
    """One forward pass on a ``size`` x ``size`` probe; each block gets its output's spatial size."""
    by_path = {block.path: block for block in blocks}

    def hook_for(path: str):
        channels_last = isinstance(modules[path], CHANNELS_LAST_BLOCKS)

        def hook(_module, _inputs, output):
            shape = output.shape[1:3] if channels_last else output.shape[-2:]
            by_path[path].resolution = tuple(int(s) for s in shape)
        return hook

    handles = [module.register_forward_hook(hook_for(path)) for path, module in modules.items()]
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size, device=_device_of(model)))
    finally:
        for handle in handles:
            handle.remove()


# --- one model ---------------------------------------------------------------------------------------------------


@dataclass
class Architecture:
    """The introspected facts of one model: its blocks and stem, summarised as one row of Table 9."""

    name: str
    blocks: list[Block]
    stem: list[tuple[int, int, int]]  # (kernel h, kernel w, stride) of each stem Conv2d

    @property
    def kind(self) -> str:
        """The most common block kind: the model's entry in the Block column."""
        return Counter(block.kind for block in self.blocks).most_common(1)[0][0]

    @property
    def main_blocks(self) -> list[Block]:
        """The blocks of the model's main kind; the kernels and CEF columns describe these."""
        return [block for block in self.blocks if block.kind == self.kind]

    @property
    def stages(self) -> list[int]:
        """Blocks per stage: a new stage starts when the parent container or the output resolution changes."""
        counts, previous = [], None
        for block in self.blocks:
            key = (block.parent, block.resolution)
            if key != previous:
                counts.append(0)
                previous = key
            counts[-1] += 1
        return counts

    @property
    def kernels(self) -> str:
        """The main blocks' kernels by position, for the most common sequence length ('1×1, 3×3/5×5, 1×1')."""
        sequences = [[layer.label for layer in block.layers] for block in self.main_blocks]
        length = Counter(len(seq) for seq in sequences).most_common(1)[0][0]
        columns = [[] for _ in range(length)]
        for seq in sequences:
            if len(seq) == length:
                for position, label in enumerate(seq):
                    if label not in columns[position]:
                        columns[position].append(label)
        return _compress(["/".join(sorted(labels, key=_kernel_order)) for labels in columns])

    @property
    def cef(self) -> tuple[float, float]:
        """(min, max) of the blocks' expansion over the repeated main blocks (all main blocks if none repeat)."""
        chosen = [block for block in self.main_blocks if block.repeated] or self.main_blocks
        values = [block.expansion for block in chosen]
        return min(values), max(values)

    def row(self) -> dict:
        """This model's row of Table 9, with the paper's column names as keys of :data:`COLUMNS`."""
        main_path = [layer for block in self.blocks for layer in block.layers]
        return {
            "block": self.kind,
            "kernels": self.kernels,
            "stages": len(self.stages),
            "blocks_per_stage": ",".join(str(n) for n in self.stages),
            "nonlinearity": ", ".join(_unique(a for block in self.blocks for a in block.activations)) or "none",
            "cef": _format_range(*self.cef),
            "stem": "; ".join(f"{kh}×{kw}, /{stride}" for kh, kw, stride in self.stem),
            "dconv": _yes_no(any(layer.depthwise for layer in main_path)),
            "se": _yes_no(any(block.se for block in self.blocks)),
            "norm": ", ".join(_unique(n for block in self.blocks for n in block.norms)) or "none",
        }

    def inventory(self) -> pd.DataFrame:
        """How many blocks of each class and kind the model has, with their kernel sequences and expansion."""
        rows = Counter((block.cls, block.kind, ", ".join(layer.label for layer in block.layers),
                        round(block.expansion, 2)) for block in self.blocks)
        return pd.DataFrame([{"backbone": self.name, "class": c, "kind": k, "kernels": s, "expansion": e, "blocks": n}
                             for (c, k, s, e), n in rows.items()])


def introspect(model: nn.Module, name: str = "", probe_size: int = PROBE_SIZE) -> Architecture:
    """Walk ``model``'s module tree (and run one probe forward pass) to collect its Table 9 facts."""
    blocks, stem, modules = _find_blocks(model)
    if not blocks:
        raise ConfigError(f"model {name or type(model).__name__} has no block of a known class; add its block class "
                          f"to book.architecture.BLOCK_CLASSES (known: {', '.join(c.__name__ for c in BLOCK_CLASSES)}, "
                          f"and DenseNet's layers)")
    _record_resolutions(model, blocks, modules, probe_size)
    return Architecture(name, blocks, [(*conv.kernel_size, conv.stride[0]) for conv in stem])


def introspect_backbone(name: str, probe_size: int = PROBE_SIZE) -> Architecture:
    """Introspect backbone ``name`` as :func:`lib.models.build` builds it (ImageNet head)."""
    return introspect(meta_backbone(name), name, probe_size)


@lru_cache(maxsize=None)
def meta_backbone(name: str) -> nn.Module:
    """Backbone ``name`` built by :func:`lib.models.build` (ImageNet head), then moved to the meta device.

    Introspection, parameter counts and FLOP counts need shapes only; on the meta device a forward pass computes
    nothing, so it costs milliseconds, and the model is built once per session for both."""
    return models.build(name, models.IMAGENET_CLASSES).to("meta")


def architecture_table(backbones: list[str] | None = None, probe_size: int = PROBE_SIZE
                       ) -> tuple[pd.DataFrame, dict[str, Architecture]]:
    """Table 9 as introspected for ``backbones`` (all eleven by default), in the paper's Table 9 order, the two
    Swin models (not in the paper's table) last; also returns each backbone's :class:`Architecture`."""
    paper_order = list(paper_table9()["backbone"])
    names = _check_backbones(backbones)
    names = sorted(names, key=lambda n: paper_order.index(n) if n in paper_order else len(paper_order))
    archs = {name: introspect_backbone(name, probe_size) for name in names}
    rows = [{"backbone": name, "display": models.spec(name).display, "in_paper_table9": name in paper_order,
             **arch.row()} for name, arch in archs.items()]
    return pd.DataFrame(rows), archs


# --- the paper's Table 9 and the comparison ---------------------------------------------------------------------


def paper_table9() -> pd.DataFrame:
    """The paper's Table 9 (later version; identical in the earlier one) as transcribed in ``results/paper``."""
    if not TABLE9_CSV.exists():
        raise ConfigError(f"paper table {TABLE9_CSV} is missing; restore it with "
                          f"'git checkout -- results/paper/table9.csv'")
    return pd.read_csv(TABLE9_CSV, dtype=str, keep_default_na=False)


# Why the introspected cell differs from the paper's, keyed by (backbone, column).
DIFFERENCE_NOTES: dict[tuple[str, str], str] = {
    ("densenet161", "block"):
        "torchvision's _DenseLayer is a 1×1 conv to bn_size·k = 192 channels, then a 3×3 conv to the growth rate "
        "k = 48. Its input is the concatenation of every earlier layer's output, so in most layers the 1×1 narrows "
        "it: Huang et al. call this a bottleneck layer (DenseNet-B). The paper's 'Inverted BN' compares the 192 "
        "channels with the 48 the layer writes, not with what it reads.",
    ("densenet161", "cef"):
        "No DenseNet layer widens its input except the first layers of block 1 (fewer than 192 input channels). "
        "The paper's 4 is torchvision's bn_size: the 1×1's 192 output channels over the 3×3's 48, which is a "
        "4× contraction, not an expansion.",
    ("mobilenet_v3_large", "stages"):
        "torchvision's first block (16 channels, no expansion) runs at the stem's 1/2 resolution, before any "
        "down-sampling block, so it forms a stage of its own; the paper's four stages leave it out.",
    ("mobilenet_v3_large", "blocks_per_stage"):
        "The leading 1 is the 16-channel block at 1/2 resolution (see # Stages); the other four stages agree.",
    ("mobilenet_v3_large", "nonlinearity"):
        "torchvision's MobileNetV3 uses nn.Hardswish (h-swish, Howard et al.'s piecewise-linear approximation of "
        "swish, i.e. of SiLU) and ReLU; no SiLU module occurs. The SE gate (Hardsigmoid) is not counted.",
    ("mobilenet_v3_large", "cef"):
        "Three repeated 80-channel blocks expand to 200 and 184 channels (2.5× and 2.3×, as in Howard et al.'s "
        "Table 1); the paper's range starts at 3.",
    ("wavemix_192_16", "kernels"):
        "A wave block has a 1×1 reduction (192→48) and three MLP branches, each 1×1, 1×1 and a 4×4 transposed conv "
        "with stride 2 that restores the resolution the DWT halved. The paper lists the reduction and one branch's "
        "two 1×1 convs, not the transposed convs.",
    ("wavemix_192_16", "stem"):
        "WaveMix-192/16's stem has two 3×3 stride-1 convs (3→48→96 channels, at full resolution) before the 4×4 "
        "stride-4 patchify conv; the paper lists only the patchify conv.",
}


def _normalise(column: str, value: str) -> object:
    """A cell in a comparable form: spacing, case, 'x' for '×', order of listed items and number ranges."""
    text = str(value).strip().replace("x", "×").replace(" ", "").replace("–", "-")
    if column in ("nonlinearity", "norm"):
        return frozenset(text.lower().split(","))
    if column == "cef":
        low, _, high = text.partition("-")
        return round(float(low), 1), round(float(high or low), 1)
    return text.lower()


def compare_with_paper(ours: pd.DataFrame) -> pd.DataFrame:
    """One row per (backbone, column) of the paper's Table 9: the paper's cell, ours, whether they agree, and
    the note that explains a difference (empty where they agree, "UNEXPLAINED" where no note exists)."""
    paper = paper_table9().set_index("backbone")
    rows = []
    for _, row in ours[ours["backbone"].isin(paper.index)].iterrows():
        for column in COLUMNS:
            theirs = paper.at[row["backbone"], column]
            same = _normalise(column, theirs) == _normalise(column, row[column])
            note = "" if same else DIFFERENCE_NOTES.get((row["backbone"], column), "UNEXPLAINED")
            rows.append({"backbone": row["backbone"], "column": column, "paper": theirs, "ours": str(row[column]),
                         "same": same, "note": note})
    return pd.DataFrame(rows, columns=["backbone", "column", "paper", "ours", "same", "note"])


# Table 9's columns in two halves, so that each half fits the page column beside the backbone and the source.
TABLE9_PARTS = {"blocks and stages": ["block", "kernels", "stages", "blocks_per_stage"],
                 "layers": ["nonlinearity", "cef", "stem", "dconv", "se", "norm"]}
HIGHLIGHT = "background-color: #ffe08a; font-weight: bold"


def side_by_side_frame(ours: pd.DataFrame) -> pd.DataFrame:
    """The paper's rows and ours interleaved, one backbone after the other (``source`` = paper, ours, or "ours only"
    for the two Swin models, which the paper's table leaves out); code ids in ``backbone``, every column."""
    paper = paper_table9().assign(source="paper")
    ours = ours.assign(source=["ours" if p else "ours only" for p in ours["in_paper_table9"]])
    both = pd.concat([paper, ours], ignore_index=True)
    order = {name: i for i, name in enumerate(ours["backbone"])}
    both = both[both["backbone"].isin(order)]
    both = both.assign(_o=both["backbone"].map(order), _s=both["source"] != "paper").sort_values(["_o", "_s"])
    return both[["backbone", "source", *COLUMNS]].reset_index(drop=True)


def side_by_side(ours: pd.DataFrame, comparison: pd.DataFrame, columns: list[str] | None = None,
                 csv: str | None = None, caption: str | None = None):
    """The paper's rows and ours (:func:`side_by_side_frame`) as a reader's table: backbones by display name,
    ``columns`` (keys of :data:`COLUMNS`; default all) under the paper's headers, every cell of ours that differs
    from the paper highlighted; with ``csv``, every column offered as a CSV download below it."""
    from IPython.display import HTML

    from book import present

    columns = list(columns or COLUMNS)
    frame = side_by_side_frame(ours)
    differs = set(comparison.loc[~comparison["same"], ["backbone", "column"]].itertuples(index=False, name=None))
    style = pd.DataFrame([[HIGHLIGHT if s != "paper" and (b, c) in differs else "" for c in columns]
                          for b, s in zip(frame["backbone"], frame["source"])], columns=[COLUMNS[c] for c in columns])
    table = frame.assign(backbone=frame["backbone"].map(present.backbone_name))
    table = table.set_index(["backbone", "source"])[columns].rename(columns=COLUMNS)
    style.index = table.index
    styler = table.style.apply(lambda _: style, axis=None).hide(names=True, axis="index")
    if caption:
        styler = styler.set_caption(caption)
    markup = styler.to_html()
    if csv:
        markup += present.csv_link(frame, csv, "Table 9, the paper's rows and ours, every column")
    return HTML(markup)


def differences_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """One row per cell where ours differs from the paper: backbone, the column's Table 9 header, both cells and
    the note that explains the difference."""
    differing = comparison[~comparison["same"]]
    return differing.assign(column=differing["column"].map(COLUMNS))[["backbone", "column", "paper", "ours", "note"]]


def differences_markdown(comparison: pd.DataFrame) -> str:
    """:func:`differences_table` as a Markdown list a reader can take in (a note is a paragraph, too long for a
    table cell): "**DenseNet-161, Block**: paper *Inverted BN*, ours *Bottleneck*. <note>"."""
    from book import present

    rows = differences_table(comparison)
    return "\n".join(f"- **{present.backbone_name(r.backbone)}, {r.column}**: paper *{r.paper}*, ours "
                     f"*{r.ours}*. {r.note}" for r in rows.itertuples())


def plot_size_compute(efficiency: pd.DataFrame, input_size: int):
    """Parameters against GMACs at ``input_size``, one labelled point per backbone in the book's palette (ours)."""
    import matplotlib.pyplot as plt

    from book import present

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for row in efficiency.itertuples():   # a legend, not direct labels: five backbones sit within 4 M and 1 GMAC
        name = present.backbone_name(row.backbone)
        ax.scatter(row.params_m_ours, row.gmacs_ours, s=50, color=present.colour(name), edgecolor="#333333",
                   linewidth=0.5, zorder=3, label=name)
    ax.set(xlabel="parameters (millions), ours", ylabel=f"GMACs per image at {input_size}×{input_size}, ours")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_throughput(timed: pd.DataFrame):
    """Forward and training-step images/s, one bar per timed backbone in the book's palette (ours, this machine)."""
    import matplotlib.pyplot as plt

    from book import present

    timed = timed.sort_values("train_img_s")
    names = [present.backbone_name(b) for b in timed["backbone"]]
    colours = [present.colour(n) for n in names]
    fig, axes = plt.subplots(1, 2, figsize=(8, 0.32 * len(timed) + 1.6), sharey=True)
    for ax, column, label in zip(axes, ("forward_img_s", "train_img_s"), ("forward", "training step")):
        ax.barh(names, timed[column], color=colours, edgecolor="#333333", linewidth=0.4)
        ax.set_xlabel(f"{label}, images/s (ours)")
        ax.grid(axis="x", alpha=0.3)
    side, batch = int(timed["timing_size"].iloc[0]), int(timed["timing_batch"].iloc[0])
    fig.suptitle(f"{side}×{side} inputs, batch {batch}, on {timed['device'].iloc[0]}", fontsize=9)
    fig.tight_layout()
    return fig


# --- size, FLOPs and speed ----------------------------------------------------------------------------------------


def timing_plan(profile: str, image_size: int | None = None, batch_size: int | None = None) -> TimingPlan:
    """The timing plan of ``profile`` (``lib.profiles``); a non-zero ``image_size`` or ``batch_size`` overrides the
    profile's."""
    plan = profiles.get(profile).timing
    return dataclasses.replace(plan, image_size=image_size or plan.image_size, batch_size=batch_size or plan.batch_size)


def count_flops(model: nn.Module, input_size: int) -> int:
    """FLOPs of one forward pass on one ``input_size`` x ``input_size`` image, as FlopCounterMode counts them
    (2 per multiply-add, matrix products and convolutions only). The count depends on shapes only, so a model on
    the meta device gives the same number without computing anything."""
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, 3, input_size, input_size, device=_device_of(model)))
    return counter.get_total_flops()


def measure_throughput(model: nn.Module, image_size: int, batch_size: int, steps: int, device: str = "cpu",
                       repeats: int = 3) -> dict[str, float]:
    """Images per second of inference (eval, no grad) and of a training step (forward, cross-entropy, backward,
    SGD update) on random inputs: the median of ``repeats`` timings of ``steps`` steps, after one untimed step."""
    from lib.timing import step_rate

    model = model.to(device)
    x = torch.randn(batch_size, 3, image_size, image_size, device=device)
    y = torch.zeros(batch_size, dtype=torch.long, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    result = {}
    for key, mode, step in (("forward_img_s", False, forward), ("train_img_s", True, train_step)):
        model.train(mode)
        result[key] = step_rate(step, batch_size, calls=steps, repeats=repeats, device=device)["per_s_median"]
    return result


def efficiency_table(backbones: list[str] | None = None, input_size: int = 256, time_it: bool = True,
                     plan: TimingPlan = profiles.get("ci").timing, device: str | None = None) -> pd.DataFrame:
    """Parameters (ImageNet head) and FLOPs at ``input_size`` for every backbone (ours), the paper's parameter
    count (Table 2) beside them, and, where ``plan`` says so, measured throughput labelled with the device."""
    from lib import paper

    names = _check_backbones(backbones)
    multiple = wavemix.SIDE_MULTIPLE
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < multiple \
            or input_size % multiple:
        raise ConfigError(f"input_size={input_size!r} is not allowed; give a multiple of {multiple} (WaveMix needs "
                          f"it), e.g. 256 as in the paper")
    for key in ("image_size", "batch_size", "steps"):
        value = getattr(plan, key)
        if not isinstance(value, int) or value < 1 or (key == "image_size" and value % multiple):
            raise ConfigError(f"timing {key}={value!r} is not allowed; give a positive integer"
                              f"{f' divisible by {multiple}' if key == 'image_size' else ''}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    timed = set(names if plan.backbones is None else plan.backbones) if time_it else set()
    paper_params = paper.table2().set_index("backbone")["params_m"].astype(float)
    rows = []
    for name in names:
        model = meta_backbone(name)
        flops = count_flops(model, input_size)
        row = {"backbone": name, "display": models.spec(name).display,
               "params_m_paper": paper_params.get(name, float("nan")),
               "params_m_ours": sum(p.numel() for p in model.parameters()) / 1e6,
               "input_size": input_size, "gflops_ours": flops / 1e9, "gmacs_ours": flops / 2e9}
        if name in timed:  # a real model, with real (random) weights
            model = models.build(name, models.IMAGENET_CLASSES)
            load = os.getloadavg()[0]  # other processes on the machine slow the timing down; keep it on record
            threads = torch.get_num_threads()
            try:
                torch.set_num_threads(plan.threads or threads)
                row.update(measure_throughput(model, plan.image_size, plan.batch_size, plan.steps, device))
                row.update(timing_size=plan.image_size, timing_batch=plan.batch_size, device=device_name(device),
                           load_1min=load)
            finally:
                torch.set_num_threads(threads)
        rows.append(row)
    return pd.DataFrame(rows)


# --- small helpers ------------------------------------------------------------------------------------------------


def _check_backbones(backbones: list[str] | None) -> list[str]:
    if backbones is None:
        return models.names()
    if isinstance(backbones, str) or not backbones:
        raise ConfigError(f"backbones={backbones!r} is not allowed; give a non-empty list of names from "
                          f"lib.models.names(), or None for all eleven")
    for name in backbones:
        models.spec(name)  # raises UnknownNameError listing the valid names
    return list(backbones)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def _format_number(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _format_range(low: float, high: float) -> str:
    return _format_number(low) if _format_number(low) == _format_number(high) else \
        f"{_format_number(low)}-{_format_number(high)}"


def _kernel_order(label: str) -> tuple:
    digits = "".join(ch if ch.isdigit() else " " for ch in label).split()
    return (int(digits[0]) if digits else 0, label)


def _compress(labels: list[str]) -> str:
    """Join kernel labels, writing a run of a repeated group once with a count: '1×1, (1×1, 1×1, 4×4ᵀ)×3'."""
    for start in range(len(labels)):
        rest = labels[start:]
        for width in range(2, len(rest) // 2 + 1):
            times = len(rest) // width
            if times >= 2 and width * times == len(rest) and rest == rest[:width] * times:
                head = labels[:start] + [f"({', '.join(rest[:width])})×{times}"]
                return ", ".join(head)
    return ", ".join(labels)
