"""Sample images shipped with the plugin (Data Science Bowl 2018 nuclei, CC0)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import numpy as np


SOURCE = "Data Science Bowl 2018, stage 1 (fixed masks), CC0"


def _read(name: str) -> np.ndarray:
    with files(__name__).joinpath(name).open("rb") as handle:
        import imageio.v3 as iio

        return np.asarray(iio.imread(handle))


def load_sample(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The image and its instance labels of the sample ``nuclei`` or ``histology``."""
    if name not in ("nuclei", "histology"):
        raise ValueError(f"unknown sample {name!r}; choose 'nuclei' or 'histology'")
    return _read(f"{name}.png"), _read(f"{name}_labels.png").astype(np.int32)


def nuclei() -> list[tuple[Any, dict[str, Any], str]]:
    """Fluorescence nuclei (520 × 696, gray)."""
    image, _ = load_sample("nuclei")
    return [(image, {"name": "nuclei (DSB 2018)", "metadata": {"source": SOURCE}}, "image")]


def histology() -> list[tuple[Any, dict[str, Any], str]]:
    """Stained tissue nuclei (256 × 320, RGB)."""
    image, _ = load_sample("histology")
    return [(image, {"name": "histology nuclei (DSB 2018)", "rgb": True, "metadata": {"source": SOURCE}}, "image")]
