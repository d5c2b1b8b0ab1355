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

MAP_CACHE_BYTES = 64 * 2**20
"""Source-pixel maps kept per process (least recently used dropped first). Shear and rotate have 183 distinct
(op, magnitude) pairs; at 256 x 256 their maps take 48 MB, so all of them stay."""


class TrivialAugmentWide:
    """Callable ``uint8 C x H x W tensor -> augmented uint8 tensor``: ``v2.TrivialAugmentWide()``'s draws and output.

    Picklable (DataLoader workers get a copy; each builds its own cache of source-pixel maps).
    """

    def __init__(self):
        self.reference = v2.TrivialAugmentWide()
        self.names = tuple(self.space)
        self.bins = self.reference.num_magnitude_bins
        self.tables: dict = {}   # (op, H, W) -> magnitudes
        self.maps: collections.OrderedDict = collections.OrderedDict()   # (op, magnitude, H, W) -> source positions
        self.map_bytes = 0

    @property
    def space(self) -> dict:
        """torchvision's table: op name -> (magnitudes for (bins, height, width), whether a sign is drawn)."""
        return self.reference._AUGMENTATION_SPACE

    def __getstate__(self):   # workers start with an empty cache rather than a pickled copy of this one
        return {**self.__dict__, "tables": {}, "maps": collections.OrderedDict(), "map_bytes": 0}

    def magnitudes(self, name: str, height: int, width: int) -> list[float] | None:
        """torchvision's magnitude bins of op ``name`` as Python floats (computed once per op and size)."""
        key = (name, height, width)
        if key not in self.tables:
            values = self.space[name][0](self.bins, height, width)
            self.tables[key] = None if values is None else [float(v) for v in values]
        return self.tables[key]

    def every_draw(self, height: int, width: int, ops=None) -> list[tuple[str, float]]:
        """Every (op, magnitude) that :meth:`draw` can return at this size (all bins, both signs where signed), for
        the ops ``ops`` (default: all)."""
        return [(op, sign * m) for op in (ops or self.names) for m in self.magnitudes(op, height, width) or [0.0]
                for sign in ((1, -1) if self.space[op][1] else (1,))]

    def draw(self, height: int, width: int) -> tuple[str, float]:
        """(op, magnitude), drawing from torch's global generator exactly as torchvision's ``forward`` does."""
        name = self.names[int(torch.randint(len(self.names), ()))]
        magnitudes = self.magnitudes(name, height, width)
        if magnitudes is None:
            return name, 0.0
        magnitude = magnitudes[int(torch.randint(self.bins, ()))]
        if self.space[name][1] and torch.rand(()) <= 0.5:
            magnitude *= -1
        return name, magnitude

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        name, magnitude = self.draw(*image.shape[-2:])
        return self.apply(image, name, magnitude)

    def apply(self, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
        """Op ``name`` at ``magnitude``: a fast kernel where there is one for this input, else torchvision's."""
        kernel = KERNELS.get(name)
        if kernel is None or image.dtype != torch.uint8 or image.ndim != 3 or image.shape[0] not in (1, 3) \
                or image.device.type != "cpu" or image[0].numel() >= 2**24:   # positions exact in float32
            return self.torchvision(image, name, magnitude)
        return kernel(self, image, name, magnitude)

    def torchvision(self, image: torch.Tensor, name: str, magnitude: float) -> torch.Tensor:
        """torchvision's own kernel for op ``name`` (the reference every fast kernel is tested against)."""
        return self.reference._apply_image_or_video_transform(
            image, name, magnitude, interpolation=self.reference.interpolation, fill=self.reference._fill)

    def sources(self, name: str, magnitude: float, height: int, width: int) -> np.ndarray:
        """For each output pixel (row-major), the position of the source pixel torchvision's op takes it from;
        ``height * width`` where it falls outside the image (torchvision fills zeros there).

        The first call for an image size tabulates every geometric (op, magnitude) of that size at once when they fit
        in :data:`MAP_CACHE_BYTES` (~0.2 s per process at 256 x 256, then never again), else only the one asked for.
        """
        key = (name, magnitude, height, width)
        if key not in self.maps:
            geometric = [op for op, kernel in KERNELS.items() if kernel is _resample]
            pairs = list(dict.fromkeys(self.every_draw(height, width, geometric)))   # -0.0 == 0.0: one map
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
        taken = self.torchvision(positions, name, magnitude).reshape(-1).to(torch.int64) - 1
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
        return self.torchvision(image, name, magnitude)
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
