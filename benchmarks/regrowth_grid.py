"""Which regrowth stop to use: propagation's 3D Dice for a grid of ``max_regrowth`` ×
``regrowth_after``, on the training volumes (where the values are chosen) and on the
held-out ones.

    python benchmarks/regrowth_grid.py [--engine network] [--threads 2]

Each object is propagated once from its largest true slice with the product's other
stop rules and the regrowth rule off; every grid point then cuts that run where the rule
would have ended each direction (by the product's own `AreaTrend`; the rule only adds ends, and a direction's masks up to
its end do not depend on it, so the cut equals a run with the rule on). Training volumes:
the DICOM CT series (organs > 10 cm³), sphere stacks 1135 and 1136 (at most 40 objects each) and
12 procedural volumes (seed 123); held out: those of ``propagation_headroom.py``.
"""

from __future__ import annotations

import argparse
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from napari_iis import InteractiveSession  # noqa: E402
from napari_iis.core.evaluation3d import largest_true_slice  # noqa: E402
from napari_iis.core.propagation import AreaTrend, PropagationSettings  # noqa: E402
from napari_iis.training.data3d import load_training_volumes, procedural_volume  # noqa: E402
from propagation_headroom import held_out_objects  # noqa: E402  (beside this script)

WITHOUT_REGROWTH = PropagationSettings(max_regrowth=None)
GROWTHS = (1.1, 1.15, 1.25, 1.5)
AFTER = (0.8, 0.9, 0.95)


@dataclass
class Run:
    """Per slice: the propagated mask's area, its overlap with the truth, the truth's area."""

    start: int
    area: np.ndarray
    overlap: np.ndarray
    truth: np.ndarray

    def dice(self, growth: float | None, after: float) -> float:
        settings = PropagationSettings(max_regrowth=growth, regrowth_after=after)
        kept = self.area > 0
        for direction in (1, -1):
            trend = AreaTrend.of(int(self.area[self.start]))
            plane = self.start + direction
            while 0 <= plane < len(self.area) and self.area[plane] > 0:
                area = int(self.area[plane])
                if trend.regrew(area, settings):
                    kept[plane::direction] = False
                    break
                trend = trend.through(area)
                plane += direction
        return float(2 * self.overlap[kept].sum() / (self.area[kept].sum() + self.truth.sum()))


def propagated(session: InteractiveSession, truth: np.ndarray) -> Run:
    plane, start = largest_true_slice(truth)
    session.reset()
    session.set_initial_mask(start)
    mask = session.propagate(plane=plane, settings=WITHOUT_REGROWTH)
    return Run(plane, mask.sum(axis=(1, 2)), (mask & truth).sum(axis=(1, 2)), truth.sum(axis=(1, 2)))


def training_runs(data: Path, engine: str) -> dict[str, list[Run]]:
    volumes = load_training_volumes(data, Path(__file__).parents[1] / "splits", ("ct_abdomen", "synthetic_spheres"))
    rng = np.random.default_rng(123)
    volumes += [procedural_volume(rng, 64) for _ in range(12)]
    runs: dict[str, list[Run]] = {}
    for volume in volumes:
        session = InteractiveSession(volume.image, engine=engine, spacing=volume.spacing, slice_mode=True)
        name = "DICOM CT" if volume.source == "ct_abdomen" else volume.source
        count = 0
        for label in volume.ids:
            truth = volume.labels == label
            if name == "DICOM CT" and truth.sum() * np.prod(volume.spacing) < 10_000:
                continue
            if (name == "synthetic_spheres" and count >= 40) or truth.any(axis=(1, 2)).sum() < 3:
                continue
            runs.setdefault(name, []).append(propagated(session, truth))
            count += 1
    return runs


def held_out_runs(data: Path, engine: str) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {}
    for name, session, truths in held_out_objects(data / "3d", engine):
        runs.setdefault(f"{name} (held out)", []).extend(propagated(session, truth) for truth in truths)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="network", help="the 2D engine that propagates")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("NAPARI_IIS_DATA", "../shared/data")))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    runs = training_runs(args.data, args.engine) | held_out_runs(args.data, args.engine)
    names = list(runs)
    print("| max_regrowth | regrowth_after | " + " | ".join(f"{n} ({len(runs[n])})" for n in names) + " |")
    print("|---" * (len(names) + 2) + "|")
    rows = [(None, 0.0)] + list(itertools.product(GROWTHS, AFTER))
    for growth, after in rows:
        scores = [np.mean([run.dice(growth, after) for run in runs[n]]) for n in names]
        label = "off | –" if growth is None else f"{growth} | {after}"
        print(f"| {label} | " + " | ".join(f"{s:.3f}" for s in scores) + " |", flush=True)


if __name__ == "__main__":
    main()
