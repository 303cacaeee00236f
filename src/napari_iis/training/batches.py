"""Training batches (crops and their first prompts), drawn here or in worker processes.

On the GPU machine the network takes a step faster than one process can cut the crops,
so ``workers`` processes draw the batches of the steps ahead. Each batch then has its own
generator, seeded by (seed, step), so a run's batches do not depend on how many workers
drew them.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from ..core.prompts import Prompt
from ..engines.network.inputs import prompt_channels
from .clicks import corrective_click, first_prompts
from .data import Crop, procedural_image, sample_crop
from .data3d import TrainVolume, procedural_volume, sample_crop_3d
from .propagation import sample_propagation_crop

SOURCE_WEIGHTS = {"natural": 0.45, "dsb2018_nuclei": 0.2, "isbi2012_em": 0.15, "ct_abdomen": 0.15, "procedural": 0.2}
SOURCE_WEIGHTS_3D = {"ct_abdomen": 0.3, "synthetic_spheres": 0.15, "procedural": 0.55}
Batch = tuple[list[Crop], list[list[Prompt]]]
Pools = dict[str, list]
# The pools a forked worker draws from: set before the workers start, inherited, never sent.
_WORKER_POOLS: Pools = {}
PROCEDURAL_CACHE_3D = 64
# Where 2D propagation samples come from: the training volumes, else procedural ones.
PROPAGATION_VOLUMES = "volumes"
REAL_VOLUME_SHARE = 0.6


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
    rng: np.random.Generator, pools: Pools, batch: int, size: int, dims: int = 2, noisy_share: float = 0.0,
    propagation_share: float = 0.0,
) -> list[Crop]:
    """Crops from the pools (and procedural objects) in the sources' proportions; in 2D,
    ``propagation_share`` of them propagation samples (``Crop.prior`` set)."""
    source_weights = SOURCE_WEIGHTS_3D if dims == 3 else SOURCE_WEIGHTS
    names = [n for n in source_weights if n in pools or n == "procedural"]
    weights = np.asarray([source_weights[n] for n in names])
    crops = []
    while len(crops) < batch:
        if dims == 2 and propagation_share and rng.random() < propagation_share:
            crop = _propagation_crop(rng, pools, size, noisy_share)
            if crop is not None and crop.prior.sum() >= 16:
                crops.append(crop)
            continue
        source = names[rng.choice(len(names), p=weights / weights.sum())]
        if source != "procedural":
            item = pools[source][rng.integers(len(pools[source]))]
        else:
            item = _procedural_volume(rng, pools) if dims == 3 else procedural_image(rng)
        crop = sample_crop_3d(rng, item, size) if dims == 3 else sample_crop(rng, item, size, noisy_share)
        if crop.truth.sum() >= 16:
            crops.append(crop)
    return crops


def _propagation_crop(rng: np.random.Generator, pools: Pools, size: int, noisy_share: float) -> Crop | None:
    real = pools.get(PROPAGATION_VOLUMES, [])
    if real and rng.random() < REAL_VOLUME_SHARE:
        volume = real[rng.integers(len(real))]
    else:
        volume = _procedural_volume(rng, pools)
    return sample_propagation_crop(rng, volume, size, noisy_share)


def draw_batch(rng: np.random.Generator, pools: Pools, batch: int, size: int, dims: int, noisy_share: float,
               propagation_share: float = 0.0) -> Batch:
    crops = sample_batch(rng, pools, batch, size, dims, noisy_share, propagation_share)
    return crops, [[] if crop.prior is not None else first_prompts(rng, crop.truth) for crop in crops]


def _draw_in_worker(seed: int, step: int, batch: int, size: int, dims: int, noisy_share: float,
                    propagation_share: float = 0.0) -> Batch:
    crops, prompts = draw_batch(np.random.default_rng([seed, step, 1]), _WORKER_POOLS, batch, size, dims, noisy_share,
                                propagation_share)
    # half precision halves what crosses the pipe; the images came from 8-bit samples
    return [Crop(c.image.astype(np.float16), c.truth, c.ignore, c.prior) for c in crops], prompts


class ParallelBatches:
    """The batches of successive steps, ``2 × workers`` of them drawn ahead; ``shape``:
    ``draw_batch``'s arguments after the pools (batch, size, dims, noisy_share[, propagation_share])."""

    def __init__(self, pools: Pools, workers: int, seed: int, first_step: int, shape: tuple):
        _WORKER_POOLS.clear()
        _WORKER_POOLS.update(pools)
        self._executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        self._ahead = 2 * workers
        self._pending: deque[Future] = deque()
        self._seed, self._next_step, self._shape = seed, first_step, shape

    def next(self) -> Batch:
        while len(self._pending) < self._ahead:
            self._pending.append(self._executor.submit(_draw_in_worker, self._seed, self._next_step, *self._shape))
            self._next_step += 1
        crops, prompts = self._pending.popleft().result()
        return [Crop(c.image.astype(np.float32), c.truth, c.ignore, c.prior) for c in crops], prompts

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class CropWork:
    """What each step computes crop by crop on the CPU between the network's passes: the
    prompt and previous-mask channels, and the simulated user's corrective clicks. With
    ``workers`` it is spread over forked processes (on the GPU machine the training
    process was otherwise the bottleneck, the GPU idle); the results do not depend on it."""

    def __init__(self, workers: int = 0):
        self._executor = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
                          if workers else None)
        self._workers = workers

    def _map(self, function, *columns) -> list:
        if self._executor is None:
            return list(map(function, *columns))
        chunk = max(1, -(-len(columns[0]) // self._workers))
        return list(self._executor.map(function, *columns, chunksize=chunk))

    def channels(self, prompts: list[list[Prompt]], previous: np.ndarray) -> np.ndarray:
        return np.stack(self._map(prompt_channels, prompts, list(previous)))

    def corrections(self, crops: list[Crop], prompts: list[list[Prompt]], predicted: np.ndarray) -> list:
        return self._map(corrective_click, [c.truth for c in crops], list(predicted),
                         [c.ignore for c in crops], prompts)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
