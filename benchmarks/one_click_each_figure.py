"""One click on every object of a held-out image, each object its own label, drawn.

    python benchmarks/one_click_each_figure.py --out docs/images/one_click_each.png

The first image (by name) of the nuclei and EM validation splits, not picked by hand;
each object gets the evaluator's first click (white dots). Colours: the labels the
network wrote; yellow lines: the ground truth.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from gallery import REPO, display
from skimage.segmentation import find_boundaries

from napari_iis import InteractiveSession
from napari_iis.core.batch import segment_each
from napari_iis.core.clicker import first_click
from napari_iis.core.datasets import IGNORE_LABEL, group_by_image, list_targets, read_image, read_names
from napari_iis.core.metrics import iou
from napari_iis.core.overlay import as_rgb, tint_labels

SETS = ("dsb2018_nuclei", "isbi2012_em")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/2d")
    parser.add_argument("--out", type=Path, default=REPO / "docs/images/one_click_each.png")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(SETS), figsize=(6 * len(SETS), 6.4))
    for axis, name in zip(axes, SETS):
        names = read_names(REPO / f"splits/val_{name}.txt")
        image_path, label_path, targets = next(iter(group_by_image(list_targets(args.data / name, 100, names))))
        image, labels = read_image(image_path), read_image(label_path)
        ignore = labels == IGNORE_LABEL
        truths = [labels == t.label_id for t in targets]
        clicks = [first_click(t, ignore) for t in truths]
        segmented = segment_each(InteractiveSession(image), clicks)
        score = np.mean([iou(t, segmented == k, ignore) for k, t in enumerate(truths, start=1)])
        overlay = tint_labels(as_rgb(display(image)), segmented)
        overlay[find_boundaries(labels * ~ignore, mode="inner")] = (1.0, 0.85, 0.0)
        axis.imshow(overlay)
        points = np.asarray([c.position for c in clicks])
        axis.scatter(points[:, 1], points[:, 0], s=6, c="white", edgecolors="black", linewidths=0.3)
        axis.set_title(f"{name} {image_path.stem[:12]}: {len(truths)} objects, one click each, mIoU {score:.2f}",
                       fontsize=9)
        axis.axis("off")
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
