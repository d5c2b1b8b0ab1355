"""TrivialAugmentWide on uint8 image tensors: torchvision's draws and torchvision's pixels, several times faster.

The paper augments every training image with TrivialAugmentWide. On a 3 x 256 x 256 uint8 image (one CPU thread)
torchvision's v2 kernels spend most of their time in a few places: a depthwise 3x3 float convolution for Sharpness,
a float comparison and ``torch.where`` for Solarize, the sampling grid of every shear and rotation (a matrix product
over all pixels), and float -> uint8 casts, which torch does not vectorise. :class:`TrivialAugmentWide` draws its op
and magnitude with the same calls on torch's global generator, in the same order, as
``torchvision.transforms.v2.TrivialAugmentWide``, then applies a kernel from :data:`KERNELS` that returns the same
bits as torchvision's:

- **shear, rotate**: which source pixel lands where is found once per (op, magnitude, image size) by running
  torchvision's own op on an image whose values are the pixel positions, kept, and re-used as a look-up
  (nearest-neighbour sampling copies pixels, so this is exact);
- **translate**: torchvision translates by a whole number of pixels, i.e. a shift with zeros shifted in;
- **Sharpness**: the 3x3 blur is summed in integers; torchvision's float convolution rounds to the same integers
  because ``sum / 13`` is never within float error of a rounding tie (13 is odd, so ``sum / 13`` is never ``k + 0.5``);
  the blend then runs torchvision's own float operations on the same tensors;
- **Solarize**: ``x >= threshold`` for a uint8 ``x`` is ``x >= ceil(threshold)``, the threshold rounded to float32 as
  torch's comparison rounds it;
- **Brightness, Color, Contrast, AutoContrast**: torchvision's float operations, after one uint8 -> float32
  conversion and with numpy's vectorised cast back;
- **Equalize**: the same integer look-up table from a faster histogram.

Identity and Posterize, and any input that is not a CPU ``C x H x W`` uint8 tensor, go to torchvision's own kernel.
``tests/test_augment.py`` checks every op at every magnitude and sign against torchvision on several image sizes, and
a long seeded stream against ``v2.TrivialAugmentWide`` itself, so the speed-up cannot change a result unnoticed;
``python -m bench --only augment`` measures it op by op.
"""
from __future__ import annotations

import collections
import math

import numpy as np
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

MAP_CACHE_BYTES = 64 * 2**20
"""Source-pixel maps kept per process (least recently used dropped first). Shear and rotate have 183 distinct
(op, magnitude) pairs; at 256 x 256 their maps take 48 MB, so all of them stay."""

BINS = 31
"""Magnitude bins of TrivialAugment Wide (torchvision's ``num_magnitude_bins`` default)."""

SPACE = {
    "Identity": (None, False),
    "ShearX": (torch.linspace(0.0, 0.99, BINS), True),
    "ShearY": (torch.linspace(0.0, 0.99, BINS), True),
    "TranslateX": (torch.linspace(0.0, 32.0, BINS), True),
    "TranslateY": (torch.linspace(0.0, 32.0, BINS), True),
    "Rotate": (torch.linspace(0.0, 135.0, BINS), True),
    "Brightness": (torch.linspace(0.0, 0.99, BINS), True),
    "Color": (torch.linspace(0.0, 0.99, BINS), True),
    "Contrast": (torch.linspace(0.0, 0.99, BINS), True),
    "Sharpness": (torch.linspace(0.0, 0.99, BINS), True),
    "Posterize": ((8 - (torch.arange(BINS) / ((BINS - 1) / 6))).round().int(), False),
    "Solarize": (torch.linspace(1.0, 0.0, BINS), False),
    "AutoContrast": (None, False),
    "Equalize": (None, False),
}
"""TrivialAugment Wide's ops in torchvision's order: op -> (its magnitude bins or None, whether a sign is drawn). The
wide ranges of Muller & Hutter (2021); ``tests/test_augment.py`` checks a long seeded stream against
``torchvision.transforms.v2.TrivialAugmentWide``, so a difference in this table cannot go unnoticed."""


