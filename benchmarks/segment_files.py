"""``napari-iis segment`` on the packaged samples, timed and scored against their labels.

    python benchmarks/segment_files.py OUT

Writes the nuclei sample as a PNG with a CSV of one click per nucleus (the simulator's
first click, at the deepest point of each true nucleus of at least 100 pixels), and the
abdominal CT sample as NIfTI with one click per organ (the deepest point of its largest
slice, in the orientation napari shows), runs the command on each as a user would (a
fresh process; the time includes starting Python and loading the weights), and scores
the labels it writes: IoU per nucleus, 3D Dice per organ.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import imageio.v3 as iio
import numpy as np

from napari_iis.core.clicker import first_click
from napari_iis.core.metrics import dice, iou
from napari_iis.io.nifti import read_nifti, write_nifti
from napari_iis.napari_glue.io_hooks import read_image_layer
from napari_iis.sample_data import load_ct, load_sample


def _run(arguments: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "napari_iis.cli", "segment", *arguments], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def nuclei(out: Path) -> str:
    image, truth = load_sample("nuclei")
    iio.imwrite(out / "nuclei.png", image)
    ids, areas = np.unique(truth[truth > 0], return_counts=True)
    masks = [truth == i for i in ids[areas >= 100]]
    rows = [first_click(m).position for m in masks]
    (out / "nuclei_clicks.csv").write_text("y,x\n" + "".join(f"{y},{x}\n" for y, x in rows))
    seconds = _run([str(out / "nuclei.png"), str(out / "nuclei_clicks.csv"), "-o", str(out / "nuclei_labels.png")])
    labels = iio.imread(out / "nuclei_labels.png")
    scores = [iou(m, labels == k) for k, m in enumerate(masks, start=1)]
    return (f"nuclei sample: {len(masks)} nuclei, one click each: mean IoU {np.mean(scores):.3f} "
            f"({np.mean(np.asarray(scores) >= 0.5):.1%} >= 0.5), {seconds:.1f} s")


def ct(out: Path) -> str:
    image, labels, spacing = load_ct()
    write_nifti(out / "ct.nii.gz", image, spacing=spacing)
    write_nifti(out / "ct_labels.nii.gz", labels, spacing=spacing)
    shown = read_image_layer(out / "ct_labels.nii.gz")[0]
    ids = [int(i) for i in np.unique(labels[labels > 0])]
    rows = []
    for organ in ids:
        mask = shown == organ
        plane = int(np.argmax(mask.sum(axis=(1, 2))))
        y, x = first_click(mask[plane]).position
        rows.append(f"{plane},{y},{x},{organ}\n")
    (out / "ct_clicks.csv").write_text("z,y,x,object\n" + "".join(rows))
    seconds = _run([str(out / "ct.nii.gz"), str(out / "ct_clicks.csv"), "--propagate",
                    "-o", str(out / "ct_segmented.nii.gz")])
    segmented = read_nifti(out / "ct_segmented.nii.gz").data
    voxel_ml = float(np.prod(spacing)) / 1000
    scores = {organ: dice(labels == organ, segmented == organ) for organ in ids}
    large = [scores[o] for o in ids if np.count_nonzero(labels == o) * voxel_ml > 10]
    return (f"CT sample: {len(ids)} organs, one click each on its largest slice, then propagation: "
            f"mean 3D Dice {np.mean(list(scores.values())):.3f}, organs > 10 mL {np.mean(large):.3f} "
            f"({len(large)}), {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(nuclei(args.out))
    print(ct(args.out))


if __name__ == "__main__":
    main()
