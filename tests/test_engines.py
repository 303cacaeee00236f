from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import disk_image
from napari_iis import Click, InteractiveSession
from napari_iis.core.metrics import iou
from napari_iis.engines import Engine, EngineRequest, available_engines, create_engine

ENGINES = available_engines()
# A 2D engine also segments volumes slice by slice; a 3D-only engine gets 3D versions of the 2D cases.
VOLUME_ONLY = {name for name in ENGINES if 2 not in create_engine(name).capabilities.ndims}
BLOBS = [((96, 128), (48, 60), 18), ((24, 48, 56), (12, 24, 28), 9)]


def blob_case(name: str) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """A disk for 2D engines, a ball for volume-only ones: image, truth, leading index."""
    if name in VOLUME_ONLY:
        image, truth = disk_image(shape=(40, 96, 128), centre=(20, 48, 60), radius=18)
        return image, truth, (20,)
    image, truth = disk_image()
    return image, truth, ()


@pytest.mark.parametrize("name", ENGINES)
def test_engine_implements_the_interface(name):
    engine = create_engine(name)
    assert isinstance(engine, Engine) and engine.name == name
    assert {"click", "box", "scribble"} <= set(engine.capabilities.prompt_kinds)


@pytest.mark.parametrize("name, shape, centre, radius",
                         [(n, *blob) for n in ENGINES for blob in BLOBS if len(blob[0]) == 3 or n not in VOLUME_ONLY])
def test_one_click_segments_a_blob(name, shape, centre, radius):
    image, truth = disk_image(shape=shape, centre=centre, radius=radius)
    session = InteractiveSession(image, engine=name)
    if session.slice_mode:  # a 2D engine segments the clicked slice of a volume
        truth = np.zeros_like(truth)
        truth[centre[0]] = disk_image(shape=shape, centre=centre, radius=radius)[1][centre[0]]
    # the coarse ablation works at stride 4: a radius-9 disk keeps blocky edges
    assert iou(truth, session.add_click(centre)) > (0.7 if name == "network_coarse" else 0.75)


@pytest.mark.parametrize("name", ENGINES)
def test_box_and_negative_scribble(name):
    image, truth, lead = blob_case(name)
    session = InteractiveSession(image, engine=name)
    start, stop = (*[z - 18 for z in lead], 26, 38), (*[z + 18 for z in lead], 70, 82)
    assert iou(truth, session.add_box(start, stop)) > 0.8
    assert iou(truth, session.add_scribble([(*lead, 5, 5), (*lead, 5, 120)], positive=False)) > 0.8


@pytest.mark.parametrize("name", ENGINES)
def test_no_object_seed_means_no_object(name):
    engine = create_engine(name)
    shape = (16, 32, 32) if name in VOLUME_ONLY else (32, 32)
    image = np.random.default_rng(0).random((1, *shape)).astype(np.float32)
    click = Click(tuple(10.0 for _ in shape), positive=False)
    logits = engine.predict(EngineRequest(image, (click,), np.zeros(shape, np.float32)))
    assert logits.shape == shape and (logits < 0).all()


@pytest.mark.parametrize("name", ENGINES)
def test_previous_mask_alone_is_kept(name):
    # correcting an existing object: with no positive prompt the old mask's interior seeds it
    image, truth, lead = blob_case(name)
    session = InteractiveSession(image, engine=name)
    session.set_initial_mask(truth)
    corrected = session.add_click((*lead, 5, 5), positive=False)
    assert iou(truth, corrected) > 0.8


def test_a_negative_click_moves_the_priors_positive_click_away_from_it():
    from napari_iis.core.prompts import Click
    from napari_iis.engines import EngineRequest
    from napari_iis.engines.network.engine import with_prior_click

    prior = np.zeros((40, 60), np.float32)
    prior[10:30, 5:25] = 1  # the body
    prior[17:23, 25:45] = 1  # a lobe the user rejects
    image = np.zeros((3, 40, 60), np.float32)
    on_lobe = EngineRequest(image=image, prompts=(Click((20.0, 40.0), False),), previous_mask=prior)
    _, added = with_prior_click(on_lobe)
    assert added.positive and added.position[1] < 25  # the positive click stays in the body
    square = np.zeros((40, 40), np.float32)
    square[10:30, 10:30] = 1
    in_middle = EngineRequest(image=image[:, :, :40], prompts=(Click((19.5, 19.5), False),), previous_mask=square)
    assert with_prior_click(in_middle) == in_middle.prompts  # "not here": no positive click is made up
    carried = dataclasses.replace(on_lobe, carried_prior=True)  # a propagated slice's mask
    assert with_prior_click(carried) == carried.prompts  # the negative click stands alone against it
