"""Label every nucleus of the shipped sample, headless: a spot detector places one click
on each nucleus, and the network segments each as its own label.

    python examples/label_every_nucleus.py
"""

from __future__ import annotations

import numpy as np
from skimage.feature import peak_local_max
from skimage.filters import gaussian, threshold_otsu
from tqdm import tqdm

from napari_iis import InteractiveSession
from napari_iis.core.batch import segment_each
from napari_iis.core.metrics import iou
from napari_iis.sample_data import load_sample

image, truth = load_sample("nuclei")
smooth = gaussian(image.astype(float), sigma=3)
spots = peak_local_max(smooth, min_distance=5, threshold_abs=threshold_otsu(smooth))  # (y, x) of bright blobs
print(f"{len(spots)} spots found")

session = InteractiveSession(image)
labels = segment_each(session, spots, progress=lambda items: tqdm(items, desc="nuclei", unit="nucleus"))

# against the sample's own labels: a true nucleus counts as found where a label covers it with IoU >= 0.5
found = []
for nucleus_id in np.unique(truth[truth > 0]):
    nucleus = truth == nucleus_id
    candidates = np.unique(labels[nucleus])
    found.append(max((iou(nucleus, labels == c) for c in candidates if c), default=0.0) >= 0.5)
print(f"{labels.max()} labels; {sum(found)} of {len(found)} true nuclei found with IoU >= 0.5")
