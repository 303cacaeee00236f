"""Label several organs of the shipped CT in 3D, headless: a click or two on each organ's
largest slice, then slice propagation, all into one label volume.

    python examples/label_ct_organs.py [OUT.nii.gz]
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm

from napari_iis import InteractiveSession
from napari_iis.core.batch import segment_objects
from napari_iis.core.clicker import first_click, next_click
from napari_iis.core.measure import physical_size
from napari_iis.core.metrics import dice
from napari_iis.core.prompts import Click
from napari_iis.io.nifti import CT_SOFT_TISSUE_WINDOW, write_nifti
from napari_iis.sample_data import load_ct

image, truth, spacing = load_ct()  # (z, y, x) int16 HU, organ labels, voxel size in mm
ids, sizes = np.unique(truth[truth > 0], return_counts=True)
organs = ids[np.argsort(sizes)[::-1][:5]]  # the five largest

# Where a user would click: the middle of each organ on its largest slice. The second
# click of each goes where one click alone leaves the largest error on that slice.
slice_session = InteractiveSession(image, spacing=spacing, engine="network", slice_mode=True,
                                   intensity_window=CT_SOFT_TISSUE_WINDOW)
objects = {}
for organ in organs:
    target = truth == organ
    plane = int(np.argmax(target.sum(axis=(1, 2))))
    clicks = [Click((plane, *first_click(target[plane]).position))]
    after_one = slice_session.add_prompts(clicks).to_dense()[plane]
    second = next_click(target[plane], after_one)
    if second is not None:
        clicks.append(Click((plane, *second.position), second.positive))
    slice_session.reset()
    objects[int(organ)] = clicks

# Label ids as in the truth; each organ keeps out of the organs labelled before it.
labels = segment_objects(slice_session, objects, propagate=True,
                         progress=lambda items: tqdm(items, desc="organs", unit="organ"))
for organ in objects:
    voxels = int((labels == organ).sum())
    print(f"organ {organ}: {len(objects[organ])} clicks, {physical_size(voxels, spacing, 'mm')} (truth "
          f"{physical_size(int((truth == organ).sum()), spacing, 'mm')}), 3D Dice {dice(truth == organ, labels == organ):.3f}")
if len(sys.argv) > 1:
    print(f"wrote {write_nifti(sys.argv[1], labels, spacing=spacing)}")
