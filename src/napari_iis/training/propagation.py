"""2D training samples of slice propagation: a slice of a volume, with the object's mask
on the neighbouring slice as the previous mask and no click, which is what the session's
propagation gives the network. Where the object ends on that slice the target is empty,
so the network learns to stop as well as to follow the object."""

from __future__ import annotations

import numpy as np

from .data import IGNORE, Crop, crop_and_augment, zoom_in_window
from .data3d import TrainVolume

MIN_PRIOR_AREA = 16
# The session's window is 1.4 × the prior's box (``CropPolicy.expansion``), jittered here.
PRIOR_EXPANSION = (1.2, 1.8)
# The distance to the slice predicted, in the volume's z units (mm): thin volumes skip
# slices, so that the network also sees the change between the thick slices of a CT.
SLICE_DISTANCE = (1.0, 4.0)


def sample_propagation_crop(rng: np.random.Generator, volume: TrainVolume, size: int,
                            noisy_share: float = 0.0) -> Crop | None:
    """A crop of a slice near z of a random object of ``volume``, its prior the object on z;
    None when the object has no slice large enough to start from."""
    label_id = volume.ids[rng.integers(len(volume.ids))]
    obj = volume.labels == label_id
    areas = obj.sum(axis=(1, 2))
    planes = np.flatnonzero(areas >= MIN_PRIOR_AREA)
    if len(planes) == 0 or obj.shape[0] < 2:
        return None
    plane = int(planes[rng.integers(len(planes))])
    gap = int(np.clip(round(rng.uniform(*SLICE_DISTANCE) / volume.spacing[0]), 1, obj.shape[0] - 1))
    step = gap * int(rng.choice([-1, 1]))
    if not 0 <= plane + step < obj.shape[0]:
        step = -step
    if not 0 <= plane + step < obj.shape[0]:
        return None
    prior = obj[plane]
    rows, cols = np.nonzero(prior)
    low, high = np.array([rows.min(), cols.min()], float), np.array([rows.max() + 1, cols.max() + 1], float)
    window = zoom_in_window(rng, low, high, PRIOR_EXPANSION, 0.05, prior.shape)
    target = plane + step
    image = np.repeat(volume.image[target][window][..., np.newaxis], 3, axis=-1).astype(np.float32)
    return crop_and_augment(rng, image, obj[target][window], volume.labels[target][window] == IGNORE, size,
                            noisy_share, prior=prior[window])
