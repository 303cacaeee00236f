"""Training volumes for the 3D network: real volumes, procedural objects, session-like crops."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..core.crop import CropPolicy, plan_window, resample
from ..core.datasets import read_names
from ..core.evaluation3d import volume_cases
from ..core.image import ImageSource
from ..io.dicom import read_dicom_series
from ..io.nifti import ct_window, on_grid, read_nifti
from .data import Crop, TrainImage, find_objects, uint8_rgb

TRAIN_SETS_3D = ("ct_abdomen", "synthetic_spheres")
MIN_OBJECT_VOXELS = 100
LARGE_OBJECT_SHARE = 0.15  # procedural objects centred and 0.25-0.42 of the volume in radius
IGNORE = -1


@dataclass
class TrainVolume:
    """A volume scaled to [0, 1] as the session would, with instance labels and spacing."""

    image: np.ndarray  # float32 (z, y, x)
    labels: np.ndarray  # int32 (z, y, x)
    spacing: tuple[float, float, float]
    source: str
    ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.ids:
            ids, counts = np.unique(self.labels[self.labels > 0], return_counts=True)
            self.ids = tuple(int(i) for i, c in zip(ids, counts) if c >= MIN_OBJECT_VOXELS)


def scaled(volume: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Intensities as the session scales them: a CT through its soft-tissue window."""
    source = ImageSource(volume, spacing=spacing, intensity_window=ct_window(volume))
    return source.read(tuple(slice(0, n) for n in source.spatial_shape))[0]


def validation_volumes(splits_dir: Path) -> set[str]:
    path = Path(splits_dir) / "val_3d.txt"
    return read_names(path) if path.is_file() else set()


def load_training_volumes(data_root: Path, splits_dir: Path, sets: tuple[str, ...] = TRAIN_SETS_3D) -> list[TrainVolume]:
    """The 3D training volumes (those not listed in ``splits/val_3d.txt``), plus the DICOM
    series of ``ct_abdomen`` with its labels."""
    excluded = validation_volumes(splits_dir)
    volumes = []
    for dataset in sets:
        folder = Path(data_root) / "3d" / dataset
        for case in volume_cases(folder, MIN_OBJECT_VOXELS):
            if case.name in excluded:
                continue
            labels = np.zeros(case.image.shape, np.int32)
            for index, mask in enumerate(case.objects.values(), start=1):
                labels[mask] = index
            volumes.append(TrainVolume(scaled(case.image, case.spacing), labels, case.spacing, dataset))
        series, series_labels = folder / "dicom_series", folder / "dicom_series_labels.nii.gz"
        if series.is_dir() and series_labels.is_file() and "dicom_series" not in excluded:
            volume = read_dicom_series(series)
            labels = on_grid(read_nifti(series_labels), volume.affine, volume.data.shape).astype(np.int32)
            if labels.shape == volume.data.shape:
                volumes.append(TrainVolume(scaled(volume.data, volume.spacing), labels, volume.spacing, dataset))
    return volumes


def volume_slices(volume: TrainVolume) -> list[TrainImage]:
    """The axial slices of a training volume that hold an object, as 2D training images
    (gray as RGB, scaled as the session scales the whole volume)."""
    images = []
    for plane, labels in zip(volume.image, volume.labels):
        objects = find_objects(labels)
        if objects:
            images.append(TrainImage(uint8_rgb(plane[np.newaxis]), labels.copy(), objects, volume.source))
    return images


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Gaussian-smoothed noise in [-1, 1]; broad fields are drawn coarse and zoomed up."""
    factor = max(1, int(sigma // 2))
    coarse_shape = tuple(max(2, -(-n // factor)) for n in shape)
    field = ndimage.gaussian_filter(rng.standard_normal(coarse_shape).astype(np.float32), sigma / factor)
    if factor > 1:
        field = ndimage.zoom(field, [n / c for n, c in zip(shape, coarse_shape)], order=1)[tuple(slice(0, n) for n in shape)]
    return field / (np.abs(field).max() + 1e-6)


def _tube(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A curved tube: voxels within a radius of a smooth random (Bezier) path."""
    size = np.asarray(shape)
    control = rng.uniform(0.1, 0.9, (4, 3)) * size
    t = np.linspace(0, 1, 4 * int(size.max()))[:, None]
    path = ((1 - t) ** 3 * control[0] + 3 * (1 - t) ** 2 * t * control[1]
            + 3 * (1 - t) * t**2 * control[2] + t**3 * control[3])
    off_path = np.ones(shape, bool)
    off_path[tuple(np.clip(np.round(path).astype(int), 0, size - 1).T)] = False
    return ndimage.distance_transform_edt(off_path) <= rng.uniform(0.03, 0.09) * size.max()


