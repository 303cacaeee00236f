"""No-data (NaN) pixels against the image as it is.

- The nuclei sample with NaN along its top 40 rows and left 60 columns (a registration's
  padding): one click at the deepest point of each nucleus within 30 px of it, IoU with
  its visible part, and on the unpadded image with the whole nucleus.
- The abdomen CT sample with NaN outside a circular field of view: one click on the
  largest slice of each of the largest organs, then propagation, 3D Dice.

    NAPARI_IIS_THREADS=1 python benchmarks/nan_field_of_view.py [N_ORGANS]
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.ndimage import distance_transform_edt

from napari_iis import InteractiveSession
from napari_iis.core.metrics import dice, iou
from napari_iis.io.nifti import CT_SOFT_TISSUE_WINDOW
from napari_iis.sample_data import load_ct, load_sample

n_organs = int(sys.argv[1]) if len(sys.argv) > 1 else 4

image, labels = load_sample("nuclei")
padding = np.zeros(labels.shape, dtype=bool)
padding[:, :60] = padding[:40] = True
beside = np.zeros_like(padding)
beside[:, :90] = beside[:70] = True
padded = image.astype(np.float32)
padded[padding] = np.nan
sessions = InteractiveSession(image), InteractiveSession(padded)
scores = []
for nucleus in np.unique(labels[beside & ~padding & (labels > 0)]):
    whole = labels == nucleus
    visible = whole & ~padding
    if visible.sum() < 30:
        continue
    depth = distance_transform_edt(visible)
    click = np.unravel_index(int(np.argmax(depth)), depth.shape)
    scores.append([iou(truth, session.add_click(click)) for truth, session in zip((whole, visible), sessions)])
    for session in sessions:
        session.reset()
mean_clean, mean_padded = np.mean(scores, axis=0)
print(f"{len(scores)} nuclei beside the padding, IoU after one click: {mean_clean:.3f} as it is, "
      f"{mean_padded:.3f} (visible part) with NaN padding")

image, labels, spacing = load_ct()
clean = image.astype(np.float32)
y, x = np.ogrid[: clean.shape[1], : clean.shape[2]]
outside = (y - clean.shape[1] / 2) ** 2 + (x - clean.shape[2] / 2) ** 2 > (0.5 * min(clean.shape[1:])) ** 2
padded = clean.copy()
padded[:, outside] = np.nan
print(f"NaN on {np.isnan(padded).mean():.0%} of the voxels")

ids, sizes = np.unique(labels[labels > 0], return_counts=True)
for organ in ids[np.argsort(sizes)[::-1][:n_organs]]:
    target = labels == organ
    plane = int(np.argmax(target.sum(axis=(1, 2))))
    depth = distance_transform_edt(target[plane])
    click = (plane, *np.unravel_index(int(np.argmax(depth)), depth.shape))
    scores = []
    for volume in (clean, padded):
        session = InteractiveSession(volume, spacing=spacing, slice_mode=True, intensity_window=CT_SOFT_TISSUE_WINDOW)
        session.add_click(click)
        scores.append(dice(target, session.propagate()))
    print(f"organ {organ} ({target.sum()} voxels): 3D Dice {scores[0]:.3f} as it is, {scores[1]:.3f} with NaN outside the field of view")
