"""Slice-propagation samples for the 2D network, the first-click share of the iterative
training, and weights that propagate from the prior alone."""

from __future__ import annotations

import json

import numpy as np
import torch

from conftest import REPO_ROOT
from napari_iis.cli import main
from napari_iis.core.prompts import Click
from napari_iis.engines.base import EngineRequest
from napari_iis.engines.network.engine import PRIOR_ONLY, load_network, packaged_weights, with_prior_click
from napari_iis.training.batches import PROPAGATION_VOLUMES, draw_batch
from napari_iis.training.data3d import TrainVolume
from napari_iis.training.loop import TrainConfig, correction_count, load_pools, train
from napari_iis.training.pack import read_pack, write_pack
from napari_iis.training.propagation import sample_propagation_crop


def _ball_volume(spacing_z: float = 1.0) -> TrainVolume:
    """A bright ball of radius 12 (in-plane samples) on a dark, graded background."""
    grid = np.indices((40, 48, 48)).astype(np.float32)
    grid[0] *= spacing_z
    ball = ((grid[0] - 20 * spacing_z) ** 2 + (grid[1] - 24) ** 2 + (grid[2] - 24) ** 2) <= 12**2
    image = np.where(ball, 0.9, 0.1 + 0.2 * grid[2] / 48).astype(np.float32)
    return TrainVolume(image, ball.astype(np.int32), (spacing_z, 1.0, 1.0), "synthetic_spheres")


def test_propagation_crops_pair_a_slice_with_the_object_on_a_nearby_slice():
    rng = np.random.default_rng(0)
    volume = _ball_volume()
    ended = 0
    for _ in range(60):
        crop = sample_propagation_crop(rng, volume, 64)
        assert crop is not None and crop.prior is not None and crop.prior.shape == crop.truth.shape == (64, 64)
        prior = crop.prior > 0.5
        assert prior.sum() >= 16
        if not crop.truth.any():
            ended += 1
            continue
        # the ball's sections are concentric disks: one contains the other, however the
        # crop was flipped or transposed, and the image is bright exactly on the object
        inner, outer = (prior, crop.truth) if prior.sum() <= crop.truth.sum() else (crop.truth, prior)
        assert (inner & ~outer).sum() <= 0.05 * inner.sum() + 4
        gray = crop.image.mean(axis=0)
        assert gray[crop.truth].mean() > gray[~crop.truth].mean() + 0.2
    assert 0 < ended < 30  # the slices beyond the ball's poles teach the network to stop


def test_a_batch_with_a_propagation_share_has_prior_samples_without_clicks():
    rng = np.random.default_rng(1)
    pools = {PROPAGATION_VOLUMES: [_ball_volume(3.0)]}
    crops, prompts = draw_batch(rng, pools, 12, 48, 2, 0.0, 0.5)
    with_prior = [i for i, crop in enumerate(crops) if crop.prior is not None]
    assert 0 < len(with_prior) < 12
    for index, (crop, sample_prompts) in enumerate(zip(crops, prompts)):
        assert (sample_prompts == []) == (index in with_prior)


def test_the_first_click_share_sets_how_often_a_step_simulates_no_correction():
    rng = np.random.default_rng(2)
    for share, expected in ((None, 1 / 9), (0.3, 0.3), (0.0, 0.0), (1.0, 1.0)):
        counts = np.array([correction_count(rng, 8, share) for _ in range(4000)])
        assert counts.min() >= 0 and counts.max() <= 8
        assert abs(np.mean(counts == 0) - expected) < 0.03
        if share not in (1.0,):
            assert set(np.unique(counts[counts > 0])) == set(range(1, 9))


def test_weights_trained_with_propagation_samples_propagate_from_the_prior_alone(data_dir, tmp_path):
    # the pack command adds the training volumes (the CT's DICOM series, two sphere stacks)
    assert main(["pack", str(tmp_path / "pack"), "--data", str(data_dir), "--splits", str(REPO_ROOT / "splits"),
                 "--sets", "isbi2012_em", "--propagation-volumes"]) == 0
    volumes = [item for item in read_pack(tmp_path / "pack") if isinstance(item, TrainVolume)]
    assert sorted(v.source for v in volumes) == ["ct_abdomen", "synthetic_spheres", "synthetic_spheres"]
    config = TrainConfig(data_root=str(tmp_path / "pack"), splits_dir=str(REPO_ROOT / "splits"),
                         out_dir=str(tmp_path / "run"), steps=2, batch=2, size=48, threads=1, checkpoint_every=1,
                         max_corrections=1, sets=("isbi2012_em",), propagation_share=0.5, widened_prior=0.5,
                         init=str(packaged_weights()))
    pools = load_pools(config, progress=lambda items: items)
    assert len(pools[PROPAGATION_VOLUMES]) == 3 and len(pools["isbi2012_em"]) == 24
    weights = train(config)
    assert torch.load(weights, weights_only=True)["propagation"] == PRIOR_ONLY
    events = [json.loads(line) for line in (tmp_path / "run" / "train.log").read_text().splitlines()]
    (data,) = [e for e in events if e.get("event") == "data"]
    assert data["images"] == {"isbi2012_em": 24, PROPAGATION_VOLUMES: 3}
    _, prior_only = load_network(weights)
    assert prior_only and not load_network(packaged_weights())[1]

    prior = np.zeros((32, 32), np.float32)
    prior[8:20, 10:24] = 1
    alone = EngineRequest(image=np.zeros((3, 32, 32), np.float32), prompts=(), previous_mask=prior)
    assert with_prior_click(alone, prior_only=True) == ()
    (click,) = with_prior_click(alone)  # weights without propagation samples get a click inside
    assert click.positive and prior[tuple(int(c) for c in click.position)]
    negative = EngineRequest(image=alone.image, prompts=(Click((2.0, 2.0), False),), previous_mask=prior)
    assert len(with_prior_click(negative, prior_only=True)) == 2  # a user's negative click keeps the positive one
