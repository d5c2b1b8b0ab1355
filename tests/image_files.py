"""Image files written byte by byte from their specifications, for the kinds Pillow cannot save itself.

Pillow writes 8-bit images, 16-bit grey PNG and TIFF, and float TIFF, but not 16-bit colour PNGs or TIFFs; the
decoding tests need those too (scanners, microscopes and astronomy pipelines export them), so they are built
here from the PNG (RFC 2083) and baseline TIFF 6.0 layouts, uncompressed where the format allows it.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}   # channels -> grey, grey+alpha, RGB, RGBA


def png_bytes(pixels: np.ndarray) -> bytes:
    """A PNG of ``pixels`` (H x W or H x W x C, uint8 or uint16: bit depth 8 or 16), no interlace, filter 0."""
    pixels = pixels if pixels.ndim == 3 else pixels[..., None]
    height, width, channels = pixels.shape
    depth = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}[pixels.dtype]
    rows = pixels.astype(">u2" if depth == 16 else np.uint8).reshape(height, -1).view(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, depth, PNG_COLOUR_TYPES[channels], 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def tiff_bytes(pixels: np.ndarray, photometric: int | None = None) -> bytes:
    """A little-endian, uncompressed, one-strip TIFF of ``pixels`` (H x W or H x W x C; uint8, uint16 or
    float32). ``photometric`` defaults to 1 (grey, black is zero) for one channel and 2 (RGB) otherwise; 5 is
    CMYK (four channels). A fourth channel of RGB is stored as unassociated alpha."""
    pixels = pixels if pixels.ndim == 3 else pixels[..., None]
    height, width, channels = pixels.shape
    photometric = photometric if photometric is not None else (1 if channels == 1 else 2)
    bits = pixels.dtype.itemsize * 8
    sample_format = 3 if pixels.dtype.kind == "f" else 1
    data = np.ascontiguousarray(pixels.astype(pixels.dtype.newbyteorder("<"))).tobytes()
    entries = [(256, 4, [width]), (257, 4, [height]), (258, 3, [bits] * channels), (259, 3, [1]),
               (262, 3, [photometric]), (273, 4, [0]), (277, 3, [channels]), (278, 4, [height]),
               (279, 4, [len(data)]), (284, 3, [1]), (339, 3, [sample_format] * channels)]
    if channels == 4 and photometric == 2:
        entries.insert(-1, (338, 3, [2]))                        # ExtraSamples: unassociated alpha
    entries.sort()
    ifd_offset = 8
    extra_offset = ifd_offset + 2 + 12 * len(entries) + 4
    extra, fields = b"", []
    for tag, kind, values in entries:
        packed = struct.pack(f"<{len(values)}{'H' if kind == 3 else 'I'}", *values)
        if len(packed) <= 4:
            fields.append(struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\x00"))
        else:
            fields.append(struct.pack("<HHII", tag, kind, len(values), extra_offset + len(extra)))
            extra += packed
    data_offset = extra_offset + len(extra)
    fields = [f if f[:2] != struct.pack("<H", 273) else struct.pack("<HHII", 273, 4, 1, data_offset)
              for f in fields]
    ifd = struct.pack("<H", len(entries)) + b"".join(fields) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + ifd + extra + data
