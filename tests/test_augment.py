"""lib.data.augment's TrivialAugmentWide: torchvision's draws and torchvision's pixels, op by op and as a stream."""
import pickle

import pytest
import torch
from torchvision.transforms import v2

from lib.data import augment
from lib.data.augment import KERNELS, TrivialAugmentWide


def images(channels: int, height: int, width: int, seed: int) -> list[torch.Tensor]:
    """Noise, a constant image, a few-level image and a one-channel-flat image: the edge cases of every op."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randint(0, 256, (channels, height, width), dtype=torch.uint8, generator=g)
    levels = (torch.randint(0, 4, (channels, height, width), generator=g) * 60 + 20).to(torch.uint8)
    flat_channel = noise.clone()
    flat_channel[0] = 131
    return [noise, torch.full((channels, height, width), 7, dtype=torch.uint8), levels, flat_channel]


@pytest.mark.parametrize("shape", [(3, 256, 256), (3, 37, 53), (3, 64, 48), (1, 24, 31), (3, 3, 3), (3, 2, 5)])
def test_every_op_at_every_magnitude_gives_torchvisions_pixels(shape):
    ta = TrivialAugmentWide()
    for image in images(*shape, seed=sum(shape)):
        for name, magnitude in ta.every_draw():
            ours, theirs = ta.apply(image, name, magnitude), augment.reference(image, name, magnitude)
            assert ours.dtype == torch.uint8 and ours.shape == image.shape
            assert torch.equal(ours, theirs), f"{name} at {magnitude} on {tuple(shape)}"
    assert set(KERNELS) <= set(ta.names)


def test_a_seeded_stream_equals_torchvisions_transform_draw_for_draw():
    g = torch.Generator().manual_seed(1)
    pool = [torch.randint(0, 256, (3, 40, 30), dtype=torch.uint8, generator=g) for _ in range(16)]
    ours, theirs = TrivialAugmentWide(), v2.TrivialAugmentWide()
    torch.manual_seed(5)
    a = [ours(pool[i % 16]) for i in range(1500)]   # ~100 draws of each op
    state_a = torch.get_rng_state()
    torch.manual_seed(5)
    b = [theirs(pool[i % 16]) for i in range(1500)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert torch.equal(state_a, torch.get_rng_state()), "the same random numbers were consumed"


def test_the_map_cache_is_bounded_and_changes_nothing(monkeypatch):
    ta = TrivialAugmentWide()
    ta.sources("Rotate", 4.5, 32, 32)   # the first call tabulates every geometric op of the size
    assert len(ta.maps) == 3 * 61 and ta.map_bytes == 3 * 61 * 32 * 32 * 4
    monkeypatch.setattr(augment, "MAP_CACHE_BYTES", 10 * 20 * 20 * 4)   # room for ten 20 x 20 maps
    small = TrivialAugmentWide()
    image = images(3, 20, 20, seed=3)[0]
    for name, magnitude in small.every_draw():
        assert torch.equal(small.apply(image, name, magnitude), augment.reference(image, name, magnitude))
        assert small.map_bytes <= augment.MAP_CACHE_BYTES and len(small.maps) <= 10


def test_other_inputs_go_to_torchvision_and_workers_start_with_an_empty_cache():
    ta = TrivialAugmentWide()
    batch = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    floats = torch.rand(3, 16, 16)
    for name, magnitude in [("Sharpness", 0.5), ("Rotate", -30.0), ("Equalize", 0.0), ("Solarize", 0.4)]:
        assert torch.equal(ta.apply(batch, name, magnitude), augment.reference(batch, name, magnitude))
        assert torch.equal(ta.apply(floats, name, magnitude), augment.reference(floats, name, magnitude))
    ta.sources("ShearX", 0.033, 16, 16)
    copy = pickle.loads(pickle.dumps(ta))
    assert ta.maps and not copy.maps and copy.map_bytes == 0
    image = images(3, 16, 16, seed=0)[0]
    torch.manual_seed(0)
    first = [copy(image) for _ in range(50)]
    torch.manual_seed(0)
    assert all(torch.equal(x, ta(image)) for x in first)
