"""Prompts read from a CSV file, grouped by the object they segment.

Three layouts are read, told apart by their header:

- napari's saved Points layer (``index,axis-0,axis-1[,axis-2][,positive,...]``), e.g. the
  widget's ``iis prompts`` layer saved with File → Save Selected Layers;
- napari's saved Shapes layer (``index,shape-type,vertex-index,axis-0,...``): a rectangle
  is a box, a polygon a lasso, a path or line a scribble;
- plain coordinate columns named ``y,x`` or ``z,y,x``.

Coordinates are the layer's data coordinates, which are pixel (voxel) indices for a layer
on the image's grid. An optional ``positive`` column (1/0, true/false, yes/no) gives each
prompt's sign (default positive); an optional ``object`` (or ``label``) column gives the
label id of the object a prompt belongs to. Without it every row (every shape) is its
own object, ids 1, 2, … in file order.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .prompts import Click, Prompt, shape_to_prompt

OBJECT_COLUMNS = ("object", "label")
_NAMED_AXES = {2: ("y", "x"), 3: ("z", "y", "x")}
_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "f"}


def _coordinate_columns(header: Sequence[str], ndim: int, path: Path) -> list[str]:
    napari_axes = [c for c in header if c.startswith("axis-")]
    if napari_axes:
        if len(napari_axes) != ndim:
            raise ValueError(
                f"{path} has {len(napari_axes)} coordinates per row ({', '.join(napari_axes)}) but the image has "
                f"{ndim} spatial axes: save the prompts from a layer on this image's grid")
        return napari_axes
    named = list(_NAMED_AXES.get(ndim, ()))
    if named and all(c in header for c in named):
        return named
    raise ValueError(
        f"{path}: no coordinate columns for a {ndim}D image; expected napari's axis-0, axis-1… or "
        f"{','.join(named) or 'y,x'}; the header is {','.join(header)}")


def _sign(value: str, row_number: int, path: Path) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{path}, row {row_number}: positive must be 1/0, true/false or yes/no, got {value!r}")


def _object_id(value: str, row_number: int, path: Path) -> int:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number.is_integer() or number < 1:
        raise ValueError(f"{path}, row {row_number}: an object id is a whole number from 1, got {value!r}")
    return int(number)


def _position(row: dict[str, str], columns: Sequence[str], row_number: int, path: Path) -> tuple[float, ...]:
    try:
        position = tuple(float(row[c]) for c in columns)
    except (TypeError, ValueError):
        raise ValueError(f"{path}, row {row_number}: coordinates {[row.get(c) for c in columns]} are not numbers") from None
    if not np.all(np.isfinite(position)):
        raise ValueError(f"{path}, row {row_number}: coordinates {position} are not finite")
    return position


def read_prompt_table(path: str | Path, ndim: int) -> dict[int, list[Prompt]]:
    """The prompts of ``path`` for an image with ``ndim`` spatial axes, as {label id:
    prompts in file order}; raises ``ValueError`` naming the row and what to fix."""
    path = Path(path)
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = [c.strip() for c in reader.fieldnames or ()]
        reader.fieldnames = header
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path} holds no prompts (a header and at least one row are needed)")
    columns = _coordinate_columns(header, ndim, path)
    object_column = next((c for c in OBJECT_COLUMNS if c in header), None)
    if "shape-type" in header:
        return _shapes(rows, columns, object_column, path)
    numbers = range(2, len(rows) + 2)  # row 1 is the header
    return clicks_by_object(
        [_position(row, columns, n, path) for n, row in zip(numbers, rows)],
        [_sign(row["positive"], n, path) for n, row in zip(numbers, rows)] if "positive" in header else None,
        [_object_id(row[object_column], n, path) for n, row in zip(numbers, rows)] if object_column else None,
        where=lambda index: f"{path}, row {index + 2}",
    )


def clicks_by_object(
    positions: Sequence[Sequence[float]],
    positive: Sequence[bool] | None = None,
    object_ids: Sequence[int] | None = None,
    where: Callable[[int], str] = lambda index: f"point {index}",
) -> dict[int, list[Prompt]]:
    """Clicks grouped into objects: {label id: clicks in the order given}. Without
    ``object_ids`` each position is its own object, ids 1, 2, …, and must be positive."""
    objects: dict[int, list[Prompt]] = {}
    for index, position in enumerate(positions):
        sign = True if positive is None else bool(positive[index])
        label_id = _label_id(objects, None if object_ids is None else int(object_ids[index]), sign,
                             lambda: f"{where(index)}: a negative click")
        objects.setdefault(label_id, []).append(Click(tuple(float(c) for c in position), sign))
    return objects


def _label_id(objects: dict[int, list[Prompt]], object_id: int | None, positive: bool,
              negative: Callable[[], str]) -> int:
    """The given object id, else a new object's: the next id, for a positive prompt only
    (``negative`` names the prompt in the error)."""
    if object_id is not None:
        return object_id
    if positive:
        return len(objects) + 1
    raise ValueError(f"{negative()} needs an '{OBJECT_COLUMNS[0]}' id (a CSV column, a Points layer feature) "
                     "saying which object it corrects; without one each prompt is a new object")


def _shapes(rows: list[dict[str, str]], columns: Sequence[str], object_column: str | None,
            path: Path) -> dict[int, list[Prompt]]:
    """One prompt per shape ``index``; each shape its own object unless an object column says."""
    shapes: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, row in enumerate(rows, start=2):
        shapes.setdefault(row["index"], []).append((number, row))
    objects: dict[int, list[Prompt]] = {}
    for vertices in shapes.values():
        number, first = vertices[0]
        points = np.asarray([_position(row, columns, n, path) for n, row in vertices])
        positive = _sign(first["positive"], number, path) if "positive" in first else True
        prompt = shape_to_prompt(first["shape-type"], points, positive)
        if prompt is None:
            raise ValueError(f"{path}, row {number}: a {first['shape-type']} is not a prompt; use rectangles "
                             "(boxes), polygons (lassos) or paths (scribbles)")
        object_id = _object_id(first[object_column], number, path) if object_column else None
        label_id = _label_id(objects, object_id, positive, lambda: f"{path}, row {number}: a negative shape")
        objects.setdefault(label_id, []).append(prompt)
    return objects
