"""Where slice propagation loses: at its ends (where it stops) or on the slices it keeps.

    python benchmarks/propagation_headroom.py [--engine network] [--threads 2]

Each object is propagated from the true mask on its largest slice three ways, and 3D
Dice is reported for each: with the product's stop rules; with every stop rule off (the
mask carried to the volume's ends); and with the rules off but the result cut to the
slices the true object spans (an oracle of where to stop, which no user has). Where the
oracle is far above the product, better stopping would pay; where it is not, the slices
themselves are what loses.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from napari_iis import InteractiveSession  # noqa: E402
from napari_iis.core.evaluation3d import largest_true_slice, volume_cases  # noqa: E402
from napari_iis.core.metrics import dice  # noqa: E402
from napari_iis.core.propagation import PropagationSettings  # noqa: E402
from napari_iis.io.nifti import CT_SOFT_TISSUE_WINDOW  # noqa: E402

NO_STOP = PropagationSettings(min_area=1, min_area_ratio=0.0, min_consistency=0.0,
                              min_contrast_ratio=-np.inf, intensity_margin=None, max_regrowth=None)
# set, the volumes of it evaluated (None: all), at most this many objects, objects of at least this many mm³
SETS: tuple[tuple[str, str | None, int | None, float], ...] = (
    ("ct_abdomen", "abdomen3mm", None, 10_000.0),
    ("ct_aorta", None, None, 0.0),
    ("synthetic_spheres", "1137_mini", None, 0.0),
    ("synthetic_nuclei", None, 30, 0.0),
)


def headroom(session: InteractiveSession, truth: np.ndarray) -> tuple[float, float, float]:
    """3D Dice of the object propagated from its largest true slice: with the stop
    rules, without them, and without them but cut to the true object's slices."""
    plane, start = largest_true_slice(truth)
    masks = []
    for settings in (PropagationSettings(), NO_STOP):
        session.reset()
        session.set_initial_mask(start)
        masks.append(session.propagate(plane=plane, settings=settings))
    stopped, unstopped = masks
    spanned = truth.any(axis=(1, 2))[:, None, None]
    return dice(truth, stopped), dice(truth, unstopped), dice(truth, unstopped & spanned)


def held_out_objects(data: Path, engine: str) -> Iterator[tuple[str, InteractiveSession, list[np.ndarray]]]:
    """Per volume of ``SETS``: the set's name, a slice-mode session on it (CT through the
    soft-tissue window) and the true masks of the objects evaluated."""
    for name, volume, max_objects, min_mm3 in SETS:
        for case in volume_cases(data / name):
            if volume is not None and case.name != volume:
                continue
            window = CT_SOFT_TISSUE_WINDOW if name.startswith("ct_") else None
            session = InteractiveSession(case.image, engine=engine, spacing=case.spacing, slice_mode=True,
                                         intensity_window=window)
            voxel = float(np.prod(case.spacing))
            objects = [o for o in sorted(case.objects) if case.objects[o].sum() * voxel >= min_mm3][:max_objects]
            yield name, session, [case.objects[o] for o in objects]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="network", help="the 2D engine that propagates")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("NAPARI_IIS_DATA", "../shared/data")) / "3d")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    print("| set | objects | with the stop rules | no stop | stopped where the object ends (oracle) |")
    print("|---|---|---|---|---|")
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for name, session, truths in held_out_objects(args.data, args.engine):
        rows.setdefault(name, []).extend(headroom(session, truth) for truth in truths)
    for name, scores in rows.items():
        mean = np.mean(scores, axis=0)
        print(f"| {name} | {len(scores)} | {mean[0]:.3f} | {mean[1]:.3f} | {mean[2]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
