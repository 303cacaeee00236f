"""One negative click stops a propagation that ran on into the next vertebrae: a sagittal
view of vertebra 30 of the held-out 3 mm abdomen CT, before and after, with the 3D Dice.

    python benchmarks/vertebra_correction.py --out docs/images/vertebra_correction.png

The same steps as ``tests/test_volumes.py`` (slice mode, the 2D network): a click at the
deepest point of the vertebra's largest slice, Propagate; a negative click at the deepest
point of the mask two slices past the vertebra's end, Propagate again.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from scipy import ndimage

from napari_iis import InteractiveSession
from napari_iis.core.metrics import dice
from napari_iis.io.nifti import CT_SOFT_TISSUE_WINDOW, read_nifti

DATA = Path(__file__).resolve().parents[2] / "shared/data/3d/ct_abdomen"
LABEL = 30


def deepest(mask: np.ndarray) -> tuple[int, ...]:
    depth = ndimage.distance_transform_edt(mask)
    return tuple(int(v) for v in np.unravel_index(np.argmax(depth), depth.shape))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=Path("vertebra_correction.png"))
    args = parser.parse_args()

    ct = read_nifti(args.data / "abdomen3mm_image.nii.gz")
    truth = np.asarray(read_nifti(args.data / "abdomen3mm_labels.nii.gz").data) == LABEL
    plane = int(np.argmax(truth.sum(axis=(1, 2))))
    session = InteractiveSession(ct.data, spacing=ct.spacing, engine="network", slice_mode=True,
                                 intensity_window=CT_SOFT_TISSUE_WINDOW)
    first = (plane, *deepest(truth[plane]))
    session.add_click(first)
    leaked = session.propagate()
    beyond = int(np.flatnonzero(truth.any(axis=(1, 2))).max()) + 2
    negative = (beyond, *deepest(leaked[beyond]))
    session.add_click(negative, positive=False)
    stopped = session.propagate()
    scores = dice(truth, leaked), dice(truth, stopped)
    print(f"vertebra {LABEL}: one click and Propagate, 3D Dice {scores[0]:.3f} over slices "
          f"{np.flatnonzero(leaked.any(axis=(1, 2)))[[0, -1]].tolist()}; one negative click on slice {beyond} and "
          f"Propagate, {scores[1]:.3f} over {np.flatnonzero(stopped.any(axis=(1, 2)))[[0, -1]].tolist()}")
    draw(ct.data, truth, leaked, stopped, first, negative, scores, args.out)


def draw(volume, truth, leaked, stopped, first, negative, scores, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    column = first[2]  # a sagittal cut through the click: z down the page, y across
    rows = np.flatnonzero((leaked | truth)[:, :, column].any(axis=0))
    y0, y1 = max(int(rows.min()) - 25, 0), min(int(rows.max()) + 26, volume.shape[1])
    low, high = CT_SOFT_TISSUE_WINDOW
    image = np.clip((volume[:, y0:y1, column].astype(np.float32) - low) / (high - low), 0, 1)
    cut = (slice(None), slice(y0, y1), column)
    figure, axes = plt.subplots(1, 2, figsize=(7, 2.5), dpi=120)
    panels = ((leaked, f"one click, Propagate: Dice {scores[0]:.2f}", [first]),
              (stopped, f"+ one negative click, Propagate: Dice {scores[1]:.2f}", [first, negative]))
    for axis, (mask, title, clicks) in zip(axes, panels):
        extent = (y0 - 0.5, y1 - 0.5, volume.shape[0] - 0.5, -0.5)
        axis.imshow(image, cmap="gray", extent=extent)
        axis.imshow(np.ma.masked_where(~mask[cut], mask[cut]), cmap="winter", alpha=0.45, extent=extent)
        axis.contour(np.arange(y0, y1), np.arange(volume.shape[0]), truth[cut], levels=[0.5], colors="yellow",
                     linewidths=0.8)
        for z, y, _ in clicks:
            axis.plot(y, z, "o", color="lime" if (z, y) == first[:2] else "red", markersize=6)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("y (voxels of 3 mm)")
        axis.set_ylabel("slice z")
    figure.suptitle("Abdominal CT, vertebra 30 (yellow: truth; blue: mask; green/red: clicks), sagittal cut",
                    fontsize=9)
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
