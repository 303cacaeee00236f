"""The abdomen CT sample with NaN outside a circular field of view, against the sample as
it is: one click on the largest slice of each of the largest organs, then propagation.

    NAPARI_IIS_THREADS=1 python benchmarks/nan_field_of_view.py [N_ORGANS]
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.ndimage import distance_transform_edt

from napari_iis import InteractiveSession
from napari_iis.core.metrics import dice
from napari_iis.io.nifti import CT_SOFT_TISSUE_WINDOW
from napari_iis.sample_data import load_ct

n_organs = int(sys.argv[1]) if len(sys.argv) > 1 else 4
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
