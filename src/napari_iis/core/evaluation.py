"""Click-simulation evaluation: NoC@85/90, NoF@90, mIoU per click, seconds per click."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..engines import Engine, resolve_engine
from .clicker import next_click, simulated_lasso
from .datasets import IGNORE_LABEL, Target, group_by_image, list_targets, read_image, read_names, sample_targets
from .mask import SparseMask
from .metrics import iou
from .prompts import Box, Click, Prompt
from .session import InteractiveSession

IOU_THRESHOLDS = (0.85, 0.90)
FirstPrompt = Literal["click", "box", "lasso"]
REPORTED_CLICKS = (1, 2, 3, 5, 10, 20)

Progress = Callable[[Iterable[Any]], Iterable[Any]]
# Told every simulated click, in image coordinates, with the mask it gave.
ClickObserver = Callable[[Click, SparseMask], None]


@dataclass
class ObjectResult:
    name: str
    ious: list[float]
    seconds: list[float]


@dataclass
class EvaluationReport:
    dataset: str
    engine: str
    max_clicks: int
    objects: list[ObjectResult] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    first_prompt: FirstPrompt = "click"

    def summary(self) -> dict[str, float | int]:
        return summarise([o.ious for o in self.objects], [o.seconds for o in self.objects], self.max_clicks)

    def to_json(self, path: Path) -> None:
        payload = {
            "dataset": self.dataset,
            "engine": self.engine,
            "max_clicks": self.max_clicks,
            "first_prompt": self.first_prompt,
            "summary": self.summary(),
            "environment": self.environment,
            "objects": [asdict(o) for o in self.objects],
        }
        Path(path).write_text(json.dumps(payload, indent=1))

    def format_table(self) -> str:
        summary = self.summary()
        columns = ["objects", "NoC@85", "NoC@90", "NoF@90"]
        columns += [f"mIoU@{k}" for k in REPORTED_CLICKS if k <= self.max_clicks]
        columns += ["s/click"]
        cells = []
        for column in columns:
            value = summary[column]
            cells.append(str(value) if isinstance(value, int) else f"{value:.3f}" if "mIoU" in column or column == "s/click" else f"{value:.2f}")
        prompts = (f"{self.max_clicks} clicks" if self.first_prompt == "click"
                   else f"a {self.first_prompt}, then {self.max_clicks - 1} clicks")
        return f"{self.dataset}, engine {self.engine}, {prompts}\n{markdown_table(columns, cells)}"


def first_outline(truth: np.ndarray, kind: FirstPrompt) -> Prompt | None:
    """The object's bounding box (``"box"``) or a simulated lasso around it (``"lasso"``);
    None for ``"click"``, or where the object is flat along an axis (no area to outline)."""
    points = np.argwhere(truth)
    low, high = points.min(axis=0), points.max(axis=0)
    if kind == "click" or not np.all(high > low):
        return None
    if kind == "lasso":
        return simulated_lasso(truth)
    return Box(tuple(map(float, low)), tuple(map(float, high)))


def markdown_table(columns: Sequence[str], cells: Sequence[str]) -> str:
    """A one-row markdown table, its columns as wide as their widest entry."""
    widths = [max(len(c), len(v)) for c, v in zip(columns, cells)]
    header = "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    row = "| " + " | ".join(v.ljust(w) for v, w in zip(cells, widths)) + " |"
    return f"{header}\n{rule}\n{row}"


def padded_curves(curves: Sequence[Sequence[float]], max_clicks: int) -> np.ndarray:
    """(objects, max_clicks): each object's score after every click, a curve that stopped
    early (its object done) carrying its last value."""
    return np.asarray([list(c) + [c[-1]] * (max_clicks - len(c)) for c in curves], dtype=float)


def clicks_to_reach(ious: Sequence[float], threshold: float, max_clicks: int) -> int:
    """The first click (1-based) whose score (IoU, or 3D Dice) is >= threshold, else ``max_clicks``."""
    for index, value in enumerate(ious[:max_clicks]):
        if value >= threshold:
            return index + 1
    return max_clicks


def summarise(
    ious: Sequence[Sequence[float]], seconds: Sequence[Sequence[float]], max_clicks: int
) -> dict[str, float | int]:
    """The protocol's figures over objects, each with its IoU after every click."""
    if not ious:
        raise ValueError("no objects were evaluated")
    padded = padded_curves(ious, max_clicks)
    summary: dict[str, float | int] = {"objects": len(ious)}
    for threshold in IOU_THRESHOLDS:
        noc = [clicks_to_reach(v, threshold, max_clicks) for v in padded]
        summary[f"NoC@{round(threshold * 100)}"] = float(np.mean(noc))
    summary["NoF@90"] = int(sum(not (v >= 0.90).any() for v in padded))
    for k in REPORTED_CLICKS:
        if k <= max_clicks:
            summary[f"mIoU@{k}"] = float(padded[:, k - 1].mean())
    all_seconds = [s for per_object in seconds for s in per_object]
    summary["s/click"] = float(np.mean(all_seconds)) if all_seconds else float("nan")
    summary["s/click median"] = float(np.median(all_seconds)) if all_seconds else float("nan")
    return summary


