from __future__ import annotations

import numpy as np
import pytest

from conftest import disk_image, nuclei_beside_nan_padding
from napari_iis import Click, InteractiveSession
from napari_iis.core.metrics import iou


def test_gray_click_segments_the_object(disk):
    image, truth = disk
    session = InteractiveSession(image)
    mask = session.add_click((48, 60))
    assert mask.dtype == bool and mask.shape == truth.shape
    assert iou(truth, mask) > 0.85


def test_rgb_image(disk):
    image, truth = disk
    rgb = (np.stack([image, image * 0.5, 1 - image], axis=-1).clip(0, 1) * 255).astype(np.uint8)
    session = InteractiveSession(rgb)
    assert session.shape == truth.shape and session.image.n_channels == 3
    assert iou(truth, session.add_click((48, 60))) > 0.85


def test_channel_axis_first(disk):
    image, truth = disk
    stack = np.stack([image, image, image, image])  # (C, Y, X) with 4 channels
    session = InteractiveSession(stack, channel_axis=0)
    assert session.shape == truth.shape
    assert iou(truth, session.add_click((48, 60))) > 0.85


def test_volume_with_a_click(disk):
    image, truth = disk_image(shape=(24, 48, 56), centre=(12, 24, 28), radius=9)
    session = InteractiveSession(image)
    mask = session.add_click((12, 24, 28))
    assert mask.shape == (24, 48, 56)
    assert iou(truth, mask) > 0.8


def test_anisotropic_volume_keeps_its_spacing():
    # Voxels 4x longer along z: a physical ball is 4x thinner in z samples.
    shape, spacing = (16, 64, 64), (4.0, 1.0, 1.0)
    grid = np.indices(shape, dtype=float)
    truth = ((grid[0] - 8) * 4) ** 2 + (grid[1] - 32) ** 2 + (grid[2] - 32) ** 2 <= 16**2
    image = (0.2 + 0.6 * truth + np.random.default_rng(1).normal(0, 0.05, shape)).astype(np.float32)
    session = InteractiveSession(image, spacing=spacing)
    assert session.spacing == spacing
    assert iou(truth, session.add_click((8, 32, 32))) > 0.8


def test_volume_with_three_slices_and_no_channels():
    image = np.random.default_rng(0).random((5, 40, 3)).astype(np.float32)
    assert InteractiveSession(image, channel_axis=None).shape == (5, 40, 3)
    assert InteractiveSession(image).shape == (5, 40)  # auto: trailing 3 is RGB


def test_a_trailing_axis_of_one_is_a_gray_channel_and_one_of_two_is_refused_with_the_fix(disk):
    image, truth = disk
    session = InteractiveSession(image[..., None])  # (Y, X, 1), as some readers give gray
    assert session.shape == truth.shape and session.ndim == 2
    np.testing.assert_array_equal(session.add_click((48, 60)), InteractiveSession(image).add_click((48, 60)))
    with pytest.raises(ValueError, match=r"image\[\.\.\., 0\] for gray with alpha"):
        InteractiveSession(np.dstack([image, np.ones_like(image)]))
    two_channels = InteractiveSession(np.dstack([image, image]), channel_axis=-1)
    assert two_channels.shape == truth.shape and iou(truth, two_channels.add_click((48, 60))) > 0.85


def test_iou_rises_with_corrective_clicks():
    # Two touching disks of the same brightness: with the watershed a click on one leaks
    # into both, a negative click on the other corrects it.
    shape = (80, 120)
    grid = np.indices(shape, dtype=float)
    left = (grid[0] - 40) ** 2 + (grid[1] - 40) ** 2 <= 20**2
    right = (grid[0] - 40) ** 2 + (grid[1] - 78) ** 2 <= 20**2
    image = (0.2 + 0.6 * (left | right) + np.random.default_rng(2).normal(0, 0.03, shape)).astype(np.float32)
    session = InteractiveSession(image, engine="watershed")
    first = iou(left, session.add_click((40, 40)))
    second = iou(left, session.add_click((40, 85), positive=False))
    assert second > first
    assert second > 0.8


