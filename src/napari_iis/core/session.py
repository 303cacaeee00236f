"""The headless interactive session: one image, one object at a time."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..engines import Engine, EngineRequest, resolve_engine
from .crop import CropPolicy, CropWindow, magnify_mask, paste_logits, plan_window, resample, touches_inner_edge
from .history import History, ObjectState
from .image import ChannelAxis, ImageSource
from .mask import SparseMask
from .lasso import bounded, engine_prompts, lasso_prior, lasso_regions
from .prompts import Box, Click, Lasso, Prompt, Scribble, prompt_coordinates
from .propagation import (
    PropagationEnd,
    PropagationSettings,
    PropagationStep,
    contrast,
    propagation_steps,
    without_rejected_parts,
)


# First windows tried, smallest first, for a first prompt on a slice of a volume; one is
# kept when its mask's mean intensity differs from a ring around it by this much (of the
# [0, 1] display range).
SLICE_FIRST_WINDOWS = (48, 96, 192)
MIN_FIRST_WINDOW_CONTRAST = 0.05
FIRST_WINDOW_RING = 3
# A positive click on an empty slice of a volume's object takes the object's mask from a
# slice at most this far as its prior.
NEIGHBOUR_PRIOR_SLICES = 2


class InteractiveSession:
    """Segment objects in one image from clicks, boxes and scribbles.

    >>> s = InteractiveSession(image)                  # doctest: +SKIP
    >>> mask = s.add_click((120, 80), positive=True)   # doctest: +SKIP
    >>> s.undo(); s.commit()                           # doctest: +SKIP

    ``image`` is 2D gray (Y, X), RGB (Y, X, 3) or 3D (Z, Y, X). ``channel_axis="auto"``
    reads a trailing axis of 3 or 4 on a 3-axis array as RGB(A) and one of 1 as gray (one of 2
    is refused: gray with alpha or two channels); give the axis for other multichannel
    layouts, or None for none. ``spacing`` is the physical pixel/voxel size.
    ``intensity_window`` (low, high) replaces the image's percentile range, e.g. a CT
    soft-tissue window (-160, 240). Any array with ``shape`` and slicing works (numpy,
    memmap, dask, zarr): only crops are read.
    ``engine`` is an engine name (``napari_iis.engines.available_engines()``) or instance;
    by default the shipped 2D network for 2D images and the watershed engine for volumes.
    On a volume, ``slice_mode=True`` makes prompts segment their own slice only (the
    default for engines that work in 2D only); ``propagate()`` then carries the object on.
    Single slices are segmented by ``slice_engine``: by default ``engine`` itself when it
    works in 2D, otherwise the default 2D engine; propagation carries the object from slice
    to slice with ``propagation_engine`` (any 2D engine; by default the slice engine).
    Every prompt method returns the updated mask of the current object. Bad input raises
    ``ValueError`` and leaves the session unchanged.
    """

    def __init__(
        self,
        image: Any,
        *,
        channel_axis: ChannelAxis = "auto",
        spacing: Sequence[float] | None = None,
        engine: str | Engine | None = None,
        crop_policy: CropPolicy | None = None,
        slice_mode: bool | None = None,
        intensity_window: Sequence[float] | None = None,
        slice_engine: str | Engine | None = None,
        propagation_engine: str | Engine | None = None,
    ) -> None:
        self.image = ImageSource(image, channel_axis=channel_axis, spacing=spacing, intensity_window=intensity_window)
        self.engine: Engine = resolve_engine(engine, self.image.ndim)
        supported = set(self.engine.capabilities.ndims)
        if self.image.ndim == 3 and 2 in supported:
            supported.add(3)  # a 2D engine segments a volume slice by slice
        if self.image.ndim not in supported:
            raise ValueError(
                f"engine {self.engine.name!r} segments {sorted(self.engine.capabilities.ndims)}D "
                f"images, not {self.image.ndim}D; choose another engine"
            )
        self._given_crop_policy = crop_policy
        if slice_mode and self.ndim != 3:
            raise ValueError("slice_mode needs a volume (z, y, x)")
        self._slice_engine_choice = slice_engine
        self._slice_engine: Engine | None = None
        self._propagation_engine = None if propagation_engine is None else _slice_capable(
            resolve_engine(propagation_engine, 2), "propagation_engine")
        self._slice_mode = bool(slice_mode) if slice_mode is not None else 3 not in self.engine.capabilities.ndims
        self.last_window: CropWindow | None = None
        self.propagation_ends: tuple[PropagationEnd, ...] = ()  # where the last propagate() ended, and why
        self._history = History(self._blank_state())

    # -- state -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The image's spatial shape (the shape of every mask)."""
        return self.image.spatial_shape

    @property
    def ndim(self) -> int:
        return self.image.ndim

    @property
    def spacing(self) -> tuple[float, ...]:
        return self.image.spacing

    @property
    def prompts(self) -> tuple[Prompt, ...]:
        return self._history.current.prompts

    @property
    def mask(self) -> np.ndarray:
        """The current object's mask: bool, with the image's spatial shape."""
        return self._history.current.mask.to_dense()

    @property
    def sparse_mask(self) -> SparseMask:
        """The current object's mask as its bounding-box patch (cheap for huge images)."""
        return self._history.current.mask

    @property
    def can_undo(self) -> bool:
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo

    # -- prompts -----------------------------------------------------------------------
    def add_click(self, position: Sequence[float], positive: bool = True) -> np.ndarray:
        """Click at ``position`` ((y, x), or (z, y, x) for volumes), in pixel coordinates."""
        return self.add_prompt(Click(self._coordinate(position, "click position"), bool(positive)))

    def add_box(self, start: Sequence[float], stop: Sequence[float]) -> np.ndarray:
        """A box from corner ``start`` to corner ``stop`` (inclusive pixel coordinates)."""
        box = Box(self._coordinate(start, "box corner"), self._coordinate(stop, "box corner"))
        extents = [round(b) - round(a) for a, b in zip(box.start, box.stop)]
        if sum(e > 0 for e in extents) < 2:
            raise ValueError(
                f"the box from {box.start} to {box.stop} has zero area; drag a box that "
                "spans at least two pixels along two axes"
            )
        return self.add_prompt(box)

    def add_scribble(self, points: Sequence[Sequence[float]], positive: bool = True) -> np.ndarray:
        """A painted polyline through ``points`` (each (y, x) or (z, y, x))."""
        if len(points) == 0:
            raise ValueError("a scribble needs at least one point")
        coordinates = tuple(self._coordinate(p, "scribble point") for p in points)
        return self.add_prompt(Scribble(coordinates, bool(positive)))

    def add_lasso(self, points: Sequence[Sequence[float]], positive: bool = True) -> np.ndarray:
        """A closed outline through ``points`` ((y, x), or (z, y, x) on one slice in slice
        mode): the object lies inside a positive lasso; a negative one cuts its inside away."""
        if len(points) < 3:
            raise ValueError("a lasso needs at least three points around the object")
        coordinates = tuple(self._coordinate(p, "lasso point") for p in points)
        return self.add_prompt(Lasso(coordinates, bool(positive)))

    def add_prompt(self, prompt: Prompt) -> np.ndarray:
        """Add any prompt; all the current object's prompts are used for the new mask."""
        self.add_prompts([prompt])
        return self.mask

    def add_prompts(self, prompts: Sequence[Prompt]) -> SparseMask:
        """Add several prompts with one prediction and one undo step.

        Returns the mask as a bounding-box patch (``.to_dense()`` for the full array), so
        that scripts on huge images never build a full-size mask they do not need.
        """
        if not prompts:
            return self.sparse_mask
        for prompt in prompts:
            self.check_prompt(prompt)
        state = self._history.current
        all_prompts = state.prompts + tuple(prompts)
        mask = self._predict(all_prompts, state.mask, tuple(prompts))
        self._history.push(ObjectState(all_prompts, mask, state.initial_mask))
        return mask

    def check_prompt(self, prompt: Prompt) -> None:
        """Raise ``ValueError`` (saying what to change) where ``add_prompts`` would refuse
        ``prompt``: outside the image, the wrong number of coordinates, a kind the engine
        does not take."""
        needed = "box" if prompt.kind == "lasso" else prompt.kind  # a lasso reaches engines as a box
        if needed not in self.engine.capabilities.prompt_kinds:
            raise ValueError(f"engine {self.engine.name!r} does not take {prompt.kind} prompts")
        if prompt.kind == "lasso" and self.ndim == 3 and not self.slice_mode:
            raise ValueError("a lasso outlines the object on one slice: tick slice by slice "
                             "(slice_mode=True), or use a box or clicks in 3D")
        for coordinate in prompt.coordinates():
            self._coordinate(coordinate, f"{prompt.kind} coordinate")

    def set_initial_mask(self, mask: np.ndarray) -> np.ndarray:
        """Start the current object from an existing mask (e.g. a label being corrected)."""
        mask = np.asarray(mask)
        if mask.shape != self.shape:
            raise ValueError(f"the mask has shape {mask.shape}, expected the image's {self.shape}")
        sparse = SparseMask.from_dense(mask.astype(bool))
        self._history = History(ObjectState((), sparse, sparse))
        return self.mask

    # -- volumes -----------------------------------------------------------------------
    def propagate(
        self,
        plane: int | None = None,
        anchors: Mapping[int, np.ndarray] | None = None,
        settings: PropagationSettings | None = None,
        progress: Callable[[Iterator[PropagationStep]], Iterable[PropagationStep]] | None = None,
    ) -> np.ndarray:
        """Carry the current object's mask on slice ``plane`` through the volume.

        ``plane`` defaults to the slice of the last prompt. ``anchors`` maps slices the
        user corrected to their masks, which are kept; by default, in slice mode, every
        other slice that holds a prompt (``corrected_slices``): an empty one ends the
        object there. Re-propagating in slice mode keeps the object's other slices where
        the run stops (a slice that matches its old mask, or the object's end as the run
        sees it), so a correction changes the slices near it; after a 3D engine the
        propagated object replaces its mask. The 3D result becomes the current mask in
        one undoable step; ``progress`` may wrap the steps (e.g. ``tqdm``). ``propagation_ends``
        then says where the object ended inside the volume, and why.
        """
        if self.ndim != 3:
            raise ValueError("propagation needs a volume (z, y, x)")
        if plane is None:
            plane = self._propagation_start()
        state = self._history.current
        start = state.mask.read(self._plane_slices(plane))[0]
        if anchors is None:
            anchors = {p: m for p, m in self.corrected_slices().items() if p != plane}
        if self.slice_mode:  # corrections re-run near them; the rest of the object stands
            volume = state.mask.to_dense()
        else:  # the 2D network's propagation replaces a 3D engine's object
            volume = np.zeros(self.shape, dtype=bool)
            volume[plane] = start
        for anchor, mask in anchors.items():
            volume[anchor] = mask
            if not np.any(mask):  # the object ends here: nothing of it lies beyond
                _clear_beyond(volume, anchor, int(np.sign(anchor - plane)), anchors)
        ends: list[PropagationEnd] = []
        steps = propagation_steps(self, plane, start, anchors, settings or PropagationSettings(),
                                  previous=lambda z: volume[z], on_end=ends.append)
        for step in progress(steps) if progress is not None else steps:
            volume[step.plane] = step.mask
        self.propagation_ends = tuple(ends)
        self._history.push(ObjectState(state.prompts, SparseMask.from_dense(volume), state.initial_mask))
        return self.mask

    # -- history -----------------------------------------------------------------------
    def undo(self) -> np.ndarray:
        """Remove the last prompt; the mask returns to what it was before it."""
        self._history.undo()
        return self.mask

    def redo(self) -> np.ndarray:
        self._history.redo()
        return self.mask

    def reset(self) -> np.ndarray:
        """Discard the current object's prompts and mask."""
        self._history = History(self._blank_state())
        return self.mask

    def commit(self) -> np.ndarray:
        """Return the current object's mask and start a new, empty object."""
        mask = self.mask
        self.reset()
        return mask

    # -- internals ---------------------------------------------------------------------
    def _blank_state(self) -> ObjectState:
        return ObjectState((), SparseMask.empty(self.shape))

    def _coordinate(self, values: Sequence[float], what: str) -> tuple[float, ...]:
        try:
            coordinate = tuple(float(v) for v in values)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a sequence of {self.ndim} numbers, got {values!r}") from None
        if len(coordinate) != self.ndim:
            axes = "(y, x)" if self.ndim == 2 else "(z, y, x)"
            raise ValueError(
                f"{what} {coordinate} has {len(coordinate)} values; this {self.ndim}D image "
                f"needs {axes}"
            )
        if not all(math.isfinite(c) for c in coordinate):
            raise ValueError(f"{what} {coordinate} is not finite")
        outside = [
            axis for axis, (c, n) in enumerate(zip(coordinate, self.shape)) if not 0 <= round(c) < n
        ]
        if outside:
            raise ValueError(
                f"{what} {coordinate} is outside the image of shape {self.shape} (axis {outside[0]})"
            )
        return coordinate

    @property
    def slice_mode(self) -> bool:
        """True when each prompt segments only its own slice of a volume."""
        return self.ndim == 3 and self._slice_mode

    @property
    def crop_policy(self) -> CropPolicy:
        """The zoom-in window policy of the session's engine."""
        return self._crop_policy_for(self.engine)

    def _crop_policy_for(self, engine: Engine, in_slice: bool = False) -> CropPolicy:
        if self._given_crop_policy is not None:
            return self._given_crop_policy
        # An object on a volume's slice (an organ, a cell) is mostly small against the
        # slice, and 384 px is the whole slice of a coarse scan (docs/experiments.md).
        search = SLICE_FIRST_WINDOWS if in_slice else ()
        return CropPolicy(expansion=engine.capabilities.crop_expansion, min_size=engine.capabilities.min_window,
                          first_window_search=search)

    @property
    def slice_engine(self) -> Engine:
        """The engine that segments single slices of a volume (slice mode, propagation)."""
        if self._slice_engine is None:
            if self._slice_engine_choice is None and 2 in self.engine.capabilities.ndims:
                engine = self.engine
            else:
                engine = _slice_capable(resolve_engine(self._slice_engine_choice, 2), "slice_engine")
            self._slice_engine = engine
        return self._slice_engine

    @property
    def propagation_engine(self) -> Engine:
        """The engine that carries the object from slice to slice in ``propagate``."""
        return self._propagation_engine or self.slice_engine

    def _predict(self, prompts: tuple[Prompt, ...], previous: SparseMask, new: tuple[Prompt, ...]) -> SparseMask:
        """The mask after the ``new`` prompts (the last of ``prompts``). In slice mode they
        correct their own slices, one after the other: a slice's prompts and its slice of
        ``previous`` (say, a propagated object) give its new mask; other slices are kept."""
        if not self.slice_mode:
            return self._run_engine(prompts, previous, plane=None)
        planes = [_plane_of(p) for p in new]
        if None in planes:
            raise ValueError(
                f"engine {self.slice_engine.name!r} segments one slice at a time: put each prompt on one slice"
            )
        mask = previous
        for plane in dict.fromkeys(planes):
            mask = self._correct_slice(prompts, mask, plane)
        return mask

    def _correct_slice(self, prompts: tuple[Prompt, ...], previous: SparseMask, plane: int) -> SparseMask:
        in_plane = tuple(p.mapped(lambda c: np.asarray(c)[:, 1:]) for p in prompts if _plane_of(p) == plane)
        # a negative lasso cuts by itself: no part to reject
        positive = any(getattr(p, "positive", True) or isinstance(p, Lasso) for p in in_plane)
        prior = previous.read(self._plane_slices(plane))[0]
        if positive and not prior.any():
            prior = self._neighbour_prior(previous, plane)
        mask = self._run_engine(in_plane, SparseMask.from_dense(prior), plane)
        if not positive:
            mask = SparseMask.from_dense(without_rejected_parts(mask.to_dense(), prior, in_plane))
        return previous.with_plane(plane, mask)

    def _neighbour_prior(self, previous: SparseMask, plane: int) -> np.ndarray:
        """The object's mask on the nearest slice within ``NEIGHBOUR_PRIOR_SLICES`` of
        ``plane``: a positive click just past where propagation stopped continues the
        object, as propagation would have, instead of starting a new one."""
        for distance in range(1, NEIGHBOUR_PRIOR_SLICES + 1):
            for neighbour in (plane - distance, plane + distance):
                if 0 <= neighbour < self.shape[0]:
                    mask = previous.read(self._plane_slices(neighbour))[0]
                    if mask.any():
                        return mask
        return np.zeros(self.shape[1:], bool)

    def _propagation_start(self) -> int:
        """The slice of the last prompt; in slice mode, the last slice that holds some of
        the object and a positive prompt (else any prompt): a slice clicked only to take
        something away is no place to start the object from."""
        if not self.prompts:
            raise ValueError("segment the object on a slice first, or say which slice to start from")
        if self.slice_mode:
            holding = [p for p in reversed(self.prompts) if _plane_of(p) is not None
                       and self._history.current.mask.read(self._plane_slices(_plane_of(p))).any()]
            if holding:  # the latest positive one, else the latest
                return _plane_of(min(holding, key=lambda p: not getattr(p, "positive", True)))
        return int(round(self.prompts[-1].coordinates()[-1][0]))

    def corrected_slices(self) -> dict[int, np.ndarray]:
        """In slice mode, the current object's mask on each slice that holds a prompt."""
        if not self.slice_mode:
            return {}
        planes = sorted({_plane_of(p) for p in self.prompts} - {None})
        return {plane: self._history.current.mask.read(self._plane_slices(plane))[0] for plane in planes}

    def predict_slice(self, plane: int, prior: np.ndarray, prompts: Sequence[Prompt] = ()) -> np.ndarray:
        """Segment slice ``plane`` of a volume from a 2D ``prior`` mask (and 2D prompts)
        with the propagation engine.

        The building block of propagation: the history is untouched.
        """
        if self.ndim != 3:
            raise ValueError("predict_slice needs a volume (z, y, x)")
        if not 0 <= plane < self.shape[0]:
            raise ValueError(f"slice {plane} is outside the volume's {self.shape[0]} slices")
        engine = self.propagation_engine
        mask = self._run_engine(tuple(prompts), SparseMask.from_dense(np.asarray(prior, bool)), plane, engine,
                                growth_penalty=engine.capabilities.propagation_growth_penalty)
        return mask.to_dense()

    def _plane_slices(self, plane: int) -> tuple[slice, ...]:
        return (slice(plane, plane + 1),) + tuple(slice(0, n) for n in self.shape[1:])

    def _extent(self, plane: int | None) -> tuple[int, ...]:
        """The shape of what is segmented: the image, or (``plane``) one slice of the volume."""
        return self.shape if plane is None else self.shape[1:]

    def _run_engine(self, prompts: tuple[Prompt, ...], previous: SparseMask, plane: int | None,
                    engine: Engine | None = None, growth_penalty: float = 0.0) -> SparseMask:
        """Crop, predict and paste back, in the volume or (``plane``) in one of its slices,
        with ``engine`` (by default the session's for the volume, or its slice engine); a
        first prediction is redone in its own mask's window where the engine asks for it.
        ``growth_penalty`` lowers the logits outside ``previous`` (propagation's prior)."""
        if engine is None:
            engine = self.engine if plane is None else self.slice_engine
        if any(isinstance(p, Lasso) for p in prompts):
            return self._run_with_lassos(prompts, previous, plane, engine)
        policy = self._crop_policy_for(engine, in_slice=plane is not None)
        if previous.bbox() is not None:
            return self._predict_window(engine, policy, prompts, previous, plane, growth_penalty)
        for first_policy in policy.first_windows():
            mask = self._predict_window(engine, first_policy, prompts, previous, plane)
            if first_policy is policy or self._fits_window(mask, plane):
                break
        if engine.capabilities.zoom_in_first and mask.bbox() is not None:
            mask = self._predict_window(engine, policy, prompts, mask, plane)
        return mask

    def _run_with_lassos(self, prompts: tuple[Prompt, ...], previous: SparseMask, plane: int | None,
                         engine: Engine) -> SparseMask:
        """The engine sees a box around the positive lassos and their outline as the previous
        mask; the mask then stays inside them and out of the negative ones."""
        inside, outside = lasso_regions(prompts, self._extent(plane))
        others = engine_prompts(prompts, inside)
        prior = lasso_prior(previous, inside, outside)
        if not others:  # negative lassos alone cut the mask as it is
            return bounded(previous, inside, outside)
        return bounded(self._run_engine(others, prior, plane, engine), inside, outside)

    def _fits_window(self, mask: SparseMask, plane: int | None) -> bool:
        """A first mask from a small window is kept when it stays off the window's inner
        edges and, on a volume's slice (where the search runs by default), stands out from
        a ring around it: inside a large uniform object a small window shows no boundary,
        and the network answers with a dot."""
        box = mask.bbox()
        if box is None or self.last_window is None or touches_inner_edge(*box, self.last_window, self._extent(plane)):
            return False
        if plane is None:
            return True
        return abs(contrast(self, plane, mask.to_dense(), FIRST_WINDOW_RING)) >= MIN_FIRST_WINDOW_CONTRAST

    def _predict_window(
        self, engine: Engine, policy: CropPolicy, prompts: tuple[Prompt, ...], previous: SparseMask,
        plane: int | None, growth_penalty: float = 0.0,
    ) -> SparseMask:
        ndim = self.ndim if plane is None else 2
        shape = self._extent(plane)
        spacing = self.spacing if plane is None else self.spacing[1:]
        window = plan_window(
            prompt_coordinates(prompts, ndim),
            previous.bbox(),
            shape,
            spacing,
            engine.capabilities.input_size(ndim),
            policy,
            min_input_size=engine.capabilities.min_input_size(ndim),
        )
        strided = window.strided_slices
        if plane is None:
            crop = self.image.read(strided)
        else:
            crop = self.image.read((slice(plane, plane + 1), *strided))[:, 0]
        image = resample(crop, window.target_shape, order=1)
        previous_window = previous.read(window.slices)[
            tuple(slice(s.start - a, None, s.step) for s, a in zip(strided, window.start))]
        if self.ndim == 2:  # a 2D image's mask; slices and volumes keep the plain resampling
            previous_crop = magnify_mask(previous_window, window.target_shape)
        else:
            previous_crop = resample(previous_window.astype(np.float32), window.target_shape, order=1)
        request = EngineRequest(
            image=image,
            prompts=tuple(p.mapped(window.to_crop) for p in prompts),
            previous_mask=previous_crop,
            spacing=(window.working_spacing,) * ndim,
            carried_prior=plane is not None,
        )
        logits = np.asarray(engine.predict(request), dtype=np.float32)
        if growth_penalty:
            logits = logits - np.float32(growth_penalty) * (previous_crop < 0.5)
        self.last_window = window
        return SparseMask.from_patch(shape, window.start, paste_logits(logits, window))


def _clear_beyond(volume: np.ndarray, plane: int, direction: int, anchors: Mapping[int, np.ndarray]) -> None:
    """Empty the slices after ``plane`` in ``direction``, up to the next anchor."""
    z = plane + direction
    while 0 <= z < volume.shape[0] and z not in anchors:
        volume[z] = False
        z += direction


def _slice_capable(engine: Engine, role: str) -> Engine:
    if 2 not in engine.capabilities.ndims:
        raise ValueError(f"{role} {engine.name!r} does not segment 2D slices; choose another")
    return engine


def _plane_of(prompt: Prompt) -> int | None:
    """The slice (first coordinate) a volume prompt lies on, or None when it spans several."""
    planes = {int(round(c[0])) for c in prompt.coordinates()}
    return planes.pop() if len(planes) == 1 else None
