"""Propagation speed and 3D click time on a synthetic volume, through the headless session.

    python benchmarks/volume_latency.py --engine network --threads 2

An ellipsoid about 180 pixels across in a 96 x 384 x 384 volume: propagation windows of
about 256 x 256 per slice. The 3D click targets a ball whose window is about 128³.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from napari_iis import InteractiveSession  # noqa: E402
from napari_iis.core.metrics import dice  # noqa: E402
from napari_iis.engines import create_engine  # noqa: E402


def ellipsoid_volume(shape: tuple[int, int, int], radii: tuple[float, float, float], seed: int = 0):
    grid = np.indices(shape, dtype=np.float32)
    centre = [n / 2 for n in shape]
    inside = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii)) <= 1
    noise = np.random.default_rng(seed).normal(0, 0.05, shape).astype(np.float32)
    return (0.2 + 0.5 * inside + noise).astype(np.float32), inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="watershed")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)

    engine = create_engine(args.engine)
    if 2 in engine.capabilities.ndims:
        volume, truth = ellipsoid_volume((96, 384, 384), (40, 90, 90))
        session = InteractiveSession(volume, engine=engine, slice_mode=True)
        session.add_click((48, 192, 192))
        started = time.perf_counter()
        result = session.propagate(plane=48)
        seconds = time.perf_counter() - started
        slices = int(result.any(axis=(1, 2)).sum()) - 1
        print(f"{args.engine} propagation: {slices} slices in {seconds:.2f} s = {slices / seconds:.1f} slices/s "
              f"(object up to 180 px across, windows up to ~{180 * session.crop_policy.expansion:.0f} px), "
              f"3D Dice {dice(truth, result):.3f}")

    if 3 in engine.capabilities.ndims:
        ball_volume, ball = ellipsoid_volume((128, 192, 192), (45, 45, 45), seed=1)
        session3d = InteractiveSession(ball_volume, engine=engine)
        started = time.perf_counter()
        mask = session3d.add_click((64, 96, 96))
        print(f"{args.engine} first 3D click ({session3d.last_window.shape} window): "
              f"{(time.perf_counter() - started) * 1000:.0f} ms, Dice {dice(ball, mask):.3f}")
        times = []
        for _ in range(3):
            session3d.reset()
            session3d.set_initial_mask(ball)
            started = time.perf_counter()
            mask = session3d.add_click((64, 96, 96))
            times.append(time.perf_counter() - started)
        print(f"{args.engine} 3D click with a {session3d.last_window.shape} window: "
              f"median {np.median(times) * 1000:.0f} ms, Dice {dice(ball, mask):.3f}")


if __name__ == "__main__":
    main()
