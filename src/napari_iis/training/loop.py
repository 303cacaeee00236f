"""The resumable training loop: iterative simulated clicks, BCE + soft Dice, 2D or 3D."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..engines.network.inputs import prompt_channels
from .clicks import corrective_click, first_prompts, perturbed_truth
from .data import SLICED_SETS, TRAIN_SETS, Crop, TrainImage, load_training_images, procedural_image, sample_crop
from .data3d import TRAIN_SETS_3D, TrainVolume, load_training_volumes, procedural_volume, sample_crop_3d, volume_slices

SOURCE_WEIGHTS = {"natural": 0.45, "dsb2018_nuclei": 0.2, "isbi2012_em": 0.15, "ct_abdomen": 0.15, "procedural": 0.2}
SOURCE_WEIGHTS_3D = {"ct_abdomen": 0.3, "synthetic_spheres": 0.15, "procedural": 0.55}
NATURAL = ("coco_mval", "ecssd", "duts_tr")
DEFAULT_SIZE = {2: 160, 3: 48}
DEFAULT_BATCH = {2: 16, 3: 8}


@dataclass
class TrainConfig:
    data_root: str
    splits_dir: str
    out_dir: str
    steps: int = 20000
    batch: int = 16
    size: int = 160
    lr: float = 2e-3
    max_corrections: int = 3
    # Share of samples whose previous mask is the object grown or shrunk a little.
    perturbed_previous: float = 0.2
    # Share of 2D crops given grainy gray noise (grainy_noise); the shipped weights: none.
    noisy_share: float = 0.0
    seed: int = 0
    threads: int = 2
    device: str = "auto"
    checkpoint_every: int = 200
    sets: tuple[str, ...] = TRAIN_SETS
    dims: int = 2

    @property
    def weights_name(self) -> str:
        return f"iisnet_{self.dims}d.pt"


def _log(out_dir: Path, record: dict) -> None:
    with open(out_dir / "train.log", "a") as handle:
        handle.write(json.dumps(record) + "\n")


Pools = dict[str, list]


def _pools(images: list[TrainImage]) -> Pools:
    pools: Pools = {}
    for item in images:
        pools.setdefault("natural" if item.source in NATURAL else item.source, []).append(item)
    return pools


def _pools_3d(volumes: list[TrainVolume]) -> Pools:
    pools: Pools = {}
    for item in volumes:
        if item.ids:
            pools.setdefault(item.source, []).append(item)
    return pools


def load_pools(config: TrainConfig, progress: Callable[[Iterable], Iterable]) -> Pools:
    if config.dims == 3:
        return _pools_3d(load_training_volumes(Path(config.data_root), Path(config.splits_dir), config.sets))
    root, splits = Path(config.data_root), Path(config.splits_dir)
    images = load_training_images(root, splits, [s for s in config.sets if s not in SLICED_SETS], progress)
    sliced = tuple(s for s in config.sets if s in SLICED_SETS)
    if sliced:
        images += [image for volume in load_training_volumes(root, splits, sliced) for image in volume_slices(volume)]
    return _pools(images)


PROCEDURAL_CACHE_3D = 64


def _procedural_volume(rng: np.random.Generator, pools: Pools) -> TrainVolume:
    """A procedural volume: a new one a quarter of the time, else one of the last few
    (each holds several objects and costs a tenth of a second to make). The cache lives
    in ``pools``, beside the data sets, under a name no source weight refers to."""
    cache = pools.setdefault("procedural_cache", [])
    if len(cache) < PROCEDURAL_CACHE_3D or rng.random() < 0.25:
        item = procedural_volume(rng)
        if len(cache) < PROCEDURAL_CACHE_3D:
            cache.append(item)
        else:
            cache[rng.integers(PROCEDURAL_CACHE_3D)] = item
        return item
    return cache[rng.integers(len(cache))]


def sample_batch(
    rng: np.random.Generator, pools: Pools, batch: int, size: int, dims: int = 2, noisy_share: float = 0.0
) -> list[Crop]:
    """Crops from the pools (and procedural objects) in the sources' proportions."""
    source_weights = SOURCE_WEIGHTS_3D if dims == 3 else SOURCE_WEIGHTS
    names = [n for n in source_weights if n in pools or n == "procedural"]
    weights = np.asarray([source_weights[n] for n in names])
    crops = []
    while len(crops) < batch:
        source = names[rng.choice(len(names), p=weights / weights.sum())]
        if source != "procedural":
            item = pools[source][rng.integers(len(pools[source]))]
        else:
            item = _procedural_volume(rng, pools) if dims == 3 else procedural_image(rng)
        crop = sample_crop_3d(rng, item, size) if dims == 3 else sample_crop(rng, item, size, noisy_share)
        if crop.truth.sum() >= 16:
            crops.append(crop)
    return crops


def build_model(dims: int):
    if dims == 3:
        from ..engines.network.model3d import IISNet3D

        return IISNet3D()
    from ..engines.network.model import IISNet

    return IISNet()


