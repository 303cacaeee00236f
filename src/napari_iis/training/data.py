"""Training images in memory, object crops, augmentation and procedural shapes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..core.crop import CropPolicy
from ..core.datasets import IGNORE_LABEL, image_label_pairs, read_image, read_names
from ..core.image import ImageSource
from ..engines.network.inputs import as_rgb

NATURAL = ("coco_mval", "ecssd", "duts_tr")
TRAIN_SETS = NATURAL + ("dsb2018_nuclei", "isbi2012_em")
# Volume sets that 2D training reads as axial slices (their 3D validation volumes held out).
SLICED_SETS = ("ct_abdomen",)
IGNORE = -1
MIN_OBJECT_AREA = 64
# The session's window around a first click, which the network must see in training too.
FIRST_CLICK_WINDOW = CropPolicy().initial_size
FIRST_CLICK_SHARE = 0.35


@dataclass
class TrainImage:
    """An image normalised as the session does (uint8, H×W×3) with its objects."""

    image: np.ndarray
    labels: np.ndarray  # int32, IGNORE where the ground truth is void
    objects: list[tuple[int, tuple[slice, slice]]]
    source: str


def uint8_rgb(scaled: np.ndarray) -> np.ndarray:
    """(C, H, W) intensities in [0, 1] as uint8 H×W×3, with the network's channel rule."""
    return (np.moveaxis(as_rgb(scaled), 0, -1) * 255 + 0.5).astype(np.uint8)


def normalised_rgb(image: np.ndarray) -> np.ndarray:
    """The image as the session hands it to an engine, as uint8 RGB."""
    source = ImageSource(image)
    return uint8_rgb(source.read(tuple(slice(0, n) for n in source.spatial_shape)))


def find_objects(labels: np.ndarray) -> list[tuple[int, tuple[slice, slice]]]:
    objects = []
    for index, box in enumerate(ndimage.find_objects(np.clip(labels, 0, None)), start=1):
        if box is not None and np.count_nonzero(labels[box] == index) >= MIN_OBJECT_AREA:
            objects.append((index, box))
    return objects


def validation_names(splits_dir: Path, dataset: str) -> set[str]:
    path = Path(splits_dir) / f"val_{dataset}.txt"
    return read_names(path) if path.is_file() else set()


def load_training_images(
    data_root: Path,
    splits_dir: Path,
    sets: Iterable[str] = TRAIN_SETS,
    progress: Callable[[Iterable], Iterable] = lambda items: items,
) -> list[TrainImage]:
    """Every training image of ``sets`` (validation names excluded), normalised, in memory."""
    pairs = []
    for dataset in sets:
        excluded = validation_names(splits_dir, dataset)
        pairs += [(dataset, i, l) for i, l in image_label_pairs(Path(data_root) / "2d" / dataset) if i.stem not in excluded]
    images = []
    for dataset, image_path, label_path in progress(pairs):
        labels = read_image(label_path).astype(np.int32)
        labels[labels == IGNORE_LABEL] = IGNORE
        objects = find_objects(labels)
        if objects:
            images.append(TrainImage(normalised_rgb(read_image(image_path)), labels, objects, dataset))
    return images


def procedural_image(rng: np.random.Generator, size: int = 192) -> TrainImage:
    """Blobs, rings and bars (some touching) on a textured background, with noise and blur."""
    labels = np.zeros((size, size), np.int32)
    grid = np.indices((size, size), dtype=np.float32)
    background = ndimage.gaussian_filter(rng.random((size, size)), rng.uniform(2, 12))
    background = (background - background.min()) / (np.ptp(background) + 1e-6)
    image = rng.uniform(0.0, 0.5) + rng.uniform(0.05, 0.3) * background
    colour_shift = rng.uniform(-0.2, 0.2, 3)
    for label_id in range(1, rng.integers(2, 9)):
        cy, cx = rng.uniform(0.1, 0.9, 2) * size
        ry, rx = rng.uniform(0.04, 0.25, 2) * size
        angle = rng.uniform(0, np.pi)
        dy, dx = grid[0] - cy, grid[1] - cx
        u = (dy * np.cos(angle) + dx * np.sin(angle)) / ry
        v = (-dy * np.sin(angle) + dx * np.cos(angle)) / rx
        wobble = 1 + 0.15 * np.sin(rng.integers(2, 7) * np.arctan2(v, u) + rng.uniform(0, 6))
        shape = u**2 + v**2 <= wobble**2
        if rng.random() < 0.2:  # a ring
            shape &= u**2 + v**2 >= (0.6 * wobble) ** 2
        labels[shape] = label_id
        image = np.where(shape, rng.uniform(0.3, 1.0) + 0.1 * rng.standard_normal() * background, image)
    image = ndimage.gaussian_filter(image, rng.uniform(0.3, 1.5)) + rng.normal(0, rng.uniform(0.01, 0.08), (size, size))
    rgb = np.clip(image[..., None] + colour_shift * (rng.random() < 0.5), 0, 1)
    return TrainImage((rgb * 255).astype(np.uint8), labels, find_objects(labels), "procedural")