class ReadCountingArray:
    """A huge lazy array of cells (disks of radius 30 every 150 px) that records its reads."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.dtype = np.dtype(np.uint16)
        self.ndim = 2
        self.reads: list[tuple[slice, ...]] = []

    def __getitem__(self, index: tuple[slice, ...]) -> np.ndarray:
        self.reads.append(index)
        grids = [np.arange(s.start or 0, s.stop if s.stop is not None else n, s.step or 1)
                 for s, n in zip(index, self.shape)]
        yy, xx = np.meshgrid(*grids, indexing="ij")
        inside = (yy % 150 - 75) ** 2 + (xx % 150 - 75) ** 2 <= 30**2
        return (1000 + 3000 * inside + (yy * 7 + xx * 13) % 50).astype(np.uint16)


def test_only_crops_of_a_huge_lazy_image_are_read():
    data = ReadCountingArray((20_000, 20_000))
    session = InteractiveSession(data)
    mask = session.sparse_mask
    assert mask.is_empty
    session.add_click((150 * 66 + 75, 150 * 66 + 75))
    crop_reads = [r for r in data.reads if all((s.step or 1) == 1 for s in r)]
    assert crop_reads, "the click read no crop"
    for region in crop_reads:
        assert all(s.stop - s.start <= 1024 for s in region)
    patch = session.sparse_mask
    assert 0.7 * np.pi * 30**2 < patch.area < 1.3 * np.pi * 30**2
    assert all(abs(o - (150 * 66 + 75)) < 40 for o in patch.offset)


def test_a_window_far_larger_than_the_engine_input_is_read_strided():
    data = ReadCountingArray((20_000, 20_000))
    session = InteractiveSession(data)
    session.add_click((150 * 10 + 75, 150 * 10 + 75))
    data.reads.clear()
    session.add_click((150 * 60 + 75, 150 * 60 + 75))  # one object, two cells 10 k pixels apart
    window = session.last_window
    assert min(window.shape) > 7000
    read = [np.prod([len(range(*s.indices(n))) for s, n in zip(r, data.shape)]) for r in data.reads]
    assert read and max(read) <= 1.2 * 4 * np.prod(window.target_shape)
    assert session.mask[150 * 10 + 75, 150 * 10 + 75] and session.mask[150 * 60 + 75, 150 * 60 + 75]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda s: s.add_click((500, 10)), "outside the image"),
        (lambda s: s.add_click((-3, 10)), "outside the image"),
        (lambda s: s.add_click((10, 10, 10)), "has 3 values"),
        (lambda s: s.add_click((10,)), "has 1 values"),
        (lambda s: s.add_click((np.nan, 10)), "not finite"),
        (lambda s: s.add_box((10, 10), (10, 40)), "zero area"),
        (lambda s: s.add_box((10, 10), (10, 10)), "zero area"),
        (lambda s: s.add_scribble([]), "at least one point"),
        (lambda s: s.add_scribble([(10, 10), (500, 10)]), "outside the image"),
    ],
)
def test_bad_prompts_raise_and_leave_the_session_unchanged(disk, action, message):
    image, _ = disk
    session = InteractiveSession(image)
    before = session.add_click((48, 60))
    prompts = session.prompts
    with pytest.raises(ValueError, match=message):
        action(session)
    assert session.prompts == prompts
    assert np.array_equal(session.mask, before)
    assert np.array_equal(session.undo(), np.zeros_like(before))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.full((32, 32), np.nan, dtype=np.float32), "no finite values"),
        (np.where(np.eye(32, dtype=bool), np.inf, -np.inf), "no finite values"),
        (np.zeros((0, 32)), "empty"),
        (np.full((32, 32), 7, dtype=np.uint8), "constant"),
        (np.zeros((4, 4, 4, 4)), "unsupported image"),
        (np.zeros(16), "unsupported image"),
        (np.array([["a", "b"], ["c", "d"]]), "unsupported image dtype"),
    ],
)
def test_bad_images_are_refused(image, message):
    with pytest.raises(ValueError, match=message):
        InteractiveSession(image)


def test_nan_padding_reads_as_the_dark_end_and_a_nucleus_it_cuts_is_segmented():
    padded, padding, nucleus = nuclei_beside_nan_padding()
    padded[:40, :60] = np.inf
    session = InteractiveSession(padded)
    mask = session.add_click(tuple(np.argwhere(nucleus).mean(axis=0)))
    assert iou(nucleus, mask) > 0.8

    read = session.image.read((slice(0, 100), slice(0, 100)))[0]
    assert np.isfinite(read).all()
    assert (read[padding[:100, :100]] == 0).sum() == padding[:100, :100].sum() - 40 * 60
    assert (read[:40, :60] == 1).all()


def test_an_intensity_window_replaces_the_percentile_range():
    # a CT-like slice: air, soft tissue at 40 HU, an organ at 90 HU, bone at 1000 HU
    image = np.full((96, 128), -1000, np.int16)
    image[10:90, 10:120] = 40
    image[30:66, 40:80] = 90
    image[80:90, 10:120] = 1000
    window = (slice(0, 96), slice(0, 128))
    plain = InteractiveSession(image).image.read(window)[0]
    windowed = InteractiveSession(image, intensity_window=(-160, 240)).image.read(window)[0]
    assert windowed[48, 60] - windowed[20, 20] == pytest.approx(50 / 400)
    assert windowed[48, 60] - windowed[20, 20] > 4 * (plain[48, 60] - plain[20, 20])
    with pytest.raises(ValueError, match="low < high"):
        InteractiveSession(image, intensity_window=(240, -160))


def test_bad_spacing_and_engine_are_refused(disk):
    image, _ = disk
    with pytest.raises(ValueError, match="spacing has 3 values"):
        InteractiveSession(image, spacing=(1, 1, 1))
    with pytest.raises(ValueError, match="finite and positive"):
        InteractiveSession(image, spacing=(0, 1))
    with pytest.raises(ValueError, match="unknown engine"):
        InteractiveSession(image, engine="nope")


def test_box_and_scribble_prompts(disk):
    image, truth = disk
    session = InteractiveSession(image)
    boxed = session.add_box((26, 38), (70, 82))
    assert iou(truth, boxed) > 0.8
    session.reset()
    scribbled = session.add_scribble([(40, 55), (48, 60), (56, 66)])
    assert iou(truth, scribbled) > 0.8
    negative = session.add_scribble([(5, 5), (5, 120)], positive=False)
    assert iou(truth, negative) > 0.8
    assert [p.kind for p in session.prompts] == ["scribble", "scribble"]


def test_sessions_are_independent(disk):
    image, truth = disk
    first, second = InteractiveSession(image), InteractiveSession(image)
    first.add_click((48, 60))
    assert first.mask.any() and not second.mask.any()


def test_a_dask_array_is_read_lazily():
    da = pytest.importorskip("dask.array")
    image, truth = disk_image(shape=(96, 128))
    tiled = np.tile(image, (40, 40))  # 3840 x 5120
    lazy = da.from_array(tiled, chunks=(512, 512))
    session = InteractiveSession(lazy)
    mask = session.add_prompts([Click((48 + 96 * 20, 60 + 128 * 20))])
    assert mask.shape == tiled.shape
    low, high = mask.bbox()
    assert np.all(high - low < 60)  # one disk, found in a crop
    assert iou(truth, mask.read((slice(96 * 20, 96 * 21), slice(128 * 20, 128 * 21)))) > 0.85


class RecordingThresholdEngine:
    """Thresholds the crop at 0.5 and records every request's window and previous mask."""

    name = "recording"

    def __init__(self, zoom_in_first: bool) -> None:
        from napari_iis.engines import EngineCapabilities

        self.capabilities = EngineCapabilities(magnify_2d=True, zoom_in_first=zoom_in_first)
        self.requests = []

    def predict(self, request):
        self.requests.append(request)
        return (request.image.mean(axis=0) - 0.5).astype(np.float32)


