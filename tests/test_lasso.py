"""Lasso prompts: an outline around the object, or around what is not the object."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO_ROOT, disk_image
from napari_iis import InteractiveSession
from napari_iis.core.clicker import simulated_lasso
from napari_iis.core.datasets import group_by_image, list_targets, read_image, read_names, sample_targets
from napari_iis.core.lasso import lasso_fill
from napari_iis.core.metrics import iou
from napari_iis.core.prompts import Box, Lasso


def test_a_lasso_beats_a_box_on_held_out_photos(data_dir):
    names = read_names(REPO_ROOT / "splits/val_coco_mval.txt")
    targets = sample_targets(list_targets(data_dir / "2d/coco_mval", 100, names), 12, seed=1)
    by_lasso, by_box = [], []
    for image_path, label_path, group in group_by_image(targets):
        session, labels = InteractiveSession(read_image(image_path)), read_image(label_path)
        for target in group:
            truth = labels == target.label_id
            lasso = simulated_lasso(truth)
            session.reset()
            mask = session.add_prompt(lasso)
            assert not (mask & ~lasso_fill(lasso, truth.shape).to_dense()).any()  # inside the outline
            by_lasso.append(iou(truth, mask))
            points = np.argwhere(truth)
            session.reset()
            by_box.append(iou(truth, session.add_prompt(Box(tuple(points.min(0)), tuple(points.max(0))))))
    assert np.mean(by_lasso) > max(0.8, np.mean(by_box) + 0.05)


def test_a_negative_lasso_cuts_its_inside_and_undo_restores():
    image, truth = disk_image()  # radius 18 at (48, 60)
    session = InteractiveSession(image)
    whole = session.add_click((48, 60))
    assert iou(truth, whole) > 0.85
    cut = [(20.0, 60.0), (20.0, 90.0), (80.0, 90.0), (80.0, 60.0)]  # the right half
    half = session.add_lasso(cut, positive=False)
    assert not half[20:81, 60:91].any() and np.array_equal(half[:, :60], whole[:, :60])
    session.undo()
    assert np.array_equal(session.mask, whole)


def test_a_positive_click_outside_the_lasso_lifts_its_bound():
    image, truth = disk_image()
    session = InteractiveSession(image)
    tight = [(40.0, 52.0), (40.0, 68.0), (56.0, 68.0), (56.0, 52.0)]  # well inside the disk
    inner = session.add_lasso(tight)
    assert inner.any() and not inner[:, :52].any() and not inner[:, 69:].any()
    grown = session.add_click((48, 44))  # on the disk, outside the outline: the object is larger
    assert grown[:, :52].any() and iou(truth, grown) > iou(truth, inner)


def test_lassos_in_volumes_need_slice_mode():
    volume, truth = disk_image(shape=(12, 60, 70), centre=(6, 30, 35), radius=9)
    outline = [(6.0, 18.0, 23.0), (6.0, 18.0, 47.0), (6.0, 42.0, 47.0), (6.0, 42.0, 23.0)]
    with pytest.raises(ValueError, match="slice by slice"):
        InteractiveSession(volume, engine="watershed").add_lasso(outline)
    session = InteractiveSession(volume, slice_mode=True)
    mask = session.add_prompt(Lasso(tuple(outline)))
    assert mask[6].any() and not np.delete(mask, 6, axis=0).any()  # that slice only
    assert iou(truth[6], mask[6]) > 0.8


def test_a_lasso_needs_three_points():
    image, _ = disk_image()
    with pytest.raises(ValueError, match="three points"):
        InteractiveSession(image).add_lasso([(1, 1), (5, 5)])