def _bbox(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = np.argwhere(mask)
    return points.min(axis=0), points.max(axis=0)


def _region(boxes: list[tuple[np.ndarray, np.ndarray]], shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The union of inclusive boxes, one pixel wider where the image allows.

    Outside it truth and prediction are both empty, so IoU and the next click computed
    inside it equal those over the whole image (see ``clicker``).
    """
    low = np.min([b[0] for b in boxes], axis=0) - 1
    high = np.max([b[1] for b in boxes], axis=0) + 2
    return tuple(slice(max(int(lo), 0), min(int(hi), n)) for lo, hi, n in zip(low, high, shape))


def evaluate_object(
    session: InteractiveSession,
    truth: np.ndarray,
    ignore: np.ndarray | None,
    max_clicks: int,
    name: str = "",
    on_click: ClickObserver | None = None,
    first_prompt: FirstPrompt = "click",
) -> ObjectResult:
    """Simulate up to ``max_clicks`` clicks on one object from an empty mask; with
    ``first_prompt="box"`` the first prompt is the object's bounding box instead (the tight
    box of its pixels, as a user drags it), with ``"lasso"`` an outline a little outside
    the object (``simulated_lasso``), then clicks.

    Seconds per click time the session's prediction (crop, engine, paste back).
    """
    session.reset()
    truth_box = _bbox(truth)
    clicked: list[tuple[int, ...]] = []
    ious: list[float] = []
    seconds: list[float] = []
    outline = first_outline(truth, first_prompt)
    if outline is not None:
        started = time.perf_counter()
        prediction = session.add_prompts([outline])
        seconds.append(time.perf_counter() - started)
        ious.append(_scored(truth, ignore, truth_box, prediction))
    while len(ious) < max_clicks:
        prediction = session.sparse_mask
        predicted_box = prediction.bbox()
        region = _region([truth_box] + ([predicted_box] if predicted_box is not None else []), truth.shape)
        offset = np.asarray([r.start for r in region])
        local_ignore = None if ignore is None else ignore[region]
        local_clicked = [tuple(np.asarray(c) - offset) for c in clicked]
        click = next_click(truth[region], prediction.read(region), local_ignore, local_clicked, session.spacing)
        if click is None:  # perfect already: every further click keeps IoU 1
            ious.extend([ious[-1] if ious else 1.0] * (max_clicks - len(ious)))
            break
        position = tuple(float(c + o) for c, o in zip(click.position, offset))
        clicked.append(tuple(int(round(c)) for c in position))
        started = time.perf_counter()
        prediction = session.add_prompts([Click(position, click.positive)])
        seconds.append(time.perf_counter() - started)
        if on_click is not None:
            on_click(Click(position, click.positive), prediction)
        ious.append(_scored(truth, ignore, truth_box, prediction))
    session.reset()
    return ObjectResult(name, ious, seconds)


def _scored(truth: np.ndarray, ignore: np.ndarray | None, truth_box: tuple[np.ndarray, np.ndarray],
            prediction: SparseMask) -> float:
    """IoU of ``prediction``, read only around the object and the prediction."""
    predicted_box = prediction.bbox()
    region = _region([truth_box] + ([predicted_box] if predicted_box is not None else []), truth.shape)
    return iou(truth[region], prediction.read(region), None if ignore is None else ignore[region])


def evaluate_dataset(
    dataset: Path,
    engine: str | Engine | None = None,
    *,
    max_clicks: int = 20,
    min_area: int = 100,
    max_objects: int | None = None,
    seed: int = 0,
    split_file: Path | None = None,
    progress: Progress = lambda items: items,
    first_prompt: FirstPrompt = "click",
) -> EvaluationReport:
    """Run the click protocol on every target (or a fixed random sample) of a 2D set
    (``first_prompt="box"`` or ``"lasso"``: each object's box or a lasso around it first, then clicks)."""
    engine = resolve_engine(engine)
    names = read_names(split_file) if split_file is not None else None
    targets: list[Target] = sample_targets(list_targets(dataset, min_area, names), max_objects, seed)
    if not targets:
        raise ValueError(f"{dataset} has no object of at least {min_area} pixels to evaluate")
    report = EvaluationReport(
        dataset=Path(dataset).name,
        engine=engine.name,
        max_clicks=max_clicks,
        environment={"python": platform.python_version(), "machine": platform.machine(),
                     "processor": platform.processor() or "unknown"},
        first_prompt=first_prompt,
    )
    groups = list(group_by_image(targets))
    bar = progress(groups)
    for image_path, label_path, group in bar:
        session = InteractiveSession(read_image(image_path), engine=engine)
        labels = read_image(label_path)
        ignore = labels == IGNORE_LABEL
        for target in group:
            truth = labels == target.label_id
            report.objects.append(evaluate_object(session, truth, ignore, max_clicks, target.name,
                                                  first_prompt=first_prompt))
    return report
