"""Every kind of image file decodes to the 8-bit RGB pixels a viewer shows, or is refused with how to convert it.

Each case writes a real file (with Pillow, or byte by byte in ``image_files`` where Pillow cannot write the kind),
decodes it the way the book does, and compares the pixels with what the file's specification says a viewer shows.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from image_files import png_bytes, tiff_bytes
from lib.data import formats, sources
from lib.errors import DataError

RNG = np.random.default_rng(21)
SHAPE = (8, 9)   # not square; lib.data.load takes 8 pixels a side at the least
SPEC = sources.spec("ucmerced")   # any registered dataset: its images decode without EXIF orientation


def shown_16bit(values: np.ndarray) -> np.ndarray:
    """What a viewer shows for 16-bit values: the bit depth's 0..65535 stretched over 0..255."""
    return np.rint(values.astype(np.float64) * 255 / 65535).astype(np.uint8)


def on_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float64)[..., None] / 255
    return np.rint(colour.astype(np.float64) * a + 255 * (1 - a)).astype(np.uint8)


def grey_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def decoded(tmp_path, name: str, data: bytes, reader: bool = True) -> np.ndarray:
    path = tmp_path / name
    path.write_bytes(data)
    image = formats.reader_image(path) if reader else formats.open_rgb(path, SPEC)
    assert image.mode == "RGB"
    return np.asarray(image)


def saved(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


GRADIENT = np.linspace(0, 65520, SHAPE[0] * SHAPE[1]).astype(np.uint16).reshape(SHAPE)   # the issue's file
RGB16 = RNG.integers(0, 65536, (*SHAPE, 3), dtype=np.uint16)
RGB8 = RNG.integers(0, 256, (*SHAPE, 3), dtype=np.uint8)
ALPHA8 = RNG.integers(0, 256, SHAPE, dtype=np.uint8)
UNIT = RNG.random(SHAPE).astype(np.float32)
UNIT[0, :2] = (0.0, 1.0)


def palette_image() -> tuple[Image.Image, np.ndarray]:
    colours = RNG.integers(0, 256, (16, 3), dtype=np.uint8)
    index = RNG.integers(0, 16, SHAPE, dtype=np.uint8)
    image = Image.fromarray(index, "P")
    image.putpalette(colours.ravel().tolist())
    return image, colours[index]


PALETTE, PALETTE_RGB = palette_image()
CMYK = RNG.integers(0, 256, (*SHAPE, 4), dtype=np.uint8)
CMYK_RGB = np.rint((255 - CMYK[..., :3].astype(np.float64)) * (255 - CMYK[..., 3:].astype(np.float64)) / 255)

# (case, file name, bytes, the pixels a viewer shows, tolerance in levels)
DECODED = [
    ("16-bit grey PNG", "g16.png", png_bytes(GRADIENT), grey_rgb(shown_16bit(GRADIENT)), 0),
    # Pillow reduces 16-bit colour to the high byte: within one level of the exact scaling
    ("16-bit RGB PNG", "rgb16.png", png_bytes(RGB16), shown_16bit(RGB16), 1),
    ("16-bit grey TIFF", "g16.tif", tiff_bytes(GRADIENT), grey_rgb(shown_16bit(GRADIENT)), 0),
    ("16-bit RGB TIFF", "rgb16.tif", tiff_bytes(RGB16), shown_16bit(RGB16), 1),
    ("float grey TIFF 0..1", "unit.tif", tiff_bytes(UNIT), grey_rgb(np.rint(UNIT * 255.0).astype(np.uint8)), 0),
    ("8-bit RGB TIFF", "rgb8.tif", tiff_bytes(RGB8), RGB8, 0),
    ("palette PNG", "p.png", saved(PALETTE, "PNG"), PALETTE_RGB, 0),
    ("CMYK TIFF", "cmyk.tif", tiff_bytes(CMYK, photometric=5), CMYK_RGB, 0),
    ("CMYK JPEG", "cmyk.jpg", saved(Image.fromarray(np.full((8, 8, 4), (100, 50, 200, 30), np.uint8), "CMYK"),
                                   "JPEG", quality=100), np.full((8, 8, 3), (137, 181, 49)), 2),
    ("grey+alpha PNG", "la.png", png_bytes(np.stack([RGB8[..., 0], ALPHA8], 2)),
     grey_rgb(on_white(RGB8[..., :1], ALPHA8)[..., 0]), 1),
    ("16-bit grey+alpha PNG", "la16.png", png_bytes(np.stack([RGB16[..., 0], RGB16[..., 1]], 2)),
     grey_rgb(on_white(shown_16bit(RGB16[..., :1]), shown_16bit(RGB16[..., 1]))[..., 0]), 2),
    ("RGBA PNG", "rgba.png", png_bytes(np.concatenate([RGB8, ALPHA8[..., None]], 2)), on_white(RGB8, ALPHA8), 1),
    ("1-bit PNG", "bw.png", saved(Image.fromarray(RGB8[..., 0] > 127), "PNG"),
     grey_rgb(np.where(RGB8[..., 0] > 127, 255, 0).astype(np.uint8)), 0),
    ("16-bit PGM", "g16.pgm", f"P5 {SHAPE[1]} {SHAPE[0]} 65535\n".encode() + GRADIENT.astype(">u2").tobytes(),
     grey_rgb(shown_16bit(GRADIENT)), 0),
    ("12-bit PGM (maxval 4095)", "g12.pgm", f"P5 {SHAPE[1]} {SHAPE[0]} 4095\n".encode()
     + (GRADIENT >> 4).astype(">u2").tobytes(), grey_rgb(np.rint((GRADIENT >> 4) / 4095 * 255).astype(np.uint8)), 1),
]


@pytest.mark.parametrize("case, name, data, expected, tolerance", DECODED, ids=[c[0] for c in DECODED])
def test_images_decode_to_what_a_viewer_shows(case, name, data, expected, tolerance, tmp_path):
    for reader in (True, False):   # the reader's own images and the registered datasets decode alike
        pixels = decoded(tmp_path, name, data, reader)
        assert pixels.shape == expected.shape
        difference = np.abs(pixels.astype(int) - expected.astype(int)).max()
        assert difference <= tolerance, (case, difference)


def test_the_issue_16_bit_gradient_is_a_gradient_not_white(tmp_path):
    pixels = decoded(tmp_path, "g16.png", png_bytes(GRADIENT))
    assert (pixels == 255).mean() < 0.05 and pixels.min() == 0 and pixels.max() == 255


def test_transparent_palette_entries_are_shown_on_white(tmp_path):
    image = PALETTE.copy()
    image.info["transparency"] = int(np.asarray(PALETTE)[0, 0])
    pixels = decoded(tmp_path, "pt.png", saved(image, "PNG", transparency=image.info["transparency"]))
    hidden = np.asarray(PALETTE) == np.asarray(PALETTE)[0, 0]
    assert (pixels[hidden] == 255).all() and (pixels[~hidden] == PALETTE_RGB[~hidden]).all()


NAN = UNIT.copy()
NAN[1, 1] = np.nan

# (case, file name, bytes, text the one-line refusal must contain)
REFUSED = [
    ("float TIFF beyond 0..1", "hdr.tif", tiff_bytes(UNIT * 1000 - 3), "outside 0..1 (black..white); rescale them"),
    ("float TIFF with NaN", "nan.tif", tiff_bytes(NAN), "include NaN or infinity"),
    ("32-bit integer TIFF", "i32.tif", tiff_bytes(GRADIENT.astype(np.uint32)), "32-bit integer pixels"),
    ("float RGB TIFF", "rgbf.tif", tiff_bytes(np.stack([UNIT] * 3, 2)), "cannot identify image file"),
]


@pytest.mark.parametrize("case, name, data, mentions", REFUSED, ids=[c[0] for c in REFUSED])
def test_pixels_without_an_agreed_look_are_refused_with_how_to_convert(case, name, data, mentions, tmp_path):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataError, match=r"cannot decode image .*" + name) as caught:
        formats.reader_image(path)
    message = str(caught.value)
    assert mentions in message and "\n" not in message
    assert "save it as 8- or 16-bit" in message or "replace, convert or remove" in message