def procedural_volume(rng: np.random.Generator, size: int = 64) -> TrainVolume:
    """Blobs (some touching, some hollow), tubes and cell clusters on a textured background,
    with blur, noise, intensity drift and, often, coarser slices along z."""
    grid = np.indices((size,) * 3, dtype=np.float32)
    labels = np.zeros((size,) * 3, np.int32)
    image = rng.uniform(0.0, 0.5) + rng.uniform(0.05, 0.3) * _smooth_noise(rng, labels.shape, rng.uniform(2, 8))
    texture = _smooth_noise(rng, labels.shape, rng.uniform(1, 3))
    for label_id in range(1, rng.integers(2, 8)):
        if rng.random() < 0.2:
            shape = _tube(rng, labels.shape)
        else:
            centre = rng.uniform(0.15, 0.85, 3) * size
            radii = rng.uniform(0.06, 0.3, 3) * size
            if rng.random() < LARGE_OBJECT_SHARE:  # wider than a third of a first-click window
                centre = rng.uniform(0.4, 0.6, 3) * size
                radii = rng.uniform(0.25, 0.42) * rng.uniform(0.85, 1.15, 3) * size
            rotation, _ = np.linalg.qr(rng.standard_normal((3, 3)))
            offsets = np.tensordot(rotation, grid - centre[:, None, None, None], axes=1)
            distance = np.sqrt(sum((o / r) ** 2 for o, r in zip(offsets, radii)))
            wobble = 1 + 0.15 * _smooth_noise(rng, labels.shape, size / 8)
            shape = distance <= wobble
            if rng.random() < 0.15:
                shape &= distance >= 0.6 * wobble
        if shape.sum() < MIN_OBJECT_VOXELS:
            continue
        labels[shape] = label_id
        image = np.where(shape, rng.uniform(0.25, 1.0) + rng.uniform(0, 0.15) * texture, image)
        if rng.random() < 0.3:  # a bright or dark rim, as membranes and capsules show
            rim = shape & ~ndimage.binary_erosion(shape, iterations=1)
            image = np.where(rim, rng.uniform(0, 1), image)
    image = ndimage.gaussian_filter(image, rng.uniform(0.3, 1.5))
    image += rng.uniform(-0.2, 0.2) * (grid[0] / size - 0.5)  # drift along z
    image = image + rng.normal(0, rng.uniform(0.01, 0.1), image.shape)
    spacing = (1.0, 1.0, 1.0)
    step = int(rng.choice([1, 1, 2, 3, 4]))
    if step > 1:  # thick slices: blur along z, keep every step-th slice
        image = ndimage.gaussian_filter1d(image, step / 2, axis=0)[::step]
        labels = labels[::step]
        spacing = (float(step), 1.0, 1.0)
    image = (image - image.min()) / (np.ptp(image) + 1e-6)
    return TrainVolume(image.astype(np.float32), labels, spacing, "procedural")


def _pad_to(array: np.ndarray, size: int, mode: str, value: float = 0) -> np.ndarray:
    pad = [(0, size - n) for n in array.shape]
    return np.pad(array, pad, mode=mode) if mode == "edge" else np.pad(array, pad, constant_values=value)


def sample_crop_3d(rng: np.random.Generator, item: TrainVolume, size: int, first_click_share: float = 0.35) -> Crop:
    """The session's window for an object, resampled to at most ``size`` voxels a side
    (``plan_window``), padded to ``size``³ (padding ignored), flipped and contrast-jittered."""
    label_id = item.ids[rng.integers(len(item.ids))]
    truth_full = item.labels == label_id
    points = np.argwhere(truth_full)
    low, high = points.min(axis=0), points.max(axis=0)
    if rng.random() < first_click_share:
        window = plan_window(points[rng.integers(len(points))][None], None, item.labels.shape, item.spacing, size)
    else:
        jitter = rng.normal(0, 0.1 * (high - low + 1), (2, 3))
        corners = np.stack([low + jitter[0], high + jitter[1]])
        policy = CropPolicy(expansion=float(rng.uniform(1.2, 2.2)))
        window = plan_window(corners, (low, high), item.labels.shape, item.spacing, size, policy)
    image = resample(item.image[window.slices], window.target_shape, order=1)
    truth = resample(truth_full[window.slices].astype(np.float32), window.target_shape, order=1, smooth=False) > 0.5
    ignore = np.zeros(window.target_shape, bool)
    image, truth = _pad_to(image, size, "edge"), _pad_to(truth, size, "constant", False)
    ignore = _pad_to(ignore, size, "constant", True)
    for axis in range(3):
        if rng.random() < 0.5:
            image, truth, ignore = np.flip(image, axis), np.flip(truth, axis), np.flip(ignore, axis)
    if rng.random() < 0.5:  # swap the in-plane axes
        image, truth, ignore = (a.swapaxes(1, 2) for a in (image, truth, ignore))
    image = np.clip(image * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1), 0, 1) ** rng.uniform(0.75, 1.33)
    if rng.random() < 0.1:  # bright-on-dark and dark-on-bright objects alike
        image = 1 - image
    return Crop(np.ascontiguousarray(image[None], np.float32), np.ascontiguousarray(truth), np.ascontiguousarray(ignore))
