"""The 3D network's first click on clean balls of growing size (the model card's Limits).

    python benchmarks/first_click_balls.py [WEIGHTS.pt]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from napari_iis import InteractiveSession
from napari_iis.core.metrics import iou
from napari_iis.engines.network.engine import NetworkEngine3D

# (volume side in x/y, radius in mm, slice thickness in mm)
CASES = [(64, 6, 1), (64, 10, 1), (64, 16, 1), (64, 22, 1), (128, 16, 1), (48, 16, 1), (64, 16, 4)]

engine = NetworkEngine3D(Path(sys.argv[1])) if len(sys.argv) > 1 else NetworkEngine3D()
for side, radius, thickness in CASES:
    shape = (side // thickness, side, side)
    centre = [n // 2 for n in shape]
    grid = np.indices(shape, dtype=float)
    ball = ((grid[0] - centre[0]) * thickness) ** 2 + (grid[1] - centre[1]) ** 2 + (grid[2] - centre[2]) ** 2 <= radius**2
    image = (0.2 + 0.6 * ball + np.random.default_rng(1).normal(0, 0.05, shape)).astype(np.float32)
    session = InteractiveSession(image, engine=engine, spacing=(thickness, 1, 1))
    print(f"volume {shape}, spacing ({thickness}, 1, 1), ball radius {radius} mm: "
          f"first-click IoU {iou(ball, session.add_click(tuple(centre))):.2f}")
