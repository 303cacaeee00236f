from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_iis import Box, Click, InteractiveSession, Scribble
from napari_iis.core.metrics import iou


def test_prompts_are_frozen_data():
    click = Click((3.0, 4.0), positive=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        click.positive = True  # type: ignore[misc]
    assert Click((3, 4), False) == click
    box = Box((10, 2), (1, 8))
    assert box.start == (1.0, 2.0) and box.stop == (10.0, 8.0)
    assert box.center == (5.5, 5.0)
    scribble = Scribble(((0, 0), (2, 2)))
    assert scribble.coordinates().shape == (2, 2)


def test_undo_restores_the_mask_before_the_undone_prompt(disk):
    image, truth = disk
    session = InteractiveSession(image)
    first = session.add_click((48, 60))
    second = session.add_click((20, 20), positive=False)
    third = session.add_click((48, 70))
    assert np.array_equal(session.undo(), second)
    assert np.array_equal(session.undo(), first)
    assert len(session.prompts) == 1
    assert np.array_equal(session.undo(), np.zeros_like(truth))
    assert not session.can_undo
    assert np.array_equal(session.redo(), first)
    assert np.array_equal(session.redo(), second)
    assert np.array_equal(session.redo(), third)
    assert not session.can_redo


def test_a_new_prompt_after_undo_drops_the_redo_branch(disk):
    image, _ = disk
    session = InteractiveSession(image)
    session.add_click((48, 60))
    session.add_click((48, 70))
    session.undo()
    session.add_click((40, 60))
    assert not session.can_redo
    assert [p.position for p in session.prompts] == [(48.0, 60.0), (40.0, 60.0)]


def test_commit_returns_the_object_and_starts_a_new_one(disk):
    image, truth = disk
    session = InteractiveSession(image)
    session.add_click((48, 60))
    committed = session.commit()
    assert iou(truth, committed) > 0.8
    assert not session.mask.any()
    assert session.prompts == ()
    assert not session.can_undo


def test_reset_discards_prompts_and_mask(disk):
    image, _ = disk
    session = InteractiveSession(image)
    session.add_click((48, 60))
    assert session.reset().sum() == 0
    assert session.prompts == ()


def test_initial_mask_is_refined_by_clicks(disk):
    image, truth = disk
    session = InteractiveSession(image)
    partial = truth.copy()
    partial[:, 60:] = False
    session.set_initial_mask(partial)
    assert np.array_equal(session.mask, partial)
    refined = session.add_click((48, 70))
    assert iou(truth, refined) > iou(truth, partial)
    assert np.array_equal(session.undo(), partial)
