"""Prompts are immutable data: what the user said about the current object."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar, Union

import numpy as np

PromptKind = Literal["click", "box", "scribble", "lasso"]
Coordinate = tuple[float, ...]
CoordinateMap = Callable[[np.ndarray], np.ndarray]


def _as_coordinate(values: Sequence[float]) -> Coordinate:
    return tuple(float(v) for v in values)


@dataclass(frozen=True)
class Click:
    """A single point, positive (inside the object) or negative (outside)."""

    position: Coordinate
    positive: bool = True
    kind: PromptKind = "click"

    def coordinates(self) -> np.ndarray:
        return np.asarray([self.position], dtype=float)

    def mapped(self, transform: CoordinateMap) -> Click:
        return Click(_as_coordinate(transform(self.coordinates())[0]), self.positive)


@dataclass(frozen=True)
class Box:
    """An axis-aligned box given by two opposite corners (inclusive)."""

    start: Coordinate
    stop: Coordinate
    positive: bool = True
    kind: PromptKind = "box"

    def __post_init__(self) -> None:
        low = tuple(min(a, b) for a, b in zip(self.start, self.stop))
        high = tuple(max(a, b) for a, b in zip(self.start, self.stop))
        object.__setattr__(self, "start", low)
        object.__setattr__(self, "stop", high)

    @property
    def center(self) -> Coordinate:
        return tuple((a + b) / 2 for a, b in zip(self.start, self.stop))

    def coordinates(self) -> np.ndarray:
        return np.asarray([self.start, self.stop], dtype=float)

    def mapped(self, transform: CoordinateMap) -> Box:
        start, stop = transform(self.coordinates())
        return Box(_as_coordinate(start), _as_coordinate(stop))


_PointsT = TypeVar("_PointsT", bound="_Points")


@dataclass(frozen=True)
class _Points:
    """Prompts drawn as a sequence of points."""

    points: tuple[Coordinate, ...]
    positive: bool = True

    def coordinates(self) -> np.ndarray:
        return np.asarray(self.points, dtype=float)

    def mapped(self: _PointsT, transform: CoordinateMap) -> _PointsT:
        mapped = transform(self.coordinates())
        return type(self)(tuple(_as_coordinate(p) for p in mapped), self.positive)


@dataclass(frozen=True)
class Scribble(_Points):
    """A polyline painted over the object (positive) or the background (negative)."""

    kind: PromptKind = "scribble"


@dataclass(frozen=True)
class Lasso(_Points):
    """A closed outline drawn around the object (positive: the object lies inside it) or
    around what is not the object (negative), on a 2D image or one slice of a volume."""

    kind: PromptKind = "lasso"


Prompt = Union[Click, Box, Scribble, Lasso]
PROMPT_TYPES = (Click, Box, Scribble, Lasso)


def prompt_coordinates(prompts: Sequence[Prompt], ndim: int) -> np.ndarray:
    """All coordinates of the prompts as one (N, ndim) array."""
    if not prompts:
        return np.zeros((0, ndim), dtype=float)
    return np.concatenate([p.coordinates() for p in prompts], axis=0)


def shape_to_prompt(shape_type: str, vertices: np.ndarray, positive: bool) -> Prompt | None:
    """A drawn rectangle as a box, a drawn path or line as a scribble, a polygon (napari's
    polygon or lasso tool) as a lasso; others are ignored."""
    vertices = np.asarray(vertices, dtype=float)
    if shape_type == "rectangle":
        return Box(tuple(vertices.min(axis=0)), tuple(vertices.max(axis=0)))
    if shape_type == "polygon" and len(vertices) >= 3:
        return Lasso(tuple(tuple(v) for v in vertices), positive)
    if shape_type in ("path", "line"):
        return Scribble(tuple(tuple(v) for v in vertices), positive)
    return None
