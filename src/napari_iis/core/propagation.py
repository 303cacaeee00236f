"""Slice propagation: a mask on one slice carried slice by slice through the object."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from .metrics import iou
from .prompts import Click, Prompt

if TYPE_CHECKING:
    from .image import ImageSource
    from .session import InteractiveSession


@dataclass(frozen=True)
class PropagationSettings:
    """When the object has ended: too small, too unlike the slice before, no longer
    standing out from its surroundings as it did on the start slice, grown again after
    shrinking (onto the next object stacked on it: ``max_regrowth``), or (with an
    ``intensity_margin``) moved onto something else: its interior's median intensity
    outside the start slice's range and ``min_jump`` of that range's width or more away
    from the slice before's."""

    min_area: int = 10
    min_area_ratio: float = 0.05  # of the start slice's area
    min_consistency: float = 0.3  # IoU with the previous slice
    min_contrast_ratio: float = 0.4  # inside-versus-ring contrast, of the start slice's
    ring_width: int = 3
    intensity_margin: float | None = 1.0  # robust deviations around the start slice's range; None: off
    min_jump: float = 0.25  # of the start range's width: a jump out of it ends the object, a drift does not
    # once the mask has shrunk below ``regrowth_after`` of the start slice's area, a slice
    # whose mask is ``max_regrowth`` times the smallest so far in that direction or more
    # ends the object (a nucleus carried onto the one below it); None: off
    max_regrowth: float | None = 1.25
    regrowth_after: float = 0.95
    # re-propagating an object: a slice whose new mask matches its old one this well
    # (IoU) ends the re-run in that direction, and the old slices beyond are kept
    converged_iou: float = 0.95


def _plane_intensity(session: InteractiveSession, plane: int, region: tuple[slice, ...]) -> np.ndarray:
    return _image_plane(session.image, plane, region)


def _image_plane(image: ImageSource, plane: int, region: tuple[slice, ...]) -> np.ndarray:
    return image.read((slice(plane, plane + 1), *region))[:, 0].mean(axis=0)


def _bounding_region(mask: np.ndarray, margin: int) -> tuple[slice, ...]:
    points = np.argwhere(mask)
    low, high = np.maximum(points.min(axis=0) - margin, 0), np.minimum(points.max(axis=0) + margin + 1, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high))


def contrast(session: InteractiveSession, plane: int, mask: np.ndarray, ring_width: int) -> float:
    """Mean intensity inside ``mask`` minus in a ring around it, on slice ``plane``."""
    return image_contrast(session.image, plane, mask, ring_width)


def image_contrast(image: ImageSource, plane: int, mask: np.ndarray, ring_width: int) -> float:
    """``contrast`` in a volume without a session (a series' other frame)."""
    region = _bounding_region(mask, ring_width + 1)
    intensity = _image_plane(image, plane, region)
    inside = mask[region]
    ring = ndimage.binary_dilation(inside, iterations=ring_width) & ~inside
    if not ring.any():
        return 0.0
    return float(intensity[inside].mean() - intensity[ring].mean())


def _smoothed(session: InteractiveSession, plane: int, region: tuple[slice, ...]) -> np.ndarray:
    return ndimage.gaussian_filter(_plane_intensity(session, plane, region), 1.0)


@dataclass(frozen=True)
class IntensityRange:
    """The (smoothed) intensities of the object's interior on the start slice: their
    1st–99th percentiles widened by ``margin`` robust deviations, and their median."""

    low: float
    high: float
    median: float

    @classmethod
    def of(cls, values: np.ndarray, margin: float) -> IntensityRange:
        median = float(np.median(values))
        spread = max(1.4826 * float(np.median(np.abs(values - median))), 0.01)
        low, high = (float(v) for v in np.percentile(values, [1, 99]))
        return cls(low - margin * spread, high + margin * spread, median)

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


def _interior(mask: np.ndarray, min_area: int = 20) -> np.ndarray:
    """``mask`` less its outermost pixels, whose smoothed intensities are half its
    neighbours'; the whole mask where too little of it would be left."""
    eroded = ndimage.binary_erosion(mask)
    return eroded if np.count_nonzero(eroded) >= min_area else mask


def _object_values(session: InteractiveSession, plane: int, mask: np.ndarray, region: tuple[slice, ...]) -> np.ndarray:
    return _smoothed(session, plane, region)[mask[region]]


def interior_values(session: InteractiveSession, plane: int, mask: np.ndarray) -> np.ndarray:
    """The smoothed intensities of ``mask``'s interior on slice ``plane``."""
    return _object_values(session, plane, _interior(mask), _bounding_region(mask, 2))


