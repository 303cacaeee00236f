"""One click on every object of an image, all objects into one label image (the batch mode
of the widget and of ``segment_each``): IoU of each object against its truth."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..engines import Engine, resolve_engine
from .batch import segment_each
from .clicker import first_click
from .evaluation import FirstPrompt, first_outline, markdown_table
from .datasets import IGNORE_LABEL, group_by_image, list_targets, read_image, read_names
from .metrics import iou
from .prompts import Prompt
from .session import InteractiveSession

IOU_LEVELS = (0.5, 0.8, 0.9)

Progress = Callable[[Iterable[Any]], Iterable[Any]]


@dataclass
class EachObject:
    name: str
    iou: float


@dataclass
class EachReport:
    dataset: str
    engine: str
    objects: list[EachObject] = field(default_factory=list)
    seconds: float = 0.0  # segmenting all objects, reading and clicking excluded
    first_prompt: FirstPrompt = "click"

    def summary(self) -> dict[str, float | int]:
        if not self.objects:
            raise ValueError("no objects were evaluated")
        scores = np.asarray([o.iou for o in self.objects])
        summary: dict[str, float | int] = {"objects": len(scores), "mIoU": float(scores.mean())}
        for level in IOU_LEVELS:
            summary[f"IoU>={level}"] = float((scores >= level).mean())
        summary["s/object"] = self.seconds / len(scores)
        return summary

    def format_table(self) -> str:
        summary = self.summary()
        cells = [str(v) if isinstance(v, int) else f"{v:.3f}" for v in summary.values()]
        prompt = {"click": "one click", "box": "its box", "lasso": "a lasso"}[self.first_prompt]
        return f"{self.dataset}, engine {self.engine}, {prompt} on every object\n{markdown_table(list(summary), cells)}"

    def to_json(self, path: Path) -> None:
        payload = {"dataset": self.dataset, "engine": self.engine, "mode": "each", "first_prompt": self.first_prompt,
                   "summary": self.summary(),
                   "objects": [asdict(o) for o in self.objects]}
        Path(path).write_text(json.dumps(payload))  # thousands of objects: one line


def evaluate_each(
    dataset: Path,
    engine: str | Engine | None = None,
    *,
    min_area: int = 100,
    split_file: Path | None = None,
    max_images: int | None = None,
    progress: Progress = lambda items: items,
    first_prompt: FirstPrompt = "click",
) -> EachReport:
    """Per image: the protocol's first click on every object of at least ``min_area``
    pixels (the interior point farthest from its edge; ``first_prompt="box"`` or
    ``"lasso"``: the object's bounding box or a lasso around it), in label order, then ``segment_each``: an object keeps out of
    the objects segmented before it."""
    engine = resolve_engine(engine)
    names = read_names(split_file) if split_file is not None else None
    groups = list(group_by_image(list_targets(dataset, min_area, names)))[:max_images]
    if not groups:
        raise ValueError(f"{dataset} has no object of at least {min_area} pixels to evaluate")
    report = EachReport(dataset=Path(dataset).name, engine=engine.name, first_prompt=first_prompt)
    for image_path, label_path, targets in progress(groups):
        session = InteractiveSession(read_image(image_path), engine=engine)
        labels = read_image(label_path)
        ignore = labels == IGNORE_LABEL
        truths = [labels == t.label_id for t in targets]
        prompts = [_first_prompt(truth, ignore, session.spacing, first_prompt) for truth in truths]
        started = time.perf_counter()
        segmented = segment_each(session, prompts)
        report.seconds += time.perf_counter() - started
        for label_id, (target, truth) in enumerate(zip(targets, truths), start=1):
            report.objects.append(EachObject(target.name, float(iou(truth, segmented == label_id, ignore))))
    return report


def _first_prompt(truth: np.ndarray, ignore: np.ndarray, spacing: tuple[float, ...], kind: FirstPrompt) -> Prompt:
    return first_outline(truth, kind) or first_click(truth, ignore, spacing)
