"""3D evaluation, scored by Dice: simulated clicks on one slice then propagation; simulated
3D clicks for a 3D engine; or simulated 3D clicks that each correct their slice, after
which the object is propagated again with the corrected slices kept (``corrections``:
the widget's slice-by-slice workflow)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..engines import Engine, resolve_engine
from .batch import segment_each
from .clicker import first_click, next_click
from .datasets import read_names
from .evaluation import clicks_to_reach, padded_curves
from .metrics import dice, iou
from .session import InteractiveSession

Mode = Literal["propagate", "clicks", "corrections", "each"]
# Where propagation starts: the simulated user's clicks on the largest slice, or the true
# mask there (propagation alone, apart from the start slice's quality).
Start = Literal["clicks", "truth"]
REPORTED_CLICKS_3D = (1, 3, 5, 10)
LARGE_ORGAN_MM3 = 10_000.0  # 10 cm³


@dataclass(frozen=True)
class VolumeCase:
    name: str
    image: np.ndarray
    objects: dict[str, np.ndarray]  # object name -> bool mask
    spacing: tuple[float, float, float]


@dataclass
class ObjectResult3D:
    name: str
    volume_mm3: float
    dice: list[float]  # propagate: [final]; clicks, corrections: after each click
    slice_clicks: int = 0
    seconds: float = 0.0
    slices: int = 0


@dataclass
class Report3D:
    dataset: str
    engine: str
    mode: str
    objects: list[ObjectResult3D] = field(default_factory=list)
    start: Start = "clicks"
    max_clicks: int = 10  # clicks, corrections: 3D clicks per object
    propagation_engine: str | None = None  # propagate, corrections: where not the engine itself

    def summary(self) -> dict[str, float | int]:
        if not self.objects:
            raise ValueError("no objects were evaluated")
        out: dict[str, float | int] = {"objects": len(self.objects)}
        if self.mode == "propagate":
            final = np.asarray([o.dice[-1] for o in self.objects])
            large = [o.dice[-1] for o in self.objects if o.volume_mm3 >= LARGE_ORGAN_MM3]
            out["Dice"] = float(final.mean())
            out["Dice >10cm3"] = float(np.mean(large)) if large else float("nan")
            out["objects >10cm3"] = len(large)
            out["slice clicks"] = float(np.mean([o.slice_clicks for o in self.objects]))
            slices, seconds = sum(o.slices for o in self.objects), sum(o.seconds for o in self.objects)
            out["slices/s"] = slices / seconds if seconds else float("nan")
        elif self.mode == "each":
            final = np.asarray([o.dice[-1] for o in self.objects])
            out["Dice"] = float(final.mean())
            out["Dice>=0.5"] = float((final >= 0.5).mean())
            out["Dice>=0.8"] = float((final >= 0.8).mean())
            out["s/object"] = sum(o.seconds for o in self.objects) / len(self.objects)
        else:
            n = self.max_clicks
            curves = padded_curves([o.dice for o in self.objects], n)
            for k in REPORTED_CLICKS_3D:
                if k <= n:
                    out[f"Dice@{k}"] = float(curves[:, k - 1].mean())
            for threshold in (0.85, 0.90):
                out[f"NoC@{round(threshold * 100)}"] = float(np.mean([clicks_to_reach(c, threshold, n) for c in curves]))
            out["s/click"] = sum(o.seconds for o in self.objects) / max(1, sum(len(o.dice) for o in self.objects))
        return out

    def format_table(self) -> str:
        summary = self.summary()
        header = "| " + " | ".join(summary) + " |"
        rule = "|" + "|".join("---" for _ in summary) + "|"
        row = "| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in summary.values()) + " |"
        mode = f"{self.mode} from {self.start}" if self.mode == "propagate" else self.mode
        carried = f", propagated by {self.propagation_engine}" if self.propagation_engine else ""
        return f"{self.dataset}, engine {self.engine}{carried}, mode {mode}\n{header}\n{rule}\n{row}"

    def to_json(self, path: Path) -> None:
        payload = {"dataset": self.dataset, "engine": self.engine, "propagation_engine": self.propagation_engine,
                   "mode": self.mode, "start": self.start, "max_clicks": self.max_clicks, "summary": self.summary(),
                   "objects": [asdict(o) for o in self.objects]}
        Path(path).write_text(json.dumps(payload, indent=1))


def _read_volume(path: Path) -> tuple[np.ndarray, tuple[float, float, float], np.ndarray | None]:
    """A volume, its spacing and (NIfTI) its voxel-to-world affine."""
    from ..io.nifti import is_nifti, read_nifti

    if is_nifti(path):
        volume = read_nifti(path)
        return np.asarray(volume.data), volume.spacing, volume.affine
    from ..io.tiff import read_tiff

    stack = read_tiff(path)
    if stack.axes != "ZYX":
        raise ValueError(f"{path} is not a gray z-stack (axes {stack.axes}); evaluate3d reads (z, y, x) volumes")
    return stack.data, stack.spacing, None


def _read_on_grid(path: Path, affine: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """Labels or a mask; NIfTI ones beside a NIfTI image are brought onto its grid (another
    tool may have saved them flipped)."""
    from ..io.nifti import Volume, on_grid

    data, spacing, own_affine = _read_volume(path)
    if affine is None or own_affine is None:
        return data
    return on_grid(Volume(data, spacing, own_affine), affine, shape)


def volume_cases(dataset: Path, min_voxels: int = 100) -> Iterator[VolumeCase]:
    """``<name>_image.*`` with ``<name>_labels.*`` (instance ids), or ``masks/*`` beside one image."""
    dataset = Path(dataset)
    images = sorted(p for p in dataset.iterdir() if "_image." in p.name)
    if not images:
        raise ValueError(f"{dataset} has no <name>_image.nii.gz or <name>_image.tif volume")
    for image_path in images:
        image, spacing, affine = _read_volume(image_path)
        stem = image_path.name.split("_image.")[0]
        objects: dict[str, np.ndarray] = {}
        labels_path = next(iter(sorted(dataset.glob(f"{stem}_labels.*"))), None)
        if labels_path is not None:
            labels = _read_on_grid(labels_path, affine, image.shape)
            ids, counts = np.unique(labels[labels > 0], return_counts=True)
            objects = {f"{stem}#{i}": labels == i for i, c in zip(ids.tolist(), counts.tolist()) if c >= min_voxels}
        elif (dataset / "masks").is_dir():
            for mask_path in sorted((dataset / "masks").iterdir()):
                mask = _read_on_grid(mask_path, affine, image.shape)
                if mask.shape == image.shape and np.count_nonzero(mask) >= min_voxels:
                    objects[f"{stem}#{mask_path.name.split('.')[0]}"] = mask > 0
        if objects:
            yield VolumeCase(stem, image, objects, spacing)


def largest_true_slice(truth: np.ndarray) -> tuple[int, np.ndarray]:
    """The slice where propagation starts (the object's largest), and a volume holding
    the true object on that slice alone (``--start truth``)."""
    plane = int(np.argmax(truth.sum(axis=(1, 2))))
    start = np.zeros_like(truth)
    start[plane] = truth[plane]
    return plane, start


def _propagate_object(session: InteractiveSession, truth: np.ndarray, max_slice_clicks: int,
                      start: Start = "clicks") -> tuple[float, int, float, int]:
    plane, true_start = largest_true_slice(truth)
    session.reset()
    if start == "truth":
        session.set_initial_mask(true_start)
        return _propagate_from(session, truth, plane, 0)
    clicked: list[tuple[int, ...]] = []
    clicks = 0
    for clicks in range(1, max_slice_clicks + 1):
        click = next_click(truth[plane], session.mask[plane], clicked=clicked, spacing=session.spacing[1:])
        if click is None:
            break
        clicked.append(tuple(int(round(c)) for c in click.position))
        mask = session.add_click((plane, *click.position), click.positive)
        if iou(truth[plane], mask[plane]) >= 0.9:
            break
    if not session.mask[plane].any():  # the simulated user's clicks left nothing to carry on
        return dice(truth, session.mask), clicks, 0.0, 0
    return _propagate_from(session, truth, plane, clicks)


def _propagate_from(session: InteractiveSession, truth: np.ndarray, plane: int, clicks: int) -> tuple[float, int, float, int]:
    started = time.perf_counter()
    result = session.propagate(plane=plane)
    seconds = time.perf_counter() - started
    return dice(truth, result), clicks, seconds, int(result.any(axis=(1, 2)).sum()) - 1


def _click_object(session: InteractiveSession, truth: np.ndarray, max_clicks: int,
                  propagate: bool = False) -> tuple[list[float], float]:
    """3D clicks at the largest error; with ``propagate`` (slice mode) each click corrects
    its slice and the object is propagated again from it, the other clicked slices kept."""
    session.reset()
    clicked: list[tuple[int, ...]] = []
    scores: list[float] = []
    seconds = 0.0
    for _ in range(max_clicks):
        click = next_click(truth, session.mask, clicked=clicked, spacing=session.spacing)
        if click is None:
            break
        clicked.append(tuple(int(round(c)) for c in click.position))
        started = time.perf_counter()
        mask = session.add_click(click.position, click.positive)
        if propagate and mask.any():
            mask = session.propagate()
        seconds += time.perf_counter() - started
        scores.append(dice(truth, mask))
    return scores or [1.0], seconds


def evaluate_volumes(
    dataset: Path,
    engine: str | Engine | None = None,
    mode: Mode = "propagate",
    *,
    max_slice_clicks: int = 5,
    max_clicks: int = 10,
    min_voxels: int = 100,
    max_objects: int | None = None,
    intensity_window: tuple[float, float] | None = None,
    split_file: Path | None = None,
    start: Start = "clicks",
    propagation_engine: str | Engine | None = None,
    progress: Callable[[Iterable[Any]], Iterable[Any]] = lambda items: items,
) -> Report3D:
    """``intensity_window``: e.g. a CT window in HU; default, each volume's percentiles.
    ``split_file`` lists the volume names (``<name>_image.*``) to evaluate; default, all.
    ``start`` (propagate): from the simulated clicks on the largest slice, or its true mask.
    ``propagation_engine`` carries the object from slice to slice (default: ``engine``).
    ``progress`` wraps the (volume, object name) pairs, e.g. ``tqdm``."""
    by_slice = mode not in ("clicks", "each")
    engine = resolve_engine(engine, 2 if by_slice else 3)
    if by_slice and 2 not in engine.capabilities.ndims:
        raise ValueError(f"engine {engine.name!r} segments in 3D only: use --mode clicks, or a 2D engine to propagate")
    if mode != "propagate" and start != "clicks":
        raise ValueError(f"a start of {start!r} is for --mode propagate; 3D clicks start from an empty mask")
    if propagation_engine is not None and not by_slice:
        raise ValueError("a propagation engine is for --mode propagate or corrections; 3D clicks do not propagate")
    if mode == "each":
        report = Report3D(Path(dataset).name, engine.name, mode, max_clicks=1)
        for case in progress(_chosen_cases(dataset, min_voxels, split_file)):
            report.objects.extend(_each_object(case, engine, intensity_window, max_objects))
        return report
    carrier = None if propagation_engine is None else resolve_engine(propagation_engine, 2)
    report = Report3D(Path(dataset).name, engine.name, mode, start=start, max_clicks=max_clicks,
                      propagation_engine=None if carrier is None else carrier.name)
    cases = _chosen_cases(dataset, min_voxels, split_file)
    targets = [(case, name) for case in cases
               for name in (sorted(case.objects)[:max_objects] if max_objects else sorted(case.objects))]
    session, session_case = None, None
    for case, name in progress(targets):  # one session per volume, its objects one after the other
        if case is not session_case:
            session, session_case = InteractiveSession(
                case.image, spacing=case.spacing, engine=engine, slice_mode=True if by_slice else None,
                intensity_window=intensity_window, propagation_engine=carrier), case
        if mode == "clicks" and session.slice_mode:
            raise ValueError(f"engine {engine.name!r} segments 2D slices only: use --mode propagate")
        truth = case.objects[name]
        volume = float(truth.sum() * np.prod(case.spacing))
        if mode == "propagate":
            score, clicks, seconds, slices = _propagate_object(session, truth, max_slice_clicks, start)
            report.objects.append(ObjectResult3D(name, volume, [score], clicks, seconds, slices))
        else:
            scores, seconds = _click_object(session, truth, max_clicks, propagate=mode == "corrections")
            report.objects.append(ObjectResult3D(name, volume, scores, seconds=seconds))
    return report


def _chosen_cases(dataset: Path, min_voxels: int, split_file: Path | None) -> list[VolumeCase]:
    cases = list(volume_cases(dataset, min_voxels))
    if split_file is not None:
        names = read_names(split_file)
        cases = [case for case in cases if case.name in names]
        if not cases:
            raise ValueError(f"none of the volumes in {dataset} is listed in {split_file}")
    return cases


def _each_object(case: VolumeCase, engine: Engine, intensity_window: tuple[float, float] | None,
                 max_objects: int | None) -> list[ObjectResult3D]:
    """One 3D click on every object of the volume (the protocol's first), all into one
    label volume with ``segment_each``: each object's Dice."""
    session = InteractiveSession(case.image, spacing=case.spacing, engine=engine, intensity_window=intensity_window)
    names = sorted(case.objects)[:max_objects]
    truths = [case.objects[name] for name in names]
    clicks = [first_click(truth, spacing=case.spacing) for truth in truths]
    started = time.perf_counter()
    labels = segment_each(session, clicks)
    seconds = (time.perf_counter() - started) / len(names)
    return [ObjectResult3D(name, float(truth.sum() * np.prod(case.spacing)), [dice(truth, labels == label_id)],
                           seconds=seconds) for label_id, (name, truth) in enumerate(zip(names, truths), start=1)]
