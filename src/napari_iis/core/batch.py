"""Many objects from one prompt each: a click (or a box, a lasso) per nucleus, one label per object."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from .mask import SparseMask
from .prompts import PROMPT_TYPES, Click, Prompt
from .session import InteractiveSession

Progress = Callable[[Iterable], Iterable]


def writable_pixels(current: np.ndarray, mask: np.ndarray, label_id: int, overwrite: bool) -> np.ndarray:
    """The pixels of ``mask`` that ``label_id`` may take in ``current`` labels: all of them
    with ``overwrite``, else those that are background or already ``label_id``."""
    return mask if overwrite else mask & ((current == 0) | (current == label_id))


def paint(labels: np.ndarray, mask: SparseMask, label_id: int, overwrite: bool = False) -> int:
    """Write ``mask`` into ``labels`` as ``label_id`` (in place, only inside the mask's
    bounding box); returns the pixels the object holds."""
    if mask.is_empty:
        return 0
    patch = labels[mask.patch_slices()]
    writable = writable_pixels(patch, mask.data, label_id, overwrite)
    patch[writable] = label_id
    return int(writable.sum())


def segment_objects(
    session: InteractiveSession,
    objects: Mapping[int, Sequence[Prompt]],
    *,
    propagate: bool = False,
    overwrite: bool = False,
    progress: Progress = lambda items: items,
    on_error: Callable[[int, Exception], None] | None = None,
) -> np.ndarray:
    """One object per entry of ``objects`` ({label id: its prompts}), the prompts added one
    by one in their order as a user would click them, then (``propagate``, a volume in slice
    mode) carried through the slices; returns an int32 label image. An object keeps out of
    the pixels of the objects before it unless ``overwrite``. With ``on_error``, an object
    whose segmentation fails is reported to it (label id, error) and left empty, and the
    others go on; without it the error is raised. The session's current object is
    discarded; it ends empty."""
    labels = np.zeros(session.shape, dtype=np.int32)
    for label_id, prompts in progress(list(objects.items())):
        session.reset()
        try:
            for prompt in prompts:
                session.add_prompts([prompt])
            if propagate:
                session.propagate()
        except Exception as error:  # an engine failure on one object must not lose the others
            if on_error is None:
                raise
            on_error(label_id, error)
            continue
        paint(labels, session.sparse_mask, label_id, overwrite)
    session.reset()
    return labels


def segment_each(
    session: InteractiveSession,
    prompts: Sequence[Prompt | Sequence[float]],
    *,
    overwrite: bool = False,
    progress: Progress = lambda items: items,
) -> np.ndarray:
    """One object per prompt, as label ids 1, 2, … in the order given; a position stands for
    a positive click there. An object keeps out of the pixels of the objects before it
    unless ``overwrite``. The session's current object is discarded; it ends empty."""
    as_prompts = [p if isinstance(p, PROMPT_TYPES) else Click(tuple(float(v) for v in p), True) for p in prompts]
    return segment_objects(session, {label_id: [prompt] for label_id, prompt in enumerate(as_prompts, start=1)},
                           overwrite=overwrite, progress=progress)
