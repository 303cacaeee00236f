"""Series of volumes (T, Z, Y, X), segmented frame by frame.

- The fluorescent nuclei stack of ../shared/data/3d/synthetic_nuclei as a 3-frame TZYX
  TIFF (moved 3 px along x per frame), calibrated 2 × 0.5 × 0.5 µm: per frame, one
  click on the largest slice of nucleus 138 through ``napari-iis segment --frame T
  --propagate`` (the command-line path: reading the file, the session on one frame,
  propagation, the labels saved), 3D Dice and the wall time of the call.
- The cost of moving the session to another frame (what a click on another frame costs
  before its prediction): opening a session on one 64 × 512 × 512 uint16 volume of a
  series, with the network engine already loaded.

    NAPARI_IIS_THREADS=1 python benchmarks/series_frames.py [DATA_ROOT]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

from napari_iis import InteractiveSession
from napari_iis.core.metrics import dice
from napari_iis.engines import create_engine
from napari_iis.files import segment_file
from napari_iis.io.tiff import read_tiff

root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data"
folder = root / "3d/synthetic_nuclei"
stack = read_tiff(folder / "stardist_synth_image.tif").data
nucleus = read_tiff(folder / "stardist_synth_labels.tif").data == 138
frames = 3
series = np.stack([np.roll(stack, 3 * t, axis=2) for t in range(frames)])
truths = [np.roll(nucleus, 3 * t, axis=2) for t in range(frames)]

with tempfile.TemporaryDirectory() as work:
    movie = Path(work) / "movie.tif"
    tifffile.imwrite(movie, series, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "TZYX", "spacing": 2.0, "unit": "um"})
    print("| frame | 3D Dice | seconds (read, segment, propagate, save) |\n|---|---|---|")
    for t, truth in enumerate(truths):
        plane = int(np.argmax(truth.sum(axis=(1, 2))))
        y, x = np.argwhere(truth[plane]).mean(axis=0).round()
        clicks = Path(work) / f"click{t}.csv"
        clicks.write_text(f"z,y,x\n{plane},{y:.0f},{x:.0f}\n")
        start = time.perf_counter()
        result = segment_file(movie, clicks, Path(work) / f"labels{t}.tif", propagate=True, frame=t)
        seconds = time.perf_counter() - start
        print(f"| {t} | {dice(truth, result.labels == 1):.3f} | {seconds:.2f} |")

volumes = np.random.default_rng(0).integers(0, 4000, (3, 64, 512, 512), dtype=np.uint16)
engine = create_engine("network")
InteractiveSession(volumes[0], engine=engine, slice_mode=True)
opened = []
for volume in volumes:
    start = time.perf_counter()
    InteractiveSession(volume, engine=engine, slice_mode=True)
    opened.append(1000 * (time.perf_counter() - start))
print(f"\nsession opened on a 64 × 512 × 512 uint16 frame: {np.median(opened):.0f} ms median of {len(opened)}")
