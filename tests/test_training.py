from __future__ import annotations

import json

import numpy as np
import torch

from conftest import REPO_ROOT
from napari_iis.engines.network.engine import load_model
from napari_iis.engines.network.inputs import prompt_channels
from napari_iis.engines.network.model import IISNet, ModelConfig
from napari_iis.training.clicks import corrective_click, first_prompts
from napari_iis.training.data import procedural_image, sample_crop
from napari_iis.training.loop import TrainConfig, loss_terms, train

TINY = ModelConfig(widths=(8, 8, 16, 16, 24), depths=(1, 1, 1, 1, 1), expansion=2, decoder_width=16, refine_width=8)


def test_model_shapes_and_size():
    model = IISNet().eval()
    assert sum(p.numel() for p in model.parameters()) < 3_000_000
    with torch.inference_mode():
        logits, coarse = model(torch.rand(2, 3, 96, 80), torch.rand(2, 3, 96, 80))
    assert logits.shape == (2, 1, 96, 80) and coarse.shape[-2:] == (24, 20)


def test_simulated_prompts_land_on_the_object():
    rng = np.random.default_rng(0)
    for _ in range(20):
        crop = sample_crop(rng, procedural_image(rng, 96), 64)
        assert crop.image.shape == (3, 64, 64) and crop.truth.shape == (64, 64)
        if not crop.truth.any():
            continue
        prompts = first_prompts(rng, crop.truth)
        maps = prompt_channels(prompts, np.zeros((64, 64), np.float32))
        if prompts[0].kind != "box":  # a box's centre may fall in a ring's hole
            assert (maps[0].astype(bool) & crop.truth).any()  # some positive evidence is inside
        click = corrective_click(crop.truth, np.zeros((64, 64), bool), crop.ignore, prompts)
        assert click is None or click.positive


def test_loss_decreases_on_a_fixed_batch():
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    crops = []
    while len(crops) < 4:
        crop = sample_crop(rng, procedural_image(rng, 96), 64)
        if crop.truth.sum() > 30:
            crops.append(crop)
    maps = torch.from_numpy(np.stack([prompt_channels(first_prompts(rng, c.truth), np.zeros((64, 64), np.float32)) for c in crops]))
    image = torch.from_numpy(np.stack([c.image for c in crops]))
    truth = torch.from_numpy(np.stack([c.truth for c in crops])[:, None].astype(np.float32))
    valid = torch.ones_like(truth)
    model = IISNet(TINY)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = loss_terms(torch, *model(image, maps), truth, valid)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_train_writes_weights_and_resumes(data_dir, tmp_path):
    config = TrainConfig(data_root=str(data_dir), splits_dir=str(REPO_ROOT / "splits"), out_dir=str(tmp_path), steps=2, batch=2,
                         size=64, threads=1, checkpoint_every=1, sets=("isbi2012_em",), max_corrections=1)
    weights = train(config)
    first = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert first["step"] == 2
    model = load_model(weights)
    assert isinstance(model, IISNet)
    config.steps = 3
    train(config)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] == 3
    events = [json.loads(line) for line in (tmp_path / "train.log").read_text().splitlines()]
    assert {"event": "resumed", "step": 2} in events
    # validation images are never loaded for training
    assert events[0]["images"] == {"isbi2012_em": 24}
