"""Masks after k simulated clicks on held-out objects, drawn over their images.

    python benchmarks/gallery.py --engine network --out docs/images/clicks_gallery.png

Objects are a fixed random sample (seed 0) of each validation split, not picked by hand;
clicks follow the evaluator's rule (``napari_iis.core.clicker``). Green: positive
clicks, red: negative; yellow line: the ground truth; blue fill: the mask.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from tqdm import tqdm

from napari_iis import InteractiveSession
from napari_iis.core.datasets import IGNORE_LABEL, list_targets, read_image, read_names, sample_targets
from napari_iis.core.evaluation import evaluate_object
from napari_iis.engines import resolve_engine

REPO = Path(__file__).resolve().parents[1]
SETS = {"duts_te": None, "coco_mval": "val_coco_mval.txt", "dsb2018_nuclei": "val_dsb2018_nuclei.txt",
        "isbi2012_em": "val_isbi2012_em.txt"}


def display(image: np.ndarray) -> np.ndarray:
    """The image as floats in [0, 1] for imshow (1st–99th percentile for non-8-bit data)."""
    image = image.astype(np.float32)
    low, high = np.percentile(image, (1, 99)) if image.max() > 255 else (0.0, 255.0)
    return np.clip((image - low) / max(high - low, 1e-6), 0, 1)


def view(masks: list[np.ndarray], shape: tuple[int, int], margin: float = 0.5, minimum: int = 64) -> tuple[slice, slice]:
    """A square-ish window around every mask given, ``margin`` of their size wider."""
    points = np.argwhere(np.logical_or.reduce(masks))
    low, high = points.min(axis=0), points.max(axis=0) + 1
    half = np.maximum((high - low) * (1 + margin), minimum) / 2
    centre = (low + high) / 2
    start = np.clip(np.round(centre - half).astype(int), 0, None)
    stop = np.minimum(np.round(centre + half).astype(int), shape)
    return slice(int(start[0]), int(stop[0])), slice(int(start[1]), int(stop[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="network")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "2d")
    parser.add_argument("--per-set", type=int, default=2)
    parser.add_argument("--clicks", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "clicks_gallery.png")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    fill = ListedColormap(["#1f6fff"])

    engine = resolve_engine(args.engine)
    targets = []
    for name, split in SETS.items():
        names = read_names(REPO / "splits" / split) if split else None
        targets += [(name, t) for t in sample_targets(list_targets(args.data / name, 100, names), args.per_set)]
    columns = len(args.clicks) + 1
    figure, axes = plt.subplots(len(targets), columns, figsize=(2.4 * columns, 2.4 * len(targets)), dpi=100)
    for row, (name, target) in enumerate(tqdm(targets, desc="gallery")):
        image, labels = read_image(target.image_path), read_image(target.label_path)
        truth = labels == target.label_id
        steps: list[tuple] = []
        result = evaluate_object(InteractiveSession(image, engine=engine), truth, labels == IGNORE_LABEL,
                                 max(args.clicks), target.name,
                                 on_click=lambda click, mask: steps.append((click, mask.to_dense())))
        shown = [k for k in args.clicks if k <= len(steps)]
        window = view([truth] + [steps[k - 1][1] for k in shown], truth.shape)
        picture = display(image[window])
        for column, k in enumerate(args.clicks + [0]):
            axis = axes[row, column]
            axis.imshow(picture, cmap="gray", interpolation="nearest")
            axis.contour(truth[window], levels=[0.5], colors="yellow", linewidths=0.8)
            if k == 0:
                axis.set_title(f"{name}: truth", fontsize=7)
            elif k <= len(steps):
                mask = steps[k - 1][1][window]
                axis.imshow(np.ma.masked_where(~mask, mask), cmap=fill, alpha=0.45, interpolation="nearest")
                for click, _ in steps[:k]:
                    y, x = click.position[0] - window[0].start, click.position[1] - window[1].start
                    axis.plot(x, y, "o", color="lime" if click.positive else "red", markersize=4,
                              markeredgecolor="black", markeredgewidth=0.5)
                axis.set_title(f"{k} click{'s' if k > 1 else ''}: IoU {result.ious[k - 1]:.2f}", fontsize=7)
            axis.set_axis_off()
    figure.suptitle(f"{engine.name}: masks after k simulated clicks (held-out objects, fixed sample)", fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.98))
    figure.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
