"""Overlap metrics that respect ignore regions."""

from __future__ import annotations

import numpy as np


def iou(truth: np.ndarray, prediction: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Intersection over union of two bool masks, pixels in ``ignore`` excluded."""
    truth, prediction = truth.astype(bool), prediction.astype(bool)
    if ignore is not None:
        keep = ~ignore.astype(bool)
        truth, prediction = truth & keep, prediction & keep
    union = np.count_nonzero(truth | prediction)
    if union == 0:
        return 1.0
    return np.count_nonzero(truth & prediction) / union


def dice(truth: np.ndarray, prediction: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Dice coefficient of two bool masks, pixels in ``ignore`` excluded."""
    overlap = iou(truth, prediction, ignore)
    return 2 * overlap / (1 + overlap)