def reference(image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    """Op ``name`` at ``magnitude`` by torchvision's public kernels, with the arguments its ``TrivialAugmentWide``
    passes (nearest-neighbour resampling, zero fill): what every fast kernel is tested against."""
    nearest, shear = v2.InterpolationMode.NEAREST, math.degrees(math.atan(magnitude))
    affine = dict(angle=0.0, scale=1.0, interpolation=nearest, fill=None)
    ops = {
        "Identity": lambda: image,
        "ShearX": lambda: F.affine(image, translate=[0, 0], shear=[shear, 0.0], center=[0, 0], **affine),
        "ShearY": lambda: F.affine(image, translate=[0, 0], shear=[0.0, shear], center=[0, 0], **affine),
        "TranslateX": lambda: F.affine(image, translate=[int(magnitude), 0], shear=[0.0, 0.0], **affine),
        "TranslateY": lambda: F.affine(image, translate=[0, int(magnitude)], shear=[0.0, 0.0], **affine),
        "Rotate": lambda: F.rotate(image, angle=magnitude, interpolation=nearest, fill=None),
        "Brightness": lambda: F.adjust_brightness(image, brightness_factor=1.0 + magnitude),
        "Color": lambda: F.adjust_saturation(image, saturation_factor=1.0 + magnitude),
        "Contrast": lambda: F.adjust_contrast(image, contrast_factor=1.0 + magnitude),
        "Sharpness": lambda: F.adjust_sharpness(image, sharpness_factor=1.0 + magnitude),
        "Posterize": lambda: F.posterize(image, bits=int(magnitude)),
        "Solarize": lambda: F.solarize(image, threshold=(255.0 if image.dtype == torch.uint8 else 1.0) * magnitude),
        "AutoContrast": lambda: F.autocontrast(image),
        "Equalize": lambda: F.equalize(image),
    }
    return ops[name]()


class TrivialAugmentWide:
    """Callable ``uint8 C x H x W tensor -> augmented uint8 tensor``: ``v2.TrivialAugmentWide()``'s draws and output.

    Picklable (DataLoader workers get a copy; each builds its own cache of source-pixel maps).
    """

    def __init__(self):
        self.names = tuple(SPACE)
        self.maps: collections.OrderedDict = collections.OrderedDict()   # (op, magnitude, H, W) -> source positions
        self.map_bytes = 0

    def __getstate__(self):   # workers start with an empty cache rather than a pickled copy of this one
        return {**self.__dict__, "maps": collections.OrderedDict(), "map_bytes": 0}

    @staticmethod
    def magnitudes(name: str) -> list[float] | None:
        """The magnitude bins of op ``name`` as Python floats, or None for an op without magnitude."""
        values = SPACE[name][0]
        return None if values is None else [float(v) for v in values]

    def every_draw(self, ops=None) -> list[tuple[str, float]]:
        """Every (op, magnitude) that :meth:`draw` can return (all bins, both signs where signed), for the ops
        ``ops`` (default: all)."""
        return [(op, sign * m) for op in (ops or self.names) for m in self.magnitudes(op) or [0.0]
                for sign in ((1, -1) if SPACE[op][1] else (1,))]

    def draw(self) -> tuple[str, float]:
        """(op, magnitude), drawing from torch's global generator with the calls, in the order, of torchvision's."""
        name = self.names[int(torch.randint(len(self.names), ()))]
        magnitudes = self.magnitudes(name)
        if magnitudes is None:
            return name, 0.0
        magnitude = magnitudes[int(torch.randint(BINS, ()))]
        if SPACE[name][1] and torch.rand(()) <= 0.5:
            magnitude *= -1
        return name, magnitude

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return self.apply(image, *self.draw())

    def apply(self, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
        """Op ``name`` at ``magnitude``: a fast kernel where there is one for this input, else torchvision's."""
        kernel = KERNELS.get(name)
        if kernel is None or image.dtype != torch.uint8 or image.ndim != 3 or image.shape[0] not in (1, 3) \
                or image.device.type != "cpu" or image[0].numel() >= 2**24:   # positions exact in float32
            return reference(image, name, magnitude)
        return kernel(self, image, name, magnitude)

    def sources(self, name: str, magnitude: float, height: int, width: int) -> np.ndarray:
        """For each output pixel (row-major), the position of the source pixel torchvision's op takes it from;
        ``height * width`` where it falls outside the image (torchvision fills zeros there).

        The first call for an image size tabulates every geometric (op, magnitude) of that size at once when they fit
        in :data:`MAP_CACHE_BYTES` (~0.2 s per process at 256 x 256, then never again), else only the one asked for.
        """
        key = (name, magnitude, height, width)
        if key not in self.maps:
            geometric = [op for op, kernel in KERNELS.items() if kernel is _resample]
            pairs = list(dict.fromkeys(self.every_draw(geometric)))   # -0.0 == 0.0: one map
            if len(pairs) * height * width * 4 > MAP_CACHE_BYTES or (name, magnitude) not in pairs:
                pairs = [(name, magnitude)]   # too many to keep, or a magnitude TrivialAugmentWide never draws
            for op, m in pairs:
                self.maps[(op, m, height, width)] = self._source_map(op, m, height, width)
                self.map_bytes += height * width * 4
            while self.map_bytes > MAP_CACHE_BYTES and len(self.maps) > 1:
                self.map_bytes -= self.maps.popitem(last=False)[1].nbytes
        self.maps.move_to_end(key)
        return self.maps[key]

    def _source_map(self, name: str, magnitude: float, height: int, width: int) -> np.ndarray:
        # torchvision's op on an image whose values are 1 + each pixel's position: nearest-neighbour sampling copies
        # values, so each output pixel holds 1 + the position it was taken from, or 0 where it fell outside.
        positions = torch.arange(1, height * width + 1, dtype=torch.float32).view(1, height, width)
        taken = reference(positions, name, magnitude).reshape(-1).to(torch.int64) - 1
        taken[taken < 0] = height * width
        return taken.to(torch.int32).numpy()

    def __repr__(self) -> str:
        return "TrivialAugmentWide(torchvision's draws and output, fast uint8 kernels)"


def _to_uint8(values: torch.Tensor) -> torch.Tensor:
    """Float values already clamped to [0, 255] -> uint8, truncating as torch's ``.to(torch.uint8)`` does; numpy's
    cast is vectorised and torch's float -> uint8 is not (0.02 vs 0.11 ms for 3 x 256 x 256)."""
    return torch.from_numpy(values.numpy().astype(np.uint8))


def _float(image: torch.Tensor) -> torch.Tensor:
    """uint8 -> float32 first, then float arithmetic: the values torch computes for ``uint8_tensor * float`` (which
    converts each element on the fly, unvectorised), faster."""
    return image.to(torch.float32)


def _blend(image: torch.Tensor, other: torch.Tensor, ratio: float) -> torch.Tensor:
    """torchvision's ``_blend`` for uint8: ``image * ratio + other * (1 - ratio)``, clamped and truncated."""
    return _to_uint8(_float(image).mul_(ratio).add_(other, alpha=1.0 - ratio).clamp_(0, 255))


def _grayscale(image: torch.Tensor) -> torch.Tensor:
    """torchvision's grey level of a uint8 RGB image (ITU-R 601-2 luma, floored), as float32 ``1 x H x W``."""
    r, g, b = _float(image).unbind(dim=-3)
    return r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).unsqueeze(dim=-3).floor_()


def _brightness(self: TrivialAugmentWide, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    return _to_uint8(_float(image).mul_(1.0 + magnitude).clamp_(0, 255))


def _color(self: TrivialAugmentWide, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    if image.shape[0] == 1:   # torchvision leaves a grey image as it is
        return image
    return _blend(image, _grayscale(image), 1.0 + magnitude)


def _contrast(self: TrivialAugmentWide, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    grey = _grayscale(image) if image.shape[0] == 3 else _float(image)
    return _blend(image, torch.mean(grey, dim=(-3, -2, -1), keepdim=True), 1.0 + magnitude)


def _autocontrast(self: TrivialAugmentWide, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    values = _float(image)
    low, high = values.amin(dim=(-2, -1), keepdim=True), values.amax(dim=(-2, -1), keepdim=True)
    flat = high == low   # a constant channel is left as it is
    scale = high.sub_(low).mul_(1.0 / 255)
    low[flat], scale[flat] = 0.0, 1.0
    return _to_uint8(values.sub_(low).div_(scale).clamp_(0, 255))


def _resample(self: TrivialAugmentWide, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    channels, height, width = image.shape
    flat = image.reshape(channels, height * width).numpy()
    padded = np.concatenate([flat, np.zeros((channels, 1), dtype=np.uint8)], axis=1)   # position h * w: a zero
    taken = np.take(padded, self.sources(name, magnitude, height, width), axis=1)
    return torch.from_numpy(taken).view(channels, height, width)


def _translate(self: TrivialAugmentWide, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    shift, dim = int(magnitude), (-1 if name == "TranslateX" else -2)   # torchvision's int(): towards zero
    out = torch.zeros_like(image)
    size = image.shape[dim]
    if abs(shift) < size:
        if shift >= 0:
            out.narrow(dim, shift, size - shift).copy_(image.narrow(dim, 0, size - shift))
        else:
            out.narrow(dim, 0, size + shift).copy_(image.narrow(dim, -shift, size + shift))
    return out


def _sharpness(self: TrivialAugmentWide, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    if image.shape[-1] <= 2 or image.shape[-2] <= 2:
        return reference(image, name, magnitude)
    factor = 1.0 + magnitude
    # the blur kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 as integer sums (at most 13 * 255, fits int16)
    pixels = image.to(torch.int16)
    rows = pixels[..., :-2] + pixels[..., 1:-1] + pixels[..., 2:]
    sums = rows[..., :-2, :] + rows[..., 1:-1, :] + rows[..., 2:, :] + 4 * pixels[..., 1:-1, 1:-1]
    blurred = sums.to(torch.float32).div_(13.0).round_()
    # from here on torchvision's own operations, on tensors of the same shapes and strides
    output = image.to(dtype=torch.float32, copy=True)
    view = output[..., 1:-1, 1:-1]
    view.add_(blurred.sub_(view), alpha=(1.0 - factor))
    return _to_uint8(output.clamp_(0, 255))


def _solarize(self: TrivialAugmentWide, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    threshold = float(torch.tensor(255.0 * magnitude, dtype=torch.float32))   # as torch compares uint8 to a float
    first = math.ceil(threshold)
    if first > 255:
        return image.clone()
    # torchvision's where(x >= threshold, ~x, x), as x XOR 255 where inverted, in numpy (torch.where and torch's
    # uint8 comparison are unvectorised: 1 ms against 0.02 ms)
    pixels = image.numpy()
    return torch.from_numpy(pixels ^ ((pixels >= max(first, 0)).view(np.uint8) * np.uint8(255)))


def _equalize(self: TrivialAugmentWide, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
    channels = image.shape[0]
    flat = image.reshape(channels, -1)
    pixels, out = flat.numpy(), np.empty((channels, flat.shape[1]), dtype=np.uint8)
    for c in range(channels):
        hist = torch.bincount(flat[c], minlength=256).numpy()
        cum = np.cumsum(hist)
        # PIL's table, as torchvision computes it: step = pixels not of the channel's largest value // 255
        step = (flat.shape[1] - int(hist[int(cum.argmax())])) // 255
        if step == 0:   # torchvision leaves such a channel as it is
            out[c] = pixels[c]
            continue
        lut = np.zeros(256, dtype=np.uint8)
        lut[1:] = np.clip((cum[:-1] + step // 2) // step, 0, 255)
        out[c] = np.take(lut, pixels[c])
    return torch.from_numpy(out).view_as(image)


KERNELS = {"ShearX": _resample, "ShearY": _resample, "Rotate": _resample, "TranslateX": _translate,
           "TranslateY": _translate, "Brightness": _brightness, "Color": _color, "Contrast": _contrast,
           "Sharpness": _sharpness, "Solarize": _solarize, "AutoContrast": _autocontrast, "Equalize": _equalize}
"""Ops with a fast uint8 kernel; Identity and Posterize (a bit mask) are cheap already and run torchvision's."""
