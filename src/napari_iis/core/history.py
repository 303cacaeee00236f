"""Undo/redo of the current object's state: its prompts and the mask they produced."""

from __future__ import annotations

from dataclasses import dataclass

from .mask import SparseMask
from .prompts import Prompt


@dataclass(frozen=True)
class ObjectState:
    prompts: tuple[Prompt, ...]
    mask: SparseMask
    # A mask the object started from (an existing label being corrected), if any.
    initial_mask: SparseMask | None = None


class History:
    """A linear history of states; a new state after an undo drops the redo branch."""

    def __init__(self, initial: ObjectState) -> None:
        self._states: list[ObjectState] = [initial]
        self._index = 0

    @property
    def current(self) -> ObjectState:
        return self._states[self._index]

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._states) - 1

    def push(self, state: ObjectState) -> None:
        del self._states[self._index + 1 :]
        self._states.append(state)
        self._index += 1

    def undo(self) -> ObjectState:
        if self.can_undo:
            self._index -= 1
        return self.current

    def redo(self) -> ObjectState:
        if self.can_redo:
            self._index += 1
        return self.current
