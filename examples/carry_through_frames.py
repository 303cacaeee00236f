"""Follow a nucleus through a series of volumes (T, Z, Y, X), headless: segment it on
the first frame, then carry it to each next frame, following its motion.

The series here is the synthetic nuclei stack moved 4 px along x per frame, so each
frame's true mask is known.

    python examples/carry_through_frames.py [STACK_image.tif]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from napari_iis import InteractiveSession
from napari_iis.core.metrics import dice
from napari_iis.core.tracking import ObjectLost, carry_object
from napari_iis.engines import create_engine
from napari_iis.io.tiff import read_tiff

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/3d/synthetic_nuclei/stardist_synth_image.tif"

image_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
stack = read_tiff(image_path).data
labels = read_tiff(str(image_path).replace("_image", "_labels")).data
ids, sizes = np.unique(labels[labels > 0], return_counts=True)
nucleus = labels == ids[np.argsort(sizes)[len(sizes) // 2]]  # a nucleus of middling size
series = np.stack([np.roll(stack, 4 * t, axis=2) for t in range(4)])
truths = [np.roll(nucleus, 4 * t, axis=2) for t in range(4)]

# One engine pair for every frame; one session per frame (each is its own volume).
clicks, slices = create_engine("network"), create_engine("watershed")


def frame_session(volume: np.ndarray) -> InteractiveSession:
    return InteractiveSession(volume, engine=clicks, propagation_engine=slices, slice_mode=True)


plane = int(np.argmax(truths[0].sum(axis=(1, 2))))
first = frame_session(series[0])
first.add_click((plane, *np.argwhere(truths[0][plane]).mean(axis=0).round()))
mask = first.propagate()
print(f"frame 0: one click on slice {plane}, propagated: 3D Dice {dice(truths[0], mask):.3f}")
for t in tqdm(range(1, len(series)), desc="carry", unit="frame"):
    session = frame_session(series[t])
    try:
        mask = carry_object(session, mask, before=series[t - 1])
    except ObjectLost as lost:
        print(f"frame {t}: {lost}")
        break
    print(f"frame {t}: carried from frame {t - 1}: 3D Dice {dice(truths[t], mask):.3f}")