def keep_intensity(
    session: InteractiveSession, plane: int, mask: np.ndarray, prior_plane: int, prior: np.ndarray,
    start: IntensityRange,
) -> np.ndarray:
    """``mask`` without its samples outside ``prior`` whose (smoothed) intensity lies
    outside the object's range on the start slice, moved by how far the median of
    ``prior`` (on the slice before) has drifted; holes filled, and only its parts that
    touch ``prior``. A mask creeping into a neighbour of another intensity (the liver
    into fat) is cut back; a two-toned object (the aorta's two lumens), a slow drift
    along it and the blurred boundary (kept where the prior was) are not."""
    if not mask.any() or not prior.any():
        return mask
    region = _bounding_region(mask | prior, 2)
    drift = float(np.median(_object_values(session, prior_plane, prior, region))) - start.median
    now = _smoothed(session, plane, region)
    near = (now >= start.low + drift) & (now <= start.high + drift)
    inside = ndimage.binary_fill_holes(mask[region] & (prior[region] | near))
    kept = np.zeros_like(mask)
    kept[region] = _parts_touching(inside, prior[region])
    return kept


def _parts_touching(mask: np.ndarray, reference: np.ndarray, structure: np.ndarray | None = None) -> np.ndarray:
    """The connected parts of ``mask`` (by ``structure``, default: faces) that overlap ``reference``."""
    parts, count = ndimage.label(mask, structure=structure)
    touching = np.unique(parts[mask & reference])
    return np.isin(parts, touching[touching > 0]) if count else mask


def jumped_out_of_range(
    session: InteractiveSession, plane: int, mask: np.ndarray, prior_plane: int, prior: np.ndarray,
    start: IntensityRange, min_jump: float,
) -> bool:
    """Whether ``mask`` has moved onto something else (a nucleus onto a brighter one
    stacked on it): the median intensity of its interior lies outside the object's range
    on the start slice, and ``min_jump`` of the range's width or more from the median of
    ``prior``'s interior on the slice before. A slow drift along the object (depth
    attenuation, a bias field, contrast fading along a vessel) does not end it."""
    median = float(np.median(interior_values(session, plane, mask)))
    if start.holds(median):
        return False
    before = float(np.median(interior_values(session, prior_plane, prior)))
    return abs(median - before) >= min_jump * (start.high - start.low)


def _matches(before: np.ndarray, after: np.ndarray, threshold: float) -> bool:
    return bool(before.any()) and iou(before, after) >= threshold


@dataclass(frozen=True)
class PropagationStep:
    plane: int
    mask: np.ndarray  # 2D bool
    anchored: bool  # a slice the user corrected, kept as it is


@dataclass(frozen=True)
class PropagationEnd:
    """Where a propagation run ended inside the volume: the first slice it did not carry
    the object to, and why."""

    plane: int
    reason: str


@dataclass(frozen=True)
class AreaTrend:
    """A direction's mask areas: where the run started (or last met a corrected slice)
    and the smallest since; ``regrew`` is the ``max_regrowth`` stop."""

    start: int
    smallest: int

    @classmethod
    def of(cls, area: int) -> AreaTrend:
        return cls(area, area)

    def through(self, area: int) -> AreaTrend:
        return replace(self, smallest=min(self.smallest, area))

    def regrew(self, area: int, settings: PropagationSettings) -> bool:
        return (settings.max_regrowth is not None and self.smallest < settings.regrowth_after * self.start
                and area >= settings.max_regrowth * self.smallest)


def _end_reason(
    session: InteractiveSession, plane: int, mask: np.ndarray, area: int, prior_plane: int, prior: np.ndarray,
    smallest: float, trend: AreaTrend, reference: float, start_range: IntensityRange | None,
    settings: PropagationSettings,
) -> str | None:
    """Why the object ends on slice ``plane`` with this ``mask`` of ``area`` pixels, or None
    where it goes on."""
    if area < smallest:
        return "the mask vanished"
    if iou(prior, mask) < settings.min_consistency:
        return "the mask no longer matched the slice before"
    if trend.regrew(area, settings):
        return "the mask grew again after shrinking (onto something else)"
    standing_out = contrast(session, plane, mask, settings.ring_width) * np.sign(reference)
    if standing_out < settings.min_contrast_ratio * abs(reference):
        return "the object no longer stood out from its surroundings"
    if start_range is not None and jumped_out_of_range(session, plane, mask, prior_plane, prior, start_range,
                                                       settings.min_jump):
        return "the intensity jumped out of the object's range"
    return None


