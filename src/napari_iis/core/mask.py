"""A binary object mask stored as its bounding-box patch, so that huge images stay cheap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Slices = tuple[slice, ...]


@dataclass(frozen=True)
class SparseMask:
    """A bool mask of ``shape`` that is zero outside ``data`` placed at ``offset``."""

    shape: tuple[int, ...]
    offset: tuple[int, ...]
    data: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> SparseMask:
        return cls(tuple(shape), (0,) * len(shape), np.zeros((0,) * len(shape), dtype=bool))

    @classmethod
    def from_patch(cls, shape: tuple[int, ...], offset: tuple[int, ...], patch: np.ndarray) -> SparseMask:
        """Build from a bool patch placed at ``offset``, trimmed to its bounding box."""
        patch = np.asarray(patch, dtype=bool)
        if not patch.any():
            return cls.empty(shape)
        lows, highs = [], []
        for axis in range(patch.ndim):
            other = tuple(a for a in range(patch.ndim) if a != axis)
            occupied = np.flatnonzero(patch.any(axis=other))
            lows.append(int(occupied[0]))
            highs.append(int(occupied[-1]) + 1)
        trimmed = patch[tuple(slice(lo, hi) for lo, hi in zip(lows, highs))].copy()
        trimmed.flags.writeable = False
        return cls(tuple(shape), tuple(o + lo for o, lo in zip(offset, lows)), trimmed)

    @classmethod
    def from_dense(cls, mask: np.ndarray) -> SparseMask:
        mask = np.asarray(mask, dtype=bool)
        return cls.from_patch(mask.shape, (0,) * mask.ndim, mask)

    @property
    def is_empty(self) -> bool:
        return self.data.size == 0

    @property
    def area(self) -> int:
        return int(self.data.sum())

    def bbox(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Inclusive (low, high) index corners of the object, or None if empty."""
        if self.is_empty:
            return None
        low = np.asarray(self.offset)
        return low, low + np.asarray(self.data.shape) - 1

    def to_dense(self) -> np.ndarray:
        dense = np.zeros(self.shape, dtype=bool)
        if not self.is_empty:
            dense[self.patch_slices()] = self.data
        return dense

    def read(self, window: Slices) -> np.ndarray:
        """The mask inside ``window`` (a tuple of slices with explicit start/stop)."""
        out = np.zeros(tuple(s.stop - s.start for s in window), dtype=bool)
        if self.is_empty:
            return out
        src, dst = [], []
        for s, o, n in zip(window, self.offset, self.data.shape):
            lo, hi = max(s.start, o), min(s.stop, o + n)
            if lo >= hi:
                return out
            src.append(slice(lo - o, hi - o))
            dst.append(slice(lo - s.start, hi - s.start))
        out[tuple(dst)] = self.data[tuple(src)]
        return out

    def with_plane(self, plane: int, plane_mask: SparseMask) -> SparseMask:
        """This (z, ...) mask with slice ``plane`` replaced by the 2D ``plane_mask``."""
        boxes = [box for box in (self.bbox(), plane_mask.bbox()) if box is not None]
        if not boxes:
            return SparseMask.empty(self.shape)
        own = self.bbox()
        z_low, z_high = (plane, plane) if own is None else (min(own[0][0], plane), max(own[1][0], plane))
        rows_cols = [(box[0][-2:], box[1][-2:]) for box in boxes]
        low = np.array([z_low, *np.min([lo for lo, _ in rows_cols], axis=0)])
        high = np.array([z_high, *np.max([hi for _, hi in rows_cols], axis=0)])
        window = tuple(slice(int(lo), int(hi) + 1) for lo, hi in zip(low, high))
        patch = self.read(window)
        patch[plane - z_low] = plane_mask.read(window[1:])
        return SparseMask.from_patch(self.shape, tuple(int(v) for v in low), patch)

    def patch_slices(self) -> Slices:
        """Where ``data`` lies in the full shape."""
        return tuple(slice(o, o + n) for o, n in zip(self.offset, self.data.shape))

    def equals(self, other: SparseMask) -> bool:
        return (
            self.shape == other.shape
            and self.offset == other.offset
            and np.array_equal(self.data, other.data)
        )
