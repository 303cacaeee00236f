"""Training packs (what the GPU machine trains from) and batches drawn in worker processes."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT
from napari_iis.cli import main
from napari_iis.training.batches import CropWork, ParallelBatches, draw_batch
from napari_iis.training.data import IGNORE, find_objects, procedural_image
from napari_iis.training.data3d import procedural_volume
from napari_iis.training.loop import TrainConfig, load_pools, train
from napari_iis.training.pack import read_pack, write_pack

WEIGHTS_2D = REPO_ROOT / "src" / "napari_iis" / "engines" / "network" / "weights" / "iisnet_2d.pt"


def _image(seed: int, source: str):
    item = procedural_image(np.random.default_rng(seed))
    labels = item.labels.copy()
    labels[:3] = IGNORE  # a void band, as the EM and photo ground truths have
    return replace(item, labels=labels, objects=find_objects(labels), source=source)


def test_a_2d_pack_keeps_labels_exactly_and_shrinks_only_photos(tmp_path):
    em, nuclei, photo = _image(0, "isbi2012_em"), _image(1, "dsb2018_nuclei"), _image(2, "ecssd")
    side = max(photo.labels.shape)
    write_pack([em, nuclei, photo], tmp_path / "pack", max_side=side // 2, quality=90)
    read = read_pack(tmp_path / "pack")
    assert [item.source for item in read] == ["isbi2012_em", "dsb2018_nuclei", "ecssd"]
    # EM is lossless, the nuclei are JPEG (close, not equal); labels are exact, void included
    np.testing.assert_array_equal(read[0].image, em.image)
    np.testing.assert_array_equal(read[0].labels, em.labels)
    assert np.abs(read[1].image.astype(int) - nuclei.image).mean() < 3
    np.testing.assert_array_equal(read[1].labels, nuclei.labels)
    assert (read[1].labels == IGNORE).any()
    assert max(read[2].labels.shape) == side // 2 and read[2].objects
    assert [o[0] for o in read[0].objects] == [o[0] for o in em.objects]
    with pytest.raises(FileExistsError):
        write_pack([em], tmp_path / "pack")


def test_photos_whose_objects_vanish_when_shrunk_are_left_out(tmp_path):
    labels = np.zeros((400, 400), np.int32)
    labels[10:20, 10:20] = 1  # 100 pixels, 6 once the photo is shrunk to 100 px
    tiny = _image(3, "duts_tr")
    tiny = replace(tiny, image=np.zeros((400, 400, 3), np.uint8), labels=labels, objects=find_objects(labels))
    write_pack([tiny, _image(4, "isbi2012_em")], tmp_path / "pack", max_side=100)
    assert [item.source for item in read_pack(tmp_path / "pack")] == ["isbi2012_em"]


def test_a_3d_pack_keeps_labels_spacing_and_intensities_to_8_bits(tmp_path):
    volume = replace(procedural_volume(np.random.default_rng(5)), source="ct_abdomen")
    write_pack([volume], tmp_path / "pack")
    (read,) = read_pack(tmp_path / "pack")
    np.testing.assert_array_equal(read.labels, volume.labels)
    assert read.spacing == volume.spacing and read.ids == volume.ids
    assert np.abs(read.image - volume.image).max() <= 0.5 / 255 + 1e-6


def test_batches_from_workers_are_those_drawn_in_process(tmp_path):
    pools = {"isbi2012_em": [_image(seed, "isbi2012_em") for seed in range(3)]}
    parallel = ParallelBatches(pools, workers=2, seed=7, first_step=10, shape=(3, 48, 2, 0.0))
    try:
        batches = [parallel.next() for _ in range(3)]
    finally:
        parallel.close()
    for step, (crops, prompts) in enumerate(batches, start=10):
        expected, expected_prompts = draw_batch(np.random.default_rng([7, step, 1]), pools, 3, 48, 2, 0.0)
        for crop, reference in zip(crops, expected):
            np.testing.assert_array_equal(crop.truth, reference.truth)
            assert crop.image.dtype == np.float32
            np.testing.assert_allclose(crop.image, reference.image, atol=1e-3)
        assert prompts == expected_prompts


def test_click_channels_and_corrections_from_workers_are_those_computed_in_process():
    pools = {"isbi2012_em": [_image(seed, "isbi2012_em") for seed in range(3)]}
    crops, prompts = draw_batch(np.random.default_rng(3), pools, 5, 48, 2, 0.0)
    # a prediction wrong on every crop: the object shifted by 5 samples
    predicted = np.stack([np.roll(crop.truth, 5, axis=1) for crop in crops])
    here, spread = CropWork(0), CropWork(2)
    try:
        clicks = spread.corrections(crops, prompts, predicted)
        assert clicks == here.corrections(crops, prompts, predicted)
        assert all(click is not None for click in clicks)
        with_clicks = [p + [c] for p, c in zip(prompts, clicks)]
        channels = spread.channels(with_clicks, predicted.astype(np.float32))
        np.testing.assert_array_equal(channels, here.channels(with_clicks, predicted.astype(np.float32)))
    finally:
        spread.close()
    assert channels.shape == (5, 3, 48, 48)
    # each crop's corrective click lands in its own error region, on its own positive or negative map
    for crop, prediction, click, maps in zip(crops, predicted, clicks, channels):
        y, x = (int(round(v)) for v in click.position)
        assert crop.truth[y, x] != prediction[y, x] and crop.truth[y, x] == click.positive
        assert maps[0 if click.positive else 1, y, x] > 0


def test_training_from_a_pack_with_workers_a_time_budget_and_shipped_weights(tmp_path):
    write_pack([_image(seed, "isbi2012_em") for seed in range(3)], tmp_path / "pack")
    config = TrainConfig(data_root=str(tmp_path / "pack"), splits_dir=str(REPO_ROOT / "splits"),
                         out_dir=str(tmp_path / "run"), steps=10_000, batch=2, size=48, threads=1,
                         checkpoint_every=1_000, max_corrections=1, sets=("isbi2012_em",),
                         workers=1, minutes=0.1, init=str(WEIGHTS_2D))
    assert {name: len(pool) for name, pool in load_pools(config, progress=lambda items: items).items()} == {"isbi2012_em": 3}
    train(config)
    events = [json.loads(line) for line in (tmp_path / "run" / "train.log").read_text().splitlines()]
    assert events[0]["event"] == "initialised"
    (stopped,) = [e for e in events if e.get("event") == "out of time"]
    assert 0 < stopped["step"] < 10_000
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == stopped["step"]
    # the exported weights count the shipped weights' steps and this run's
    shipped_steps = torch.load(WEIGHTS_2D, weights_only=True)["steps"]
    assert events[0]["steps"] == shipped_steps
    assert torch.load(tmp_path / "run" / "iisnet_2d.pt", weights_only=True)["steps"] == shipped_steps + stopped["step"]


def test_the_pack_command_writes_the_training_images_without_the_validation_split(data_dir, tmp_path):
    assert main(["pack", str(tmp_path / "pack"), "--data", str(data_dir), "--splits", str(REPO_ROOT / "splits"),
                 "--sets", "isbi2012_em"]) == 0
    config = TrainConfig(data_root=str(data_dir), splits_dir=str(REPO_ROOT / "splits"), out_dir="", sets=("isbi2012_em",))
    loaded = load_pools(config, progress=lambda items: items)["isbi2012_em"]
    packed = read_pack(tmp_path / "pack")
    assert len(packed) == len(loaded) == 24  # sections 24-29 are validation
    for item, reference in zip(packed, loaded):
        np.testing.assert_array_equal(item.image, reference.image)
        np.testing.assert_array_equal(item.labels, reference.labels)