@dataclass
class Crop:
    """A training sample: the network's image input, the object and the void (ignored)
    samples; ``prior``: the previous mask a propagation sample starts from (no clicks)."""

    image: np.ndarray  # float32 (C, *S) in [0, 1]: C = 3 in 2D, 1 in 3D
    truth: np.ndarray  # bool (*S)
    ignore: np.ndarray  # bool (*S)
    prior: np.ndarray | None = None  # float32 (*S)


def _resize(array: np.ndarray, size: int, order: int) -> np.ndarray:
    factors = [size / array.shape[0], size / array.shape[1]] + [1] * (array.ndim - 2)
    out = ndimage.zoom(array, factors, order=order, mode="nearest", grid_mode=True)
    return out[:size, :size]


def grainy_noise(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Gray noise whose grain is 1–3 samples: a noisy stack or CT slice magnified to the
    network's input, as the session does with small windows."""
    grain = rng.uniform(1.0, 3.0)
    side = image.shape[-1]
    coarse = rng.normal(0, rng.uniform(0.05, 0.3), (max(4, round(side / grain)),) * 2).astype(np.float32)
    return np.clip(image + _resize(coarse, side, 1)[np.newaxis], 0, 1)


def sample_crop(rng: np.random.Generator, item: TrainImage, size: int, noisy_share: float = 0.0) -> Crop:
    """A zoom-in crop around a random object, as the session would take it, augmented."""
    label_id, box = item.objects[rng.integers(len(item.objects))]
    height, width = item.labels.shape
    low = np.array([box[0].start, box[1].start], float)
    high = np.array([box[0].stop, box[1].stop], float)
    if rng.random() < FIRST_CLICK_SHARE:
        # a first click: a fixed window around a point of the object, whatever its size
        inside = np.argwhere(item.labels[box] == label_id)
        centre = low + inside[rng.integers(len(inside))]
        window = square_window(centre, float(FIRST_CLICK_WINDOW), (height, width))
    else:
        # a later click: the zoom-in window around the object (the session's 1.4, jittered)
        window = zoom_in_window(rng, low, high, (1.2, 2.4), 0.08, (height, width))
    return crop_and_augment(rng, item.image[window].astype(np.float32) / 255, item.labels[window] == label_id,
                            item.labels[window] == IGNORE, size, noisy_share)


def zoom_in_window(rng: np.random.Generator, low: np.ndarray, high: np.ndarray, expansion: tuple[float, float],
                   jitter: float, shape: tuple[int, int]) -> tuple[slice, slice]:
    """The session's zoom-in window around the box ``low``–``high``: its longer side times
    a random ``expansion`` (at least 24 samples), the centre moved by ``jitter`` × the side."""
    side = max(float((high - low).max()) * rng.uniform(*expansion), 24.0)
    centre = (low + high) / 2 + rng.normal(0, jitter * side, 2)
    return square_window(centre, side, shape)


def square_window(centre: np.ndarray, side: float, shape: tuple[int, int]) -> tuple[slice, slice]:
    """A square of ``side`` (at most the image's) around ``centre``, shifted inside the image."""
    side = int(min(side, *shape))
    start = np.clip(np.round(centre - side / 2).astype(int), 0, [shape[0] - side, shape[1] - side])
    return slice(start[0], start[0] + side), slice(start[1], start[1] + side)


def crop_and_augment(
    rng: np.random.Generator, image: np.ndarray, truth: np.ndarray, ignore: np.ndarray, size: int,
    noisy_share: float = 0.0, prior: np.ndarray | None = None,
) -> Crop:
    """A window's image (H, W, 3) in [0, 1], object, void and optional prior mask resampled
    to ``size``², then flipped, transposed and changed in contrast alike."""
    side = image.shape[0]
    if side != size:
        smooth = max(0.0, (side / size - 1) / 2)
        if smooth > 0:
            image = ndimage.gaussian_filter(image, (smooth, smooth, 0))
        image = _resize(image, size, 1)
        truth = _resize(truth.astype(np.float32), size, 1) > 0.5
        ignore = _resize(ignore.astype(np.float32), size, 0) > 0.5
        if prior is not None:
            prior = _resize(prior.astype(np.float32), size, 1) > 0.5
    image = np.moveaxis(image, -1, 0)
    masks = [truth, ignore] + ([prior] if prior is not None else [])
    # augmentation: flips, transposes, contrast, gamma, brightness, gray
    if rng.random() < 0.5:
        image, masks = image[:, ::-1], [m[::-1] for m in masks]
    if rng.random() < 0.5:
        image, masks = image[:, :, ::-1], [m[:, ::-1] for m in masks]
    if rng.random() < 0.5:
        image, masks = image.transpose(0, 2, 1), [m.T for m in masks]
    image = np.clip(image * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1), 0, 1) ** rng.uniform(0.75, 1.33)
    if rng.random() < 0.1:
        image = np.repeat(image.mean(axis=0, keepdims=True), 3, axis=0)
    if noisy_share and rng.random() < noisy_share:
        image = grainy_noise(rng, image)
    truth, ignore = (np.ascontiguousarray(m) for m in masks[:2])
    prior = np.ascontiguousarray(masks[2], np.float32) if prior is not None else None
    return Crop(np.ascontiguousarray(image, np.float32), truth, ignore, prior)
