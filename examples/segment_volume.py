"""Segment a sphere in a real 3D stack from one click, headless.

    python examples/segment_volume.py [STACK_image.tif]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import tifffile

from napari_iis import InteractiveSession
from napari_iis.core.metrics import dice

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/3d/synthetic_spheres/1135_mini_image.tif"

image_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
volume = tifffile.imread(image_path)
labels = tifffile.imread(str(image_path).replace("_image", "_labels"))
print(f"volume {volume.shape} {volume.dtype}")

session = InteractiveSession(volume)  # (z, y, x)
ids, sizes = np.unique(labels[labels > 0], return_counts=True)
target = labels == ids[np.argmax(sizes)]
centre = tuple(int(c) for c in np.argwhere(target).mean(axis=0).round())

mask = session.add_click(centre)
print(f"one click at {centre}: 3D Dice {dice(target, mask):.3f}, {mask.sum()} voxels")
