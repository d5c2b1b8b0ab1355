"""The decode-once cache: built once, re-used, rebuilt on change, never read half-written."""
import os
import subprocess
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import lib.data as data
from lib.data.cache import BUILDS, CachedImages, cached_split, fingerprint, open_cache
from lib.data.transforms import resize_rgb

SIZE = (12, 16)  # H x W, deliberately not square


@pytest.fixture()
def folder(tmp_path):
    """Six tiny PNGs of different sizes and colours, as a reader would list them."""
    root = tmp_path / "src"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        pixels = rng.integers(0, 256, size=(10 + i, 20 - i, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"im{i}.png")
    return root


def ids_and_load(folder):
    ids = sorted(p.name for p in folder.glob("*.png"))
    return ids, (lambda i: Image.open(folder / ids[i]))


def build(folder, cache_dir, size=SIZE):
    ids, load = ids_and_load(folder)
    return cached_split(cache_dir, "toy", "train", folder, ids, load, size, progress=False)


def test_built_once_then_reused(folder, tmp_path):
    path = build(folder, tmp_path / "cache")
    mtime = path.stat().st_mtime_ns
    assert build(folder, tmp_path / "cache") == path
    assert BUILDS[str(path)] == 1 and path.stat().st_mtime_ns == mtime
    ids, load = ids_and_load(folder)
    cached = np.load(path, mmap_mode="r")
    assert cached.shape == (6, *SIZE, 3) and cached.dtype == np.uint8
    assert all(np.array_equal(cached[i], resize_rgb(load(i), SIZE)) for i in range(6))


def test_rebuilt_when_source_or_size_changes(folder, tmp_path):
    cache_dir = tmp_path / "cache"
    first = build(folder, cache_dir)
    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(folder / "im2.png")  # content, size, mtime change
    second = build(folder, cache_dir)
    assert second != first and BUILDS[str(second)] == 1
    assert not first.exists(), "the stale cache of the same split and size is removed"
    assert np.load(second)[2].max() == 0
    other_size = build(folder, cache_dir, size=(8, 8))
    assert other_size not in (first, second) and np.load(other_size).shape == (6, 8, 8, 3)


def test_crash_during_build_leaves_nothing_that_is_used(folder, tmp_path):
    ids, load = ids_and_load(folder)

    def failing(i):
        if i == 4:
            raise OSError("disk on fire")
        return load(i)

    cache_dir = tmp_path / "cache"
    with pytest.raises(OSError):
        cached_split(cache_dir, "toy", "train", folder, ids, failing, SIZE, progress=False)
    assert list((cache_dir / "toy").iterdir()) == [], "neither the temp file nor a final file remains"
    path = build(folder, cache_dir)
    assert BUILDS[str(path)] == 1


def test_leftover_temp_file_is_ignored(folder, tmp_path):
    cache_dir = tmp_path / "cache"
    path = build(folder, cache_dir)
    path.unlink()
    # a build killed half-way (e.g. by the OOM killer) leaves its temp file behind
    (path.parent / f".{path.name}.999-deadbeef.tmp").write_bytes(b"\x93NUMPY half")
    again = build(folder, cache_dir)
    assert again == path and BUILDS[str(path)] == 2
    assert np.load(path).shape == (6, *SIZE, 3)


def test_a_killed_builds_temporary_is_removed_when_the_next_build_starts(folder, tmp_path):
    from lib.atomic import HOST

    cache_dir = tmp_path / "cache"
    path = build(folder, cache_dir)
    path.unlink()
    ended = subprocess.Popen(["true"])
    ended.wait()
    killed = path.parent / f".{path.name}.{HOST}.{ended.pid}.0badf00d.tmp"      # its writer is gone
    live = path.parent / f".{path.name}.{HOST}.{os.getpid()}.0badf00d.tmp"     # a build still running here
    for tmp in (killed, live):
        tmp.write_bytes(b"\x93NUMPY half")
    build(folder, cache_dir)
    assert not killed.exists() and live.exists()


def test_a_file_name_that_is_not_utf8_has_a_fingerprint(tmp_path):
    odd = os.fsdecode(b"caf\xe9.png")                               # Latin-1 bytes, as an old camera wrote them
    (tmp_path / odd).write_bytes(b"x")
    first = fingerprint(tmp_path, [odd, "plain.png"], SIZE)
    (tmp_path / odd).write_bytes(b"xy")
    assert fingerprint(tmp_path, [odd, "plain.png"], SIZE) != first


def test_truncated_cache_is_detected_and_rebuilt(folder, tmp_path):
    cache_dir = tmp_path / "cache"
    path = build(folder, cache_dir)
    good = np.load(path).copy()
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) - 100)
    assert open_cache(path, good.shape) is None
    with pytest.warns(UserWarning, match="damaged"):
        build(folder, cache_dir)
    assert BUILDS[str(path)] == 2 and np.array_equal(np.load(path), good)


def test_cached_images_pickle_without_the_map(folder, tmp_path):
    import pickle

    path = build(folder, tmp_path / "cache")
    images = CachedImages(path, (6, *SIZE, 3))
    first = images[0]
    clone = pickle.loads(pickle.dumps(images))
    assert clone._array is None and np.array_equal(clone[0], first)


def test_digits_cache_and_direct_decode_give_identical_tensors(tmp_path):
    """Same seed, augmentation on: the cached path and decoding on every access agree bit for bit."""
    cached = data.load("digits", image_size=32, augment=True, cache_dir=tmp_path, progress=False)
    direct = data.load("digits", image_size=32, augment=True, cache=False)
    assert cached.manifest == direct.manifest
    for i in (0, 5, len(cached.train) - 1):
        torch.manual_seed(i)
        x_cached, y_cached = cached.train[i]
        torch.manual_seed(i)
        x_direct, y_direct = direct.train[i]
        assert y_cached == y_direct and torch.equal(x_cached, x_direct)
    assert all(np.array_equal(cached.test.pixels(i), direct.test.pixels(i)) for i in range(len(cached.test)))


def test_digits_second_load_reuses_the_cache(tmp_path):
    before = sum(BUILDS.values())
    data.load("digits", image_size=16, cache_dir=tmp_path, progress=False)
    assert sum(BUILDS.values()) == before + 1  # one source split: digits has no official test
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.load("digits", image_size=16, cache_dir=tmp_path, progress=False)
    assert sum(BUILDS.values()) == before + 1


def test_unwritable_cache_folder_is_a_data_error(folder, tmp_path):
    from lib.errors import DataError

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(DataError, match="WB_CACHE"):
        build(folder, blocker)
