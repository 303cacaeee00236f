from __future__ import annotations

import numpy as np
import pytest

from conftest import disk_image
from napari_iis import Click, InteractiveSession
from napari_iis.core.metrics import iou
from napari_iis.engines import Engine, EngineRequest, available_engines, create_engine

ENGINES = available_engines()


@pytest.mark.parametrize("name", ENGINES)
def test_engine_implements_the_interface(name):
    engine = create_engine(name)
    assert isinstance(engine, Engine) and engine.name == name
    assert {"click", "box", "scribble"} <= set(engine.capabilities.prompt_kinds)


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("shape, centre, radius", [((96, 128), (48, 60), 18), ((24, 48, 56), (12, 24, 28), 9)])
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
    image, truth = disk_image()
    session = InteractiveSession(image, engine=name)
    assert iou(truth, session.add_box((26, 38), (70, 82))) > 0.8
    assert iou(truth, session.add_scribble([(5, 5), (5, 120)], positive=False)) > 0.8


@pytest.mark.parametrize("name", ENGINES)
def test_no_object_seed_means_no_object(name):
    engine = create_engine(name)
    image = np.random.default_rng(0).random((1, 32, 32)).astype(np.float32)
    request = EngineRequest(image, (Click((10.0, 10.0), positive=False),), np.zeros((32, 32), np.float32))
    logits = engine.predict(request)
    assert logits.shape == (32, 32) and (logits < 0).all()


@pytest.mark.parametrize("name", ENGINES)
def test_previous_mask_alone_is_kept(name):
    # correcting an existing object: with no positive prompt the old mask's interior seeds it
    image, truth = disk_image()
    session = InteractiveSession(image, engine=name)
    session.set_initial_mask(truth)
    corrected = session.add_click((5, 5), positive=False)
    assert iou(truth, corrected) > 0.8
