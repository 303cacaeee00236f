"""Sample images shipped with the plugin.

Nuclei: Data Science Bowl 2018 (CC0). Abdominal CT: TotalSegmentator's test data
(Apache-2.0), 3 mm voxels, labels are model output.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import numpy as np

from ..io.nifti import CT_SOFT_TISSUE_WINDOW


SOURCE = "Data Science Bowl 2018, stage 1 (fixed masks), CC0"
CT_SOURCE = "TotalSegmentator test data, Apache-2.0 (labels are model output)"


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


def load_ct() -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """The abdominal CT volume (z, y, x, int16 HU), its organ labels and voxel spacing (mm)."""
    with files(__name__).joinpath("abdomen_ct.npz").open("rb") as handle:
        archive = np.load(handle)
        spacing = tuple(float(s) for s in archive["spacing"])
        return archive["image"], archive["labels"].astype(np.int32), spacing  # type: ignore[return-value]


def abdomen_ct() -> list[tuple[Any, dict[str, Any], str]]:
    """Abdominal CT (30 × 101 × 122 at 3 mm), shown with a soft-tissue window."""
    image, _, spacing = load_ct()
    meta = {"name": "abdomen CT", "scale": spacing, "units": ("mm",) * 3, "contrast_limits": CT_SOFT_TISSUE_WINDOW,
            "colormap": "gray", "metadata": {"source": CT_SOURCE, "spacing_unit": "mm"}}
    return [(image, meta, "image")]