def exif_rotated_jpeg() -> bytes:
    """A 16 x 8 photo stored sideways, left half black, right half white, EXIF orientation 6 (viewers turn it
    90 degrees clockwise, so it shows 8 wide and 16 high, black on top)."""
    stored = np.zeros((8, 16, 3), np.uint8)
    stored[:, 8:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    return saved(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())


def test_the_readers_phone_photos_are_turned_upright_the_papers_datasets_are_not(tmp_path):
    shown = decoded(tmp_path, "phone.jpg", exif_rotated_jpeg(), reader=True)
    assert shown.shape == (16, 8, 3)
    assert shown[:8].mean() < 30 and shown[8:].mean() > 225                    # as the viewer shows it
    stored = decoded(tmp_path, "phone.jpg", exif_rotated_jpeg(), reader=False)
    assert stored.shape == (8, 16, 3)                                           # as torchvision's loaders read it
    assert stored[:, :8].mean() < 30 and stored[:, 8:].mean() > 225


def test_a_folder_of_16_bit_and_float_images_trains_on_their_real_pixels(tmp_path):
    """Through lib.data.load and its cache: the 16-bit gradient reaches the model as a gradient."""
    from lib import data

    for label, data_bytes, suffix in (("a", png_bytes(GRADIENT), "png"), ("b", tiff_bytes(UNIT), "tif")):
        (tmp_path / "scans" / label).mkdir(parents=True)
        for i in range(5):
            (tmp_path / "scans" / label / f"{i}.{suffix}").write_bytes(data_bytes)
    splits = data.load("folder:scans", root=tmp_path, image_size=(SHAPE[0], SHAPE[1]), augment=False,
                       cache_dir=tmp_path / "cache", progress=False)
    by_label = {splits.train.targets[i]: splits.train.pixels(i) for i in range(len(splits.train))}
    assert np.array_equal(by_label[0], grey_rgb(shown_16bit(GRADIENT)))
    assert np.array_equal(by_label[1], grey_rgb(np.rint(UNIT * 255.0).astype(np.uint8)))
