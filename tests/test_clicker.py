from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_iis.core.clicker import next_click


def reference_click(truth, prediction, ignore=None, clicked=()):
    """The protocol computed naively over the whole image."""
    keep = np.ones_like(truth) if ignore is None else ~ignore
    fn = np.pad(truth & ~prediction & keep, 1)
    fp = np.pad(prediction & ~truth & keep, 1)
    fn_dt = ndimage.distance_transform_edt(fn)[1:-1, 1:-1]
    fp_dt = ndimage.distance_transform_edt(fp)[1:-1, 1:-1]
    for point in clicked:
        fn_dt[point] = fp_dt[point] = 0
    positive = fn_dt.max() > fp_dt.max()
    dt = fn_dt if positive else fp_dt
    return tuple(float(v) for v in np.argwhere(dt == dt.max())[0]), bool(positive)


def square(shape=(40, 50), rows=(10, 20), cols=(20, 30)):
    mask = np.zeros(shape, bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return mask


def test_first_click_goes_to_the_first_deepest_pixel_of_the_object():
    click = next_click(square(), np.zeros((40, 50), bool))
    # a 10x10 square has four centre pixels at distance 5; the first in C order wins
    assert click.position == (14.0, 24.0) and click.positive


def test_clicked_pixels_are_not_clicked_again():
    click = next_click(square(), np.zeros((40, 50), bool), clicked=[(14, 24)])
    assert click.position == (14.0, 25.0)


def test_larger_false_positive_gives_a_negative_click():
    truth = square()
    prediction = truth | square(rows=(25, 39), cols=(2, 16))
    prediction[10:12, 20:30] = False  # a thin false negative
    click = next_click(truth, prediction)
    assert not click.positive
    assert 25 <= click.position[0] < 39 and 2 <= click.position[1] < 16


def test_a_tie_is_negative():
    truth = square(rows=(0, 10), cols=(0, 10)) | square(rows=(20, 30), cols=(20, 30))
    prediction = square(rows=(20, 30), cols=(20, 30)) | square(rows=(0, 10), cols=(35, 45))
    click = next_click(truth, prediction)
    assert not click.positive  # both errors are 10x10 squares


def test_image_edge_counts_as_boundary():
    truth = np.zeros((10, 10), bool)
    truth[:, :6] = True
    click = next_click(truth, np.zeros_like(truth))
    # distance 3 needs column 2 (edges at -1 and 6) and rows 2..7 (edges at -1 and 10)
    assert click.position == (2.0, 2.0)


def test_ignore_pixels_are_excluded():
    truth = square()
    ignore = np.zeros_like(truth)
    ignore[10:20, 20:26] = True
    click = next_click(truth, np.zeros_like(truth), ignore)
    assert click.position[1] >= 26


def test_nothing_to_correct():
    truth = square()
    assert next_click(truth, truth.copy()) is None


def test_spacing_in_three_dimensions():
    truth = np.zeros((6, 30, 30), bool)
    truth[1:5, 5:25, 5:25] = True
    isotropic = next_click(truth, np.zeros_like(truth))
    anisotropic = next_click(truth, np.zeros_like(truth), spacing=(10.0, 1.0, 1.0))
    assert isotropic.positive and anisotropic.positive
    assert isotropic.position[0] in (2.0, 3.0)
    assert anisotropic.position == (1.0, 14.0, 14.0)  # in mm every slice is deep enough


@pytest.mark.parametrize("seed", range(20))
def test_matches_the_whole_image_reference_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    truth = ndimage.gaussian_filter(rng.random((48, 64)), 3) > 0.5
    prediction = ndimage.gaussian_filter(rng.random((48, 64)), 3) > 0.5
    assert truth.any() and prediction.any() and (truth ^ prediction).any()
    ignore = rng.random((48, 64)) > 0.97
    clicked = [tuple(int(v) for v in rng.integers(0, 48, 2))]
    click = next_click(truth, prediction, ignore, clicked)
    position, positive = reference_click(truth, prediction, ignore, clicked)
    assert click.position == position and click.positive == positive
