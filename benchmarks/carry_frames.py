"""Carrying objects to the next frames of a series of volumes (T, Z, Y, X).

The synthetic nuclei stack of ../shared/data/3d/synthetic_nuclei as a 4-frame series,
moved STEP px along x per frame (default 4; the nuclei are 9-13 px wide). For each of
the 30 largest nuclei whose 4 frames stay inside the stack:
- *fresh*: on every frame, one click at the centre of its largest true slice, then
  propagation (what a user does without carrying);
- *carried*: the truth of frame 0 carried to frame 1, that result to frame 2, and so on
  (``core.tracking.carry_object`` with the frame before: its motion followed);
- *carried, no motion*: the same without the frame before (looked for where it was).
Network clicks, watershed propagation, as the widget runs a microscope's stack. Prints the
mean 3D Dice per frame and the median seconds per carry.

    NAPARI_IIS_THREADS=1 python benchmarks/carry_frames.py [STEP] [DATA_ROOT]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from napari_iis import InteractiveSession
from napari_iis.core.metrics import dice
from napari_iis.core.tracking import ObjectLost, carry_object
from napari_iis.engines import create_engine
from napari_iis.io.tiff import read_tiff

step = int(sys.argv[1]) if len(sys.argv) > 1 else 4
root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parents[2] / "shared/data"
folder = root / "3d/synthetic_nuclei"
stack = read_tiff(folder / "stardist_synth_image.tif").data
labels = read_tiff(folder / "stardist_synth_labels.tif").data
frames = 4
series = np.stack([np.roll(stack, step * t, axis=2) for t in range(frames)])
ids, sizes = np.unique(labels[labels > 0], return_counts=True)
inside = [i for i in ids[np.argsort(sizes)[::-1]] if np.argwhere(labels == i)[:, 2].max() + step * (frames - 1)
          < stack.shape[2]][:30]
clicks, slices = create_engine("network"), create_engine("watershed")


def session(t: int) -> InteractiveSession:
    return InteractiveSession(series[t], engine=clicks, propagation_engine=slices, slice_mode=True)


scores = {name: np.zeros((len(inside), frames - 1)) for name in ("fresh", "carried", "carried, no motion")}
seconds = []
for row, label in enumerate(inside):
    truths = [np.roll(labels == label, step * t, axis=2) for t in range(frames)]
    for t in range(1, frames):
        plane = int(np.argmax(truths[t].sum(axis=(1, 2))))
        fresh = session(t)
        fresh.add_click((plane, *np.argwhere(truths[t][plane]).mean(axis=0).round()))
        scores["fresh"][row, t - 1] = dice(truths[t], fresh.propagate())
    for name, motion in (("carried", True), ("carried, no motion", False)):
        mask = truths[0]
        for t in range(1, frames):
            start = time.perf_counter()
            try:
                mask = carry_object(session(t), mask, before=series[t - 1] if motion else None)
            except ObjectLost:
                mask = np.zeros_like(mask)
            if motion:
                seconds.append(time.perf_counter() - start)
            scores[name][row, t - 1] = dice(truths[t], mask) if mask.any() else 0.0
            if not mask.any():
                break

print(f"{len(inside)} nuclei, moved {step} px along x per frame; mean 3D Dice on frames 1, 2, 3:\n")
print("| | frame 1 | frame 2 | frame 3 |\n|---|---|---|---|")
for name, table in scores.items():
    print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in table.mean(axis=0)) + " |")
print(f"\nmedian {np.median(seconds):.3f} s per carry (session opened, motion, start slice, propagation)")
