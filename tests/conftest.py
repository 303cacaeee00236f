from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("NAPARI_IIS_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture
def data_dir() -> Path:
    if not (DATA_DIR / "2d").is_dir():
        pytest.skip(f"the shared data sets are not at {DATA_DIR} (set NAPARI_IIS_DATA)")
    return DATA_DIR


def disk_image(shape: tuple[int, ...] = (96, 128), centre: tuple[float, ...] = (48, 60), radius: float = 18,
               noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A bright disk (or ball, for 3-axis shapes) on a dark, noisy background, and its mask."""
    grid = np.indices(shape, dtype=float)
    truth = sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2
    rng = np.random.default_rng(seed)
    image = 0.2 + 0.6 * truth + rng.normal(0, noise, shape)
    return image.astype(np.float32), truth


def nuclei_beside_nan_padding() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nuclei sample as float gray with NaN along its top and left edges (what a
    registration shifts in), the padding's mask, and the visible part of the largest
    nucleus the padding cuts."""
    from napari_iis.sample_data import load_sample

    image, labels = load_sample("nuclei")
    padded = image.astype(np.float32)
    padding = np.zeros(labels.shape, dtype=bool)
    padding[:, :60] = padding[:40] = True
    padded[padding] = np.nan
    cut = np.setdiff1d(np.unique(labels[padding]), [0])
    visible = np.array([((labels == i) & ~padding).sum() for i in cut])
    return padded, padding, (labels == cut[np.argmax(visible)]) & ~padding


@pytest.fixture
def disk() -> tuple[np.ndarray, np.ndarray]:
    return disk_image()


def nuclei_series(data_dir, frames: int = 3, step_px: int = 3):
    """A (T, Z, Y, X) series of the fluorescent nuclei stack, moved ``step_px`` along x per
    frame, and per frame the mask of the nucleus of test_volumes.py."""
    from napari_iis.io.tiff import read_tiff

    folder = data_dir / "3d/synthetic_nuclei"
    image = read_tiff(folder / "stardist_synth_image.tif").data
    truth = read_tiff(folder / "stardist_synth_labels.tif").data == 138
    series = np.stack([np.roll(image, step_px * t, axis=2) for t in range(frames)])
    return series, [np.roll(truth, step_px * t, axis=2) for t in range(frames)]

