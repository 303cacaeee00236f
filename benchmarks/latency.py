"""Per-click latency of an engine through the whole session (crop, engine, paste back).

    python benchmarks/latency.py --engine watershed --threads 2

Images are the shipped RGB histology sample tiled to 1024² and 4096², so nuclei keep
their real size; clicks follow the evaluator's simulated user on the tiled labels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from napari_iis import InteractiveSession  # noqa: E402
from napari_iis.core.clicker import next_click  # noqa: E402
from napari_iis.sample_data import load_sample  # noqa: E402


def tiled(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The histology sample tiled to ``size``², each tile's nuclei under their own ids."""
    image, labels = load_sample("histology")
    reps = (-(-size // image.shape[0]), -(-size // image.shape[1]))
    big = np.tile(image, reps + (1,))[:size, :size]
    tile_index = np.kron(np.arange(reps[0] * reps[1]).reshape(reps), np.ones(labels.shape, np.int64))
    ids = np.tile(labels.astype(np.int64), reps)
    tiles = np.where(ids > 0, ids + tile_index * (int(labels.max()) + 1), 0)[:size, :size]
    return big, tiles


def click_latencies(session: InteractiveSession, labels: np.ndarray, objects: int, clicks: int) -> tuple[list, list]:
    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    chosen = ids[np.argsort(areas)[::-1][:objects]]
    first, later = [], []
    for label_id in chosen:
        truth = labels == label_id
        session.reset()
        clicked: list[tuple[int, ...]] = []
        for index in range(clicks):
            mask = session.sparse_mask.to_dense()
            click = next_click(truth, mask, clicked=clicked)
            if click is None:
                break
            clicked.append(tuple(int(c) for c in click.position))
            started = time.perf_counter()
            session.add_prompts([click])
            (first if index == 0 else later).append(time.perf_counter() - started)
    return first, later


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="watershed")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--clicks", type=int, default=5)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    for size in (1024, 4096):
        image, labels = tiled(size)
        started = time.perf_counter()
        session = InteractiveSession(image, engine=args.engine)
        setup = time.perf_counter() - started
        first, later = click_latencies(session, labels, args.objects, args.clicks)
        every = first + later
        print(f"{args.engine} {size}x{size} RGB: session set-up {setup * 1000:.0f} ms; "
              f"first click median {statistics.median(first) * 1000:.0f} ms; "
              f"all clicks median {statistics.median(every) * 1000:.0f} ms, "
              f"p95 {np.percentile(every, 95) * 1000:.0f} ms over {len(every)} clicks")


if __name__ == "__main__":
    main()
