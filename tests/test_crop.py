from __future__ import annotations

import numpy as np

from napari_iis.core.crop import magnify_mask, resample


def test_a_magnified_mask_is_rounded_not_a_staircase():
    grid = np.indices((12, 12))
    disk = ((grid - 5.5) ** 2).sum(axis=0) <= 5**2
    smooth, plain = magnify_mask(disk, (96, 96)) > 0.5, resample(disk.astype(np.float32), (96, 96)) > 0.5
    fine = np.indices((96, 96))
    radius = 8 * np.sqrt(disk.sum() / np.pi)  # the circle of the disk's area, at 8 ×
    circle = ((fine - 47.5) ** 2).sum(axis=0) <= radius**2
    assert (smooth != circle).sum() < (plain != circle).sum()
    assert np.array_equal(magnify_mask(disk, (12, 12)), disk.astype(np.float32))  # no magnification, no blur