def propagation_steps(
    session: InteractiveSession,
    start_plane: int,
    start_mask: np.ndarray,
    anchors: Mapping[int, np.ndarray] | None = None,
    settings: PropagationSettings = PropagationSettings(),
    previous: Callable[[int], np.ndarray] | None = None,
    on_end: Callable[[PropagationEnd], None] | None = None,
) -> Iterator[PropagationStep]:
    """Up from ``start_plane`` then down; each slice's prior is its neighbour's mask.
    ``previous`` gives the object's mask on a slice before this run (a re-propagation
    after a correction): where the new mask matches it, the run stops in that direction.
    Wherever a run stops (there, or where the object ends) the slices beyond are the
    caller's to keep, up to the next anchor in that direction, from which it goes on.
    ``on_end`` hears where the object ended inside the volume, and why.

    Consuming this changes nothing in the session, so stopping early cancels cleanly.
    """
    anchors = dict(anchors or {})
    start = np.asarray(start_mask, bool)
    start_area = int(np.count_nonzero(start))
    if start_area == 0:
        raise ValueError(f"slice {start_plane} has no mask to propagate: segment the object there first")
    smallest = max(settings.min_area, settings.min_area_ratio * start_area)
    reference = contrast(session, start_plane, start, settings.ring_width)
    start_range = None
    if settings.intensity_margin is not None:
        start_range = IntensityRange.of(interior_values(session, start_plane, start), settings.intensity_margin)
    for direction in (1, -1):
        prior = start
        trend = AreaTrend.of(start_area)
        plane = start_plane + direction
        while 0 <= plane < session.shape[0]:
            if plane in anchors:
                mask, anchored = np.asarray(anchors[plane], bool), True
                if not mask.any():
                    yield PropagationStep(plane, mask, anchored)
                    if on_end is not None:
                        on_end(PropagationEnd(plane, "you emptied that slice"))
                    break
                area = int(np.count_nonzero(mask))
            else:
                mask, anchored = session.predict_slice(plane, prior), False
                if start_range is not None:
                    mask = keep_intensity(session, plane, mask, plane - direction, prior, start_range)
                area = int(np.count_nonzero(mask))
                reason = _end_reason(session, plane, mask, area, plane - direction, prior, smallest, trend, reference,
                                     start_range, settings)
                if reason is not None:
                    ended, plane = plane, _next_anchor(anchors, plane, direction)
                    if plane < 0 and on_end is not None:
                        on_end(PropagationEnd(ended, reason))
                    continue
            unchanged = not anchored and previous is not None and _matches(previous(plane), mask, settings.converged_iou)
            yield PropagationStep(plane, mask, anchored)
            if unchanged:  # as before up to the next corrected slice, which carries on from itself
                plane = _next_anchor(anchors, plane, direction)
                continue
            prior = mask
            trend = AreaTrend.of(area) if anchored else trend.through(area)
            plane += direction


def _next_anchor(anchors: Mapping[int, np.ndarray], plane: int, direction: int) -> int:
    """The nearest corrected slice beyond ``plane`` in ``direction`` (-1 where none is):
    a slice a user corrected changes the slices propagated through it, so a run that
    stopped before it picks up again there."""
    beyond = [z for z in anchors if (z - plane) * direction > 0]
    return min(beyond, key=lambda z: abs(z - plane)) if beyond else -1


# A negative click this deep in a part of a slice's mask, relative to the part's deepest
# point, rejects the part whole (tried 0.5 and never on the held-out CT: docs/experiments.md).
REJECT_DEPTH = 0.8
# A part of a slice's mask that negative clicks leave less than this fraction of is gone
# whole: what is left of it is a speck, not the object.
REMNANT = 0.1


def _labelled_parts(prior: np.ndarray) -> tuple[np.ndarray, int]:
    return ndimage.label(prior, structure=np.ones((3,) * prior.ndim))


def rejected_parts(prior: np.ndarray, prompts: Sequence[Prompt], parts: np.ndarray | None = None) -> np.ndarray:
    """The parts of a slice's ``prior`` that negative clicks reject whole: a click near
    the middle of a part (``REJECT_DEPTH`` of its greatest depth) says the object is not
    there, as on a slice where propagation ran into a neighbour; one nearer its edge trims
    it, which is the engine's to do. ``parts``: ``prior`` labelled, where the caller has it."""
    rejected = np.zeros(prior.shape, bool)
    clicks = [p for p in prompts if isinstance(p, Click) and not p.positive]
    if not clicks or not prior.any():
        return rejected
    if parts is None:
        parts, _ = _labelled_parts(prior)
    depth = ndimage.distance_transform_edt(prior)
    for click in clicks:
        point = tuple(int(round(c)) for c in click.position)
        if not all(0 <= p < n for p, n in zip(point, prior.shape)) or not parts[point]:
            continue
        part = parts == parts[point]
        if depth[point] >= REJECT_DEPTH * depth[part].max():
            rejected |= part
    return rejected


def without_rejected_parts(mask: np.ndarray, prior: np.ndarray, prompts: Sequence[Prompt]) -> np.ndarray:
    """``mask``, an engine's answer to negative clicks on a slice whose mask was
    ``prior``, less the parts of ``prior`` the clicks rejected: those clicked near their
    middle (``rejected_parts``) and those it kept less than ``REMNANT`` of; and less
    what it grew beyond them that no longer touches the rest of ``prior``."""
    parts, count = _labelled_parts(prior)
    kept_area = ndimage.sum(mask, parts, np.arange(1, count + 1))
    part_area = ndimage.sum(prior, parts, np.arange(1, count + 1))
    all_but_removed = np.flatnonzero(np.asarray(kept_area) < REMNANT * np.asarray(part_area)) + 1
    rejected = rejected_parts(prior, prompts, parts) | np.isin(parts, all_but_removed)
    if not rejected.any():
        return mask
    return _parts_touching(mask & ~rejected, prior, structure=np.ones((3,) * mask.ndim))