@pytest.mark.parametrize("zoom_in_first", [True, False])
def test_a_first_click_is_redone_in_the_window_of_its_own_mask(zoom_in_first):
    shape = (600, 600)
    grid = np.indices(shape, dtype=float)
    truth = (grid[0] - 300) ** 2 + (grid[1] - 310) ** 2 <= 20**2
    engine = RecordingThresholdEngine(zoom_in_first)
    session = InteractiveSession(truth.astype(np.float32) * 0.8 + 0.1, engine=engine)
    first = session.add_click((300, 310))
    assert iou(truth, first) > 0.9
    if zoom_in_first:
        blind, zoomed = engine.requests
        assert not blind.previous_mask.any() and zoomed.previous_mask.sum() > 0.2 * zoomed.previous_mask.size
        assert max(session.last_window.shape) < 100  # the disk's box × 1.4, not the 384 px first window
    else:
        assert len(engine.requests) == 1 and max(session.last_window.shape) == 384
    engine.requests.clear()
    session.add_click((300, 340), positive=False)
    assert len(engine.requests) == 1  # only a first prediction is redone
    session.undo()
    session.undo()
    assert not session.mask.any() and not session.can_undo  # one undo step per prompt


def test_a_first_click_on_a_volume_slice_grows_its_window_until_the_object_fits():
    grid = np.indices((3, 400, 400), dtype=float)
    big = (grid[1] - 200) ** 2 + (grid[2] - 200) ** 2 <= 60**2
    small = (grid[1] - 40) ** 2 + (grid[2] - 40) ** 2 <= 8**2
    engine = RecordingThresholdEngine(zoom_in_first=False)
    session = InteractiveSession(((big | small) * 0.8 + 0.1).astype(np.float32), engine=engine)
    assert session.slice_mode
    assert iou(small[1], session.add_click((1, 40, 40))[1]) > 0.9
    assert len(engine.requests) == 1 and max(session.last_window.shape) == 48
    session.reset()
    engine.requests.clear()
    assert iou(big[1], session.add_click((1, 200, 200))[1]) > 0.9  # 48 and 96 cut it; 192 holds it
    assert len(engine.requests) == 3 and max(session.last_window.shape) == 192
    # a 2D image keeps the single 384-px first window
    flat = InteractiveSession(((big | small)[1] * 0.8 + 0.1).astype(np.float32), engine=engine)
    engine.requests.clear()
    flat.add_click((200, 200))
    assert len(engine.requests) == 1 and max(flat.last_window.shape) == 384
