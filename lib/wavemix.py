"""WaveMix-192/16 (level 3), written from the architecture description in ``shared/wavemix.md``.

Module names follow the published ImageNet checkpoint's state_dict keys (``conv.*``, ``layers.{i}.reduction.*``,
``layers.{i}.feedforward{1,2,3}.*``, ``pool.2.*``), so that checkpoint loads without any key mapping. Unlike the
reference implementation, the Haar filters belong to the model (non-persistent buffers: they follow ``.to()`` and
``.half()`` but stay out of the state_dict) and each block computes its DWT pyramid once.
"""
from __future__ import annotations

import pywt
import torch
import torch.nn.functional as F
from torch import nn

from lib.errors import ConfigError

# The published ImageNet-1k checkpoint (file name says 75.06 %, the paper's Table 2 says 75.32 %).
CHECKPOINT_NAME = "wavemix_192_16_75.06.pth"
CHECKPOINT_URL = (
    "https://huggingface.co/cloudwalker/wavemix/resolve/main/Saved_Models_Weights/ImageNet/" + CHECKPOINT_NAME
)
CHECKPOINT_KEYS = 573  # conv.* 11 + 16 blocks x 35 + pool.2.* 2; the DWT filters are not stored
SIDE_MULTIPLE = 32  # patchify stem /4, then three DWT levels /8


def haar_filters() -> torch.Tensor:
    """The four 2x2 Haar analysis filters (LL, then the three detail bands) as a 4x1x2x2 tensor.

    Taken from PyWavelets' ``db1`` and time-reversed, because a convolution layer computes correlation.
    """
    wavelet = pywt.Wavelet("db1")
    lo = torch.tensor(wavelet.dec_lo[::-1], dtype=torch.float64)
    hi = torch.tensor(wavelet.dec_hi[::-1], dtype=torch.float64)
    # (filter along height, filter along width): pywt's cA, cH, cV, cD
    pairs = [(lo, lo), (hi, lo), (lo, hi), (hi, hi)]
    return torch.stack([torch.outer(rows, cols) for rows, cols in pairs]).unsqueeze(1).float()


class HaarDWT(nn.Module):
    """One level of the separable, depth-wise 2D Haar DWT with zero padding (``pywt.dwt2(x, 'db1', mode='zero')``).

    Returns ``(ll, high)``: ``ll`` is B x C x ceil(H/2) x ceil(W/2); ``high`` is B x C x 3 x ... with the
    detail bands in pywt's order (cH, cV, cD).
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("filters", haar_filters(), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, channels, height, width = x.shape
        x = F.pad(x, (0, width % 2, 0, height % 2))  # mode "zero": an odd side gets one zero appended
        y = F.conv2d(x, self.filters.repeat(channels, 1, 1, 1), stride=2, groups=channels)
        y = y.reshape(batch, channels, 4, y.shape[-2], y.shape[-1])  # channel 4k + s: input k, filter s
        return y[:, :, 0], y[:, :, 1:]


def _branch(in_channels: int, hidden: int, dim: int, out_channels: int, dropout: float) -> nn.Sequential:
    """One MLP branch: 1x1 conv, GELU, dropout, 1x1 conv, then a transposed conv that doubles h and w."""
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 1),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Conv2d(hidden, dim, 1),
        nn.ConvTranspose2d(dim, out_channels, 4, stride=2, padding=1),
        nn.BatchNorm2d(out_channels),
    )


class WaveBlock(nn.Module):
    """A level-3 wave block: reduce channels by 4, one 3-level DWT pyramid, three MLP branches coarsest first,
    residual add."""

    def __init__(self, dim: int = 192, mult: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        reduced, half = dim // 4, dim // 2
        self.reduction = nn.Conv2d(dim, reduced, 1)
        self.feedforward1 = _branch(dim + half, dim * mult, dim, dim, dropout)
        self.feedforward2 = _branch(dim + half, dim * mult, dim, half, dropout)
        self.feedforward3 = _branch(dim, dim * mult, dim, half, dropout)
        self.dwt = HaarDWT()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        levels = []
        ll = self.reduction(x)
        for _ in range(3):  # each level transforms the previous level's LL band
            ll, high = self.dwt(ll)
            levels.append(torch.cat([ll, high.flatten(1, 2)], dim=1))  # LL first, details channel-major
        z1, z2, z3 = levels
        y = self.feedforward3(z3)
        y = self.feedforward2(torch.cat([z2, y], dim=1))
        y = self.feedforward1(torch.cat([z1, y], dim=1))
        return y + x


class WaveMix(nn.Module):
    """WaveMix with a patchify stem (patch 4), ``depth`` level-3 wave blocks and a linear head (``pool.2``)."""

    def __init__(
        self, num_classes: int = 1000, depth: int = 16, dim: int = 192, mult: int = 2, dropout: float = 0.5
    ) -> None:
        super().__init__()
        if dim % 4:
            raise ConfigError(f"WaveMix dim={dim} is not divisible by 4; use a multiple of 4 such as 192")
        self.conv = nn.Sequential(
            nn.Conv2d(3, dim // 4, 3, 1, 1),
            nn.Conv2d(dim // 4, dim // 2, 3, 1, 1),
            nn.Conv2d(dim // 2, dim, 4, 4),
            nn.GELU(),
            nn.BatchNorm2d(dim),
        )
        self.layers = nn.ModuleList(WaveBlock(dim, mult, dropout) for _ in range(depth))
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(dim, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if height % SIDE_MULTIPLE or width % SIDE_MULTIPLE:
            raise ConfigError(
                f"WaveMix got a {height}x{width} input; both sides must be divisible by {SIDE_MULTIPLE}; "
                "resize the images, e.g. to 256x256 as in the paper"
            )
        x = self.conv(x)
        for block in self.layers:
            x = block(x)
        return self.pool(x)


def wavemix_192_16(num_classes: int = 1000) -> WaveMix:
    """WaveMix-192/16, level 3, as used in the paper (depth 16, 192 channels, MLP multiplier 2, dropout 0.5)."""
    return WaveMix(num_classes=num_classes, depth=16, dim=192, mult=2, dropout=0.5)