def loss_terms(torch, logits, coarse, truth, valid):
    """BCE + soft Dice on the refined logits, BCE on the coarse ones; void pixels ignored."""
    F = torch.nn.functional
    bce = (F.binary_cross_entropy_with_logits(logits, truth, reduction="none") * valid).sum() / valid.sum().clamp(min=1)
    probability = torch.sigmoid(logits) * valid
    axes = tuple(range(1, truth.ndim))
    intersection = (probability * truth).sum(dim=axes)
    dice = 1 - (2 * intersection + 1) / (probability.sum(dim=axes) + (truth * valid).sum(dim=axes) + 1)
    pool = F.adaptive_avg_pool2d if truth.ndim == 4 else F.adaptive_avg_pool3d
    spatial = coarse.shape[2:]
    small_truth, small_valid = pool(truth, spatial), pool(valid, spatial)
    coarse_bce = (F.binary_cross_entropy_with_logits(coarse, small_truth, reduction="none") * small_valid).mean()
    return bce + dice.mean() + 0.4 * coarse_bce


def train(config: TrainConfig, progress: Callable[[Iterable], Iterable] = lambda items: items) -> Path:
    """Train (or resume) and write ``out_dir/iisnet_{dims}d.pt``; returns its path."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(config.threads)
    device = torch.device("cuda" if config.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if config.device == "auto" else config.device))
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / "checkpoint.pt"

    model = build_model(config.dims).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    step = 0
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    if checkpoint_path.is_file():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        rng = np.random.default_rng([config.seed, step])
        _log(out_dir, {"event": "resumed", "step": step})
    else:
        (out_dir / "config.json").write_text(json.dumps(asdict(config), indent=1))

    pools = load_pools(config, progress)
    _log(out_dir, {"event": "data", "images": {k: len(v) for k, v in pools.items()}, "device": str(device)})

    def schedule(current: int) -> float:
        warmup = 200
        if current < warmup:
            return config.lr * (current + 1) / warmup
        return config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, current / config.steps)))

    def forward(crops: list[Crop], prompts: list[list], previous: np.ndarray):
        image = torch.from_numpy(np.stack([c.image for c in crops])).to(device)
        maps = torch.from_numpy(np.stack([prompt_channels(p, m) for p, m in zip(prompts, previous)])).to(device)
        return model(image, maps)

    bar = progress(range(step, config.steps))
    started, seen, running = time.time(), 0, 0.0
    for step in bar:
        crops = sample_batch(rng, pools, config.batch, config.size, config.dims, config.noisy_share)
        prompts = [first_prompts(rng, c.truth) for c in crops]
        previous = np.zeros((len(crops),) + (config.size,) * config.dims, np.float32)
        corrections = int(rng.integers(0, config.max_corrections + 1))
        if corrections:
            model.eval()
            with torch.no_grad():
                for _ in range(corrections):
                    predicted = (forward(crops, prompts, previous)[0][:, 0] > 0).cpu().numpy()
                    for crop, sample_prompts, prediction in zip(crops, prompts, predicted):
                        click = corrective_click(crop.truth, prediction, crop.ignore, sample_prompts)
                        if click is not None:
                            sample_prompts.append(click)
                    previous = predicted.astype(np.float32)
            model.train()
        for index, crop in enumerate(crops):
            if rng.random() < config.perturbed_previous:
                previous[index] = perturbed_truth(rng, crop.truth)
        for group in optimizer.param_groups:
            group["lr"] = schedule(step)
        logits, coarse = forward(crops, prompts, previous)
        truth = torch.from_numpy(np.stack([c.truth for c in crops])[:, None].astype(np.float32)).to(device)
        valid = torch.from_numpy(~np.stack([c.ignore for c in crops])[:, None]).float().to(device)
        loss = loss_terms(torch, logits, coarse, truth, valid)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running += loss.item()
        seen += 1
        if (step + 1) % 50 == 0:
            with torch.no_grad():
                predicted = logits > 0
                iou = ((predicted & (truth > 0)).sum() / ((predicted | (truth > 0)).sum()).clamp(min=1)).item()
            _log(out_dir, {"step": step + 1, "loss": running / seen, "batch_iou": iou,
                           "lr": schedule(step), "s_per_step": (time.time() - started) / seen})
            running, seen, started = 0.0, 0, time.time()
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
            save_checkpoint(torch, checkpoint_path, model, optimizer, step + 1)
            export_weights(torch, model, out_dir / config.weights_name, step + 1)
    return out_dir / config.weights_name


def save_checkpoint(torch, path: Path, model, optimizer, step: int) -> None:
    temporary = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}, temporary)
    temporary.replace(path)


def export_weights(torch, model, path: Path, step: int) -> None:
    """Half-precision weights with the model's class and config: what ships in the package."""
    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    temporary = path.with_suffix(".tmp")
    payload = {"architecture": type(model).__name__, "config": model.config.to_dict(), "state_dict": state, "steps": step}
    torch.save(payload, temporary)
    temporary.replace(path)
