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

from ..engines.network.engine import PRIOR_ONLY
from .batches import PROPAGATION_VOLUMES, CropWork, ParallelBatches, Pools, draw_batch
from .clicks import perturbed_truth, propagation_prior
from .data import NATURAL, SLICED_SETS, TRAIN_SETS, Crop, TrainImage, load_training_images
from .data3d import TRAIN_SETS_3D, TrainVolume, load_training_volumes, volume_slices
from .pack import is_pack, read_pack

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
    # Share of steps trained on the first click(s) alone; the others simulate 1 to
    # ``max_corrections`` corrections. None: 0 to ``max_corrections``, all equally often.
    first_click_share: float | None = None
    # 2D: share of crops that are slice-propagation samples (prior of the neighbouring
    # slice, no click); weights trained with them take propagation requests that way.
    propagation_share: float = 0.0
    # Share of samples whose previous mask is the object grown or shrunk a little.
    perturbed_previous: float = 0.2
    # Share of propagation samples whose prior is the neighbouring slice's object grown a little.
    widened_prior: float = 0.0
    # Share of 2D crops given grainy gray noise (grainy_noise); the shipped weights: none.
    noisy_share: float = 0.0
    seed: int = 0
    threads: int = 2
    device: str = "auto"
    checkpoint_every: int = 200
    # Processes that draw the batches ahead (0: the training process draws them).
    workers: int = 0
    # Train for this many minutes (0: for ``steps``): the learning rate then warms up and
    # decays over the time left, from whichever step the run starts or resumes at.
    minutes: float = 0.0
    # Weights (a file ``train`` writes, as shipped) to start from when there is no checkpoint.
    init: str = ""
    sets: tuple[str, ...] = TRAIN_SETS
    dims: int = 2

    @property
    def weights_name(self) -> str:
        return f"iisnet_{self.dims}d.pt"


def _log(out_dir: Path, record: dict) -> None:
    with open(out_dir / "train.log", "a") as handle:
        handle.write(json.dumps(record) + "\n")




