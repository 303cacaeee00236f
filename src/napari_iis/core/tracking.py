"""Carrying an object from one frame of a series of volumes to the next.

The object's mask on the frame before is the prior. Where the frame before's image is
given, the prior first follows the object's motion: the shift that best registers the
two frames near it (phase correlation of a box around it, ``MOTION_MARGIN`` voxels or
more wider on every side). On the slice where the moved prior is largest, the
propagation engine segments the new frame from that slice's mask (a propagation step
taken along time instead of z); propagation then carries it through the new frame's
volume, at most ``EXTRA_SLICES`` beyond the slices the object spanned before (an object
changes its depth slowly from frame to frame, while propagation alone runs onto the
object stacked on it). The result is the session's current object, which the user
corrects as any propagated object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage
from skimage.registration import phase_cross_correlation

from .image import ImageSource
from .metrics import iou
from .propagation import PropagationEnd, PropagationSettings, PropagationStep, image_contrast

if TYPE_CHECKING:
    from .session import InteractiveSession


EXTRA_SLICES = 1
# the motion is measured in a box around the object, its size on every side but at least
# this many voxels: on the synthetic nuclei (9-13 px wide) moved 8 px, 42 of 51 shifts
# came out right with the object's size alone, 51 with 16 (docs/experiments.md)
MOTION_MARGIN = 16
DEPTH_END = f"{EXTRA_SLICES} slice past the object's depth on the frame before"


class ObjectLost(ValueError):
    """The object did not carry over to the new frame."""


def largest_slice(mask: np.ndarray) -> int:
    return int(np.argmax(np.count_nonzero(mask.reshape(mask.shape[0], -1), axis=1)))


def object_motion(prior: np.ndarray, before: ImageSource, after: ImageSource) -> np.ndarray:
    """The shift (voxels per axis) that carries the object of mask ``prior`` in ``before``
    to where it lies in ``after``: phase correlation of a box around it (channels averaged)."""
    box = ndimage.find_objects(prior.astype(np.uint8))[0]
    margins = [max(b.stop - b.start, MOTION_MARGIN) for b in box]
    region = tuple(slice(max(b.start - m, 0), min(b.stop + m, n)) for b, m, n in zip(box, margins, prior.shape))
    shift, _, _ = phase_cross_correlation(after.read(region).mean(axis=0), before.read(region).mean(axis=0))
    return np.round(shift).astype(int)


def shifted(mask: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``mask`` moved by whole voxels; what moves out of the volume is lost."""
    moved = np.zeros_like(mask)
    source = tuple(slice(max(-s, 0), n - max(s, 0)) for s, n in zip(shift, mask.shape))
    target = tuple(slice(max(s, 0), n - max(-s, 0)) for s, n in zip(shift, mask.shape))
    moved[target] = mask[source]
    return moved


def carry_object(
    session: InteractiveSession,
    prior: np.ndarray,
    before: Any = None,
    settings: PropagationSettings | None = None,
    progress: Callable[[Iterator[PropagationStep]], Iterable[PropagationStep]] | None = None,
) -> np.ndarray:
    """Segment in ``session``'s volume (a new frame) the object whose 3D mask on the frame
    before is ``prior``; its current object becomes the result. ``before``: that frame's
    volume (laid out as the session's image, channels included), to follow the object's
    motion; without it, the object is looked for where it was.

    Raises ``ObjectLost`` where the new frame's mask on the start slice is empty, overlaps
    the (moved) prior's less than propagation's ``min_consistency``, or (with ``before``)
    stands out from its surroundings less than ``min_contrast_ratio`` of what the object
    did on the frame before: the object moved too far, or left, so the user clicks it on
    the new frame instead.
    """
    if session.ndim != 3:
        raise ValueError("carrying an object to the next frame needs a volume (z, y, x) per frame")
    prior = np.asarray(prior, bool)
    if prior.shape != session.shape:
        raise ValueError(f"the object's mask has shape {prior.shape}, expected the frame's {session.shape}")
    if not prior.any():
        raise ValueError("the object's mask on the frame before is empty: nothing to carry")
    settings = settings or PropagationSettings()
    plane, reference = largest_slice(prior), None
    if before is not None:
        image = session.image
        previous = ImageSource(before, channel_axis=image.channel_axis, intensity_window=(image.low, image.high))
        if previous.spatial_shape != session.shape:
            raise ValueError(f"the frame before has shape {previous.spatial_shape}, this one {session.shape}")
        reference = image_contrast(previous, plane, prior[plane], settings.ring_width)
        prior = shifted(prior, object_motion(prior, previous, image))
        if not prior.any():
            raise ObjectLost("the object moved out of the volume on this frame")
        plane = largest_slice(prior)
    start = session.predict_slice(plane, prior[plane])
    lost = not start.any() or iou(prior[plane], start) < settings.min_consistency
    if not lost and reference is not None:
        standing_out = image_contrast(session.image, plane, start, settings.ring_width) * np.sign(reference)
        lost = standing_out < settings.min_contrast_ratio * abs(reference)
    if lost:
        raise ObjectLost(f"the object did not carry over to this frame on slice {plane} "
                         f"(it moved too far, or left): click it on this frame instead")
    seeded = np.zeros(session.shape, bool)
    seeded[plane] = start
    spanned = np.flatnonzero(prior.any(axis=(1, 2)))
    beyond = (spanned[0] - EXTRA_SLICES - 1, spanned[-1] + EXTRA_SLICES + 1)
    ends = {z: np.zeros(session.shape[1:], bool) for z in beyond if 0 <= z < session.shape[0]}
    session.set_initial_mask(seeded)
    try:
        mask = session.propagate(plane=plane, anchors=ends, settings=settings, progress=progress)
    except BaseException:  # a cancelled or failed carry leaves the new frame as it was: empty
        session.reset()
        raise
    session.propagation_ends = tuple(PropagationEnd(end.plane, DEPTH_END) if end.plane in ends else end
                                     for end in session.propagation_ends)
    return mask
