"""Mouse and keyboard on the prompt layer, translated into widget actions."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from napari.layers import Layer, Points

# A press and release within this many screen pixels is a click, not a pan.
_CLICK_TOLERANCE_PX = 3.0

ClickHandler = Callable[[tuple[float, ...], bool], None]


@dataclass(frozen=True)
class Shortcut:
    key: str
    action: str


SHORTCUTS = (
    Shortcut("click", "positive click (inside the object)"),
    Shortcut("Control-click or right-click", "negative click (outside the object)"),
    Shortcut("N", "toggle: plain clicks (and scribbles) are negative"),
    Shortcut("C", "click tool"),
    Shortcut("B", "box tool: drag a rectangle around the object"),
    Shortcut("S", "scribble tool: paint a stroke over the object (or the background, with N)"),
    Shortcut("L", "lasso tool: draw an outline around the object (around what is not, with N)"),
    Shortcut("P", "propagate the object through the slices of a volume (again after correcting slices: those are kept)"),
    Shortcut("T", "series of volumes: carry the label chosen under 'correct label' to the next frame"),
    Shortcut("Enter", "commit the object to the labels layer"),
    Shortcut("Escape", "discard the current object"),
    Shortcut("Control-Z", "undo the last prompt"),
    Shortcut("Control-Shift-Z", "redo"),
)


def is_negative(event: Any, negative_mode: bool) -> bool:
    modifiers = {str(getattr(m, "name", m)).lower() for m in event.modifiers}
    return event.button == 2 or ("control" in modifiers) != negative_mode


def install_click_callback(
    layer: Points,
    on_click: ClickHandler,
    negative_mode: Callable[[], bool],
    locate: Callable[[Any], tuple[float, ...] | None] = lambda press: tuple(press.position),
) -> None:
    """Call ``on_click(world_position, positive)`` for clicks (not drags) on ``layer``;
    ``locate(press)`` turns the press (its position, view_direction and dims_displayed) into
    the world position (None: no click, e.g. a 3D view's ray that misses the image)."""

    def callback(_: Points, event: Any) -> Generator[None, None, None]:
        if event.type != "mouse_press":
            return
        press_position = tuple(event.pos)
        press = SimpleNamespace(position=tuple(event.position), view_direction=event.view_direction,
                                dims_displayed=list(event.dims_displayed))
        negative = is_negative(event, negative_mode())
        dragged = False
        yield
        while event.type == "mouse_move":
            moved = sum((a - b) ** 2 for a, b in zip(event.pos, press_position)) ** 0.5
            dragged = dragged or moved > _CLICK_TOLERANCE_PX
            yield
        if dragged:
            return
        world_position = locate(press)
        if world_position is not None:
            on_click(world_position, not negative)

    layer.mouse_drag_callbacks.append(callback)


def bind_keys(layer: Layer, actions: dict[str, Callable[[], None]]) -> None:
    """Bind ``actions`` (key -> no-argument function) on ``layer`` only."""
    for key, action in actions.items():
        layer.bind_key(key, lambda _layer, action=action: action(), overwrite=True)
