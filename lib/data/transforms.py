"""From decoded pixels to model input: resize once at decode time, augment and normalise per item.

Order per item: uint8 image -> the dataset's augmentation (train only; :data:`AUGMENTATIONS`) -> float in [0, 1] ->
ImageNet mean/std. Augmentation runs on uint8 tensors and draws only from torch's global generator (the trainer's
loaders seed it per image): the paper's TrivialAugmentWide (torchvision's draws and pixels, faster kernels,
``lib.data.augment``), or, for the workshop's 8x8 digits, small affine moves.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from torchvision.transforms import v2

from lib.data.augment import TrivialAugmentWide

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

RESAMPLE = Image.Resampling.BILINEAR
"""PIL's bilinear filter (antialiased when shrinking), the filter torchvision's ``Resize`` uses on PIL images."""


AUGMENTATIONS = {
    # The paper's, for every dataset but BreakHis and Galaxy10.
    "trivial_augment_wide": TrivialAugmentWide,
    # Digits: shifts of up to 10 %, rotations of up to 10 degrees and scaling by 0.9-1.1 keep a digit the same digit;
    # TrivialAugment's shears and rotations of up to 135 degrees turn a 6 into a 9 or a 1 into a 7.
    "small_affine": lambda: v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1)),
}
"""Augmentations by name (a dataset spec's ``augmentation``): each builds a callable on uint8 ``C x H x W``."""


MIN_SIDE = 8   # pixels: below this the backbones' downsampling leaves nothing to classify


def check_image_size(image_size) -> tuple[int, int]:
    """``image_size`` as ``(height, width)``: an int means a square, a pair is (H, W); each side at least
    :data:`MIN_SIDE`."""
    from lib.errors import ConfigError

    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (int(image_size), int(image_size))
    try:
        h, w = (int(v) for v in image_size)
        whole = not isinstance(image_size, str) and all(float(v) == int(v) for v in image_size)
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise ConfigError(f"image size {image_size!r} is not a whole number of pixels or a (height, width) pair of "
                          f"them: pass e.g. 32, 256 or (448, 672), or None for the paper's size")
    if min(h, w) < MIN_SIDE:
        raise ConfigError(f"image size {(h, w)} is too small: use at least {MIN_SIDE} pixels per side (e.g. 32)")
    return h, w


def resize_rgb(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """RGB uint8 array ``H x W x 3`` of ``image`` resized to ``size`` = (H, W)."""
    image = image.convert("RGB")
    height, width = size
    if image.size != (width, height):
        image = image.resize((width, height), RESAMPLE)
    return np.array(image, dtype=np.uint8)  # a writable copy (PIL arrays are read-only)


def normalise(images: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 images (``3 x H x W`` or a batch ``B x 3 x H x W``, any device or memory format) -> float32 model input.

    The same three float32 operations per element as ``(x / 255 - mean) / std``, done in place after one
    conversion, so one image or a whole batch, on the CPU or on a GPU, gives the same bits. ``out``: a float32
    tensor of the same shape to write into (and return) instead of a new one.
    """
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=images.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=images.device).view(3, 1, 1)
    converted = images.to(torch.float32) if out is None else out.copy_(images)
    return converted.div_(255.0).sub_(mean).div_(std)


class ToModelInput:
    """Callable ``uint8 H x W x 3 array -> float32 3 x H x W`` tensor; picklable for DataLoader workers.

    ``augmentation`` is a name in :data:`AUGMENTATIONS` (``True``: TrivialAugmentWide) or None; its draws come from
    torch's global generator, so seeding torch makes the augmentation reproducible. The two stages are also
    available apart: :meth:`augment_pixels` (uint8 in, uint8 out) and :func:`normalise`, which the
    trainer applies to whole batches on the device (a quarter of the bytes through the loader).
    """

    def __init__(self, augmentation: str | bool | None):
        if augmentation is True:
            augmentation = "trivial_augment_wide"
        self.augmentation = augmentation or None
        self._op = AUGMENTATIONS[self.augmentation]() if self.augmentation else None

    @property
    def augment(self) -> bool:
        return self._op is not None

    def augment_pixels(self, pixels: np.ndarray) -> torch.Tensor:
        """uint8 ``H x W x 3`` array -> augmented uint8 ``3 x H x W`` tensor (contiguous)."""
        # Made contiguous first: TrivialAugmentWide's ops run ~30 % faster than on the permuted H x W x 3 view,
        # with bit-identical output (tests/test_fast_path.py checks it); numpy transposes uint8 twice as fast as torch.
        image = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
        return self._op(image) if self._op is not None else image

    def __call__(self, pixels: np.ndarray) -> torch.Tensor:
        return normalise(self.augment_pixels(pixels))

    def __repr__(self) -> str:
        return f"ToModelInput(augmentation={self.augmentation}, normalise=ImageNet)"


def denormalise(x: torch.Tensor) -> np.ndarray:
    """A model-input tensor ``3 x H x W`` back to a displayable uint8 ``H x W x 3`` array."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    pixels = (x.detach().cpu() * std + mean).clamp(0, 1).mul(255).round().to(torch.uint8)
    return pixels.permute(1, 2, 0).numpy()