def correction_count(rng: np.random.Generator, most: int, first_click_share: float | None) -> int:
    """How many corrective clicks a step simulates before the trained pass."""
    if first_click_share is None or most == 0:
        return int(rng.integers(0, most + 1))
    return 0 if rng.random() < first_click_share else int(rng.integers(1, most + 1))


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
    """The training data by source; in 2D with propagation samples, the training volumes too
    (``TRAIN_SETS_3D``, or the volumes a pack holds) under ``PROPAGATION_VOLUMES``."""
    with_volumes = config.dims == 2 and config.propagation_share > 0
    if is_pack(Path(config.data_root)):
        items = read_pack(Path(config.data_root), progress)
        volumes = [i for i in items if isinstance(i, TrainVolume) and i.ids]
        if config.dims == 3:
            return _pools_3d([v for v in volumes if v.source in config.sets])
        pools = _pools([i for i in items if isinstance(i, TrainImage) and i.source in config.sets])
        if with_volumes and volumes:
            pools[PROPAGATION_VOLUMES] = volumes
        return pools
    root, splits = Path(config.data_root), Path(config.splits_dir)
    if config.dims == 3:
        return _pools_3d(load_training_volumes(root, splits, config.sets))
    images = load_training_images(root, splits, [s for s in config.sets if s not in SLICED_SETS], progress)
    wanted = set(s for s in config.sets if s in SLICED_SETS) | (set(TRAIN_SETS_3D) if with_volumes else set())
    volumes = [v for v in load_training_volumes(root, splits, tuple(sorted(wanted))) if v.ids] if wanted else []
    images += [image for volume in volumes if volume.source in config.sets for image in volume_slices(volume)]
    pools = _pools(images)
    if with_volumes and volumes:
        pools[PROPAGATION_VOLUMES] = volumes
    return pools


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

    # 2D convolutions train about 1.4x faster on the CPU on channels-last tensors (not
    # measured on a GPU, which keeps the layout its runs were measured with)
    layout = torch.channels_last if config.dims == 2 and device.type == "cpu" else torch.contiguous_format
    model = build_model(config.dims).to(device, memory_format=layout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    step = 0
    # steps the initial weights had trained for: the exported weights count them too
    init_steps = 0
    prior_only = False
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    if checkpoint_path.is_file():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, init_steps = int(state["step"]), int(state.get("init_steps", 0))
        prior_only = bool(state.get("prior_only", False))
        rng = np.random.default_rng([config.seed, step])
        _log(out_dir, {"event": "resumed", "step": step})
    else:
        (out_dir / "config.json").write_text(json.dumps(asdict(config), indent=1))
        if config.init:
            payload = torch.load(config.init, map_location=device, weights_only=True)
            model.load_state_dict({k: v.float() for k, v in payload["state_dict"].items()})
            init_steps = int(payload.get("steps") or 0)
            prior_only = payload.get("propagation") == PRIOR_ONLY
            _log(out_dir, {"event": "initialised", "weights": config.init, "steps": init_steps})

    pools = load_pools(config, progress)
    _log(out_dir, {"event": "data", "images": {k: len(v) for k, v in pools.items()}, "device": str(device)})

    first_step, warmup = step, 200
    deadline = time.time() + 60 * config.minutes

    def schedule(current: int) -> float:
        since = current - first_step if config.minutes else current
        if since < warmup:
            return config.lr * (since + 1) / warmup
        if config.minutes:
            progress = 1 - (deadline - time.time()) / (60 * config.minutes)
        else:
            progress = current / config.steps
        return config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    prior_only = prior_only or (config.dims == 2 and config.propagation_share > 0)
    shape = (config.batch, config.size, config.dims, config.noisy_share, config.propagation_share)
    parallel = ParallelBatches(pools, config.workers, config.seed, step, shape) if config.workers else None
    crop_work = CropWork(config.workers)

    def forward(crops: list[Crop], prompts: list[list], previous: np.ndarray):
        image = torch.from_numpy(np.stack([c.image for c in crops])).to(device, memory_format=layout)
        maps = torch.from_numpy(crop_work.channels(prompts, previous)).to(device, memory_format=layout)
        return model(image, maps)

    bar = progress(range(step, config.steps))
    started, seen, running = time.time(), 0, 0.0
    for step in bar:
        crops, prompts = parallel.next() if parallel else draw_batch(rng, pools, *shape)
        priors = [index for index, crop in enumerate(crops) if crop.prior is not None]
        previous = np.zeros((len(crops),) + (config.size,) * config.dims, np.float32)
        corrections = correction_count(rng, config.max_corrections, config.first_click_share)
        if corrections:
            model.eval()
            with torch.no_grad():
                for _ in range(corrections):
                    predicted = (forward(crops, prompts, previous)[0][:, 0] > 0).cpu().numpy()
                    for sample_prompts, click in zip(prompts, crop_work.corrections(crops, prompts, predicted)):
                        if click is not None:
                            sample_prompts.append(click)
                    previous = predicted.astype(np.float32)
            model.train()
        for index in priors:  # propagation samples: the prior alone, without clicks
            prompts[index], previous[index] = [], propagation_prior(rng, crops[index].prior, config.widened_prior)
        for index, crop in enumerate(crops):
            if crop.prior is None and rng.random() < config.perturbed_previous:
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
        out_of_time = bool(config.minutes) and time.time() >= deadline
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps or out_of_time:
            save_checkpoint(torch, checkpoint_path, model, optimizer, step + 1, init_steps, prior_only)
            export_weights(torch, model, out_dir / config.weights_name, init_steps + step + 1, prior_only)
        if out_of_time:
            _log(out_dir, {"event": "out of time", "step": step + 1, "minutes": config.minutes})
            break
    if parallel:
        parallel.close()
    crop_work.close()
    return out_dir / config.weights_name


def save_checkpoint(torch, path: Path, model, optimizer, step: int, init_steps: int = 0,
                    prior_only: bool = False) -> None:
    temporary = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                "init_steps": init_steps, "prior_only": prior_only}, temporary)
    temporary.replace(path)


def export_weights(torch, model, path: Path, step: int, prior_only: bool = False) -> None:
    """Half-precision weights with the model's class and config: what ships in the package.
    ``prior_only``: trained on propagation samples, which carry the prior and no click."""
    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    temporary = path.with_suffix(".tmp")
    payload = {"architecture": type(model).__name__, "config": model.config.to_dict(), "state_dict": state, "steps": step}
    if prior_only:
        payload["propagation"] = PRIOR_ONLY
    torch.save(payload, temporary)
    temporary.replace(path)
