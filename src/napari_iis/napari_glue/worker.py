"""One long-lived inference thread per widget: one request in flight, stale results dropped.

The GUI submits operations; the thread takes every operation queued so far, applies them
to the session (consecutive prompts become one prediction), and reports once. A report
whose generation is older than the newest submission is stale for display, but masks
that were committed are always delivered so that nothing the user committed is lost.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from qtpy.QtCore import QObject, Signal

from ..core.batch import segment_objects
from ..core.mask import SparseMask
from ..core.prompts import Prompt
from ..core.propagation import PropagationEnd
from ..core.session import InteractiveSession
from ..core.tracking import carry_object

OperationKind = Literal["open", "prompt", "undo", "redo", "reset", "commit", "initial_mask", "propagate",
                        "label_objects", "carry"]


class PropagationCancelled(Exception):
    """Raised inside a propagation to stop it; the session keeps its previous mask."""


@dataclass(frozen=True)
class ObjectsToLabel:
    """The payload of a ``label_objects`` operation: {label id: prompts} segmented one by
    one (and propagated through a volume in slice mode)."""

    objects: dict[int, list[Prompt]]
    source: str  # what the prompts came from, for the report
    frame: tuple[int, ...] = ()  # of a series, where the labels go
    # a series' frames are labelled one request each: the later ones continue the first's
    # run (one cancel stops them all; progress counts the whole run)
    continues_run: bool = False
    done_before: int = 0  # objects of the run's earlier requests
    run_total: int | None = None  # objects of the whole run (default: this request's)


@dataclass(frozen=True)
class ObjectToCarry:
    """The payload of a ``carry`` operation: an object's mask on the frame before the
    session's, and that frame's volume (to follow the object's motion)."""

    prior: np.ndarray
    before: Any


@dataclass(frozen=True)
class LabelledObjects:
    """What a ``label_objects`` request wrote: a label image, ids as requested."""

    labels: np.ndarray
    segmented: int  # of the request's objects (fewer where it was cancelled)
    request: ObjectsToLabel


@dataclass(frozen=True)
class Operation:
    kind: OperationKind
    payload: Any = None
    generation: int = 0


@dataclass
class WorkerReport:
    generation: int
    mask: SparseMask | None = None
    prompts: tuple[Prompt, ...] = ()
    committed: list[np.ndarray] = field(default_factory=list)
    committed_frames: list[tuple[int, ...]] = field(default_factory=list)  # a commit's payload: where it goes
    errors: list[str] = field(default_factory=list)
    session_ready: bool = False
    propagation_ends: tuple[PropagationEnd, ...] = ()  # of a propagation in this batch
    labelled: list[LabelledObjects] = field(default_factory=list)  # of the ``label_objects`` in this batch


SessionFactory = Callable[[], InteractiveSession]


class SessionWorker(QObject):
    """Runs session operations off the GUI thread; ``reported`` fires in the GUI thread."""

    reported = Signal(object)
    busy_changed = Signal(bool)
    progressed = Signal(int, int)  # slices (or objects) done, slices in the volume (objects requested)

    def __init__(self) -> None:
        super().__init__()
        self._condition = threading.Condition()
        self._pending: list[Operation] = []
        self._generation = 0
        self._closing = False
        self._session: InteractiveSession | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="napari-iis-inference", daemon=True)
        self._thread.start()

    @property
    def latest_generation(self) -> int:
        return self._generation

    def submit(self, kind: OperationKind, payload: Any = None) -> int:
        with self._condition:
            self._generation += 1
            self._pending.append(Operation(kind, payload, self._generation))
            self._condition.notify()
            return self._generation

    def cancel_propagation(self) -> None:
        """Stop a propagation (the object stays as it was) or a labelling run (the objects
        segmented so far are kept)."""
        self._cancel.set()

    def is_stale(self, report: WorkerReport) -> bool:
        return report.generation < self._generation

    def close(self, timeout: float = 5.0) -> None:
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._closing:
                    self._condition.wait()
                if self._closing:
                    return
                batch, self._pending = self._pending, []
            self.busy_changed.emit(True)
            report = self._apply(batch)
            with self._condition:
                idle = not self._pending
            if idle:
                self.busy_changed.emit(False)
            self.reported.emit(report)

    def _apply(self, batch: list[Operation]) -> WorkerReport:
        report = WorkerReport(generation=batch[-1].generation)
        queued_prompts: list[Prompt] = []

        def flush_prompts() -> None:
            if queued_prompts and self._session is not None:
                self._guarded(report, lambda: self._session.add_prompts(list(queued_prompts)))
            queued_prompts.clear()

        for operation in batch:
            if operation.kind == "prompt":
                queued_prompts.append(operation.payload)
                continue
            flush_prompts()
            if operation.kind == "open":
                self._session = None
                session = self._guarded(report, operation.payload)
                if isinstance(session, InteractiveSession):
                    self._session = session
                    report.session_ready = True
            elif self._session is None:
                report.errors.append("no image is ready for segmentation yet: choose an image layer")
            elif operation.kind == "undo":
                self._session.undo()
            elif operation.kind == "redo":
                self._session.redo()
            elif operation.kind == "reset":
                self._session.reset()
            elif operation.kind == "commit":
                report.committed.append(self._session.commit())
                report.committed_frames.append(tuple(operation.payload or ()))
            elif operation.kind == "initial_mask":
                self._guarded(report, lambda: self._session.set_initial_mask(operation.payload))
            elif operation.kind == "propagate":
                self._propagate(report, lambda session, watched: session.propagate(anchors=operation.payload,
                                                                                   progress=watched))
            elif operation.kind == "carry":
                request: ObjectToCarry = operation.payload
                self._propagate(report, lambda session, watched: carry_object(session, request.prior, request.before,
                                                                              progress=watched))
            elif operation.kind == "label_objects":
                self._label_objects(report, operation.payload)
        flush_prompts()
        if self._session is not None:
            report.mask = self._session.sparse_mask
            report.prompts = self._session.prompts
        return report

    def _propagate(self, report: WorkerReport,
                   run: Callable[[InteractiveSession, Callable[[Iterator[Any]], Iterator[Any]]], Any]) -> None:
        """A propagation (or a carry to a new frame) with progress, which Cancel stops."""
        session = self._session
        assert session is not None
        self._cancel.clear()
        depth = session.shape[0]

        def watched(steps):
            for done, step in enumerate(steps, start=1):
                if self._cancel.is_set():
                    raise PropagationCancelled
                self.progressed.emit(done, depth)
                yield step

        try:
            if self._guarded(report, lambda: run(session, watched)) is not None:
                report.propagation_ends = session.propagation_ends
        except PropagationCancelled:
            report.errors.append("propagation cancelled: the object is as it was")
        self.progressed.emit(depth, depth)

    def _label_objects(self, report: WorkerReport, request: ObjectsToLabel) -> None:
        session = self._session
        assert session is not None
        if not request.continues_run:
            self._cancel.clear()
        total = len(request.objects)
        run_total = request.run_total or total
        done = 0

        def watched(items):
            nonlocal done
            for item in items:
                if self._cancel.is_set():
                    return  # what is segmented so far is kept
                self.progressed.emit(request.done_before + done, run_total)
                yield item
                done += 1

        def failed(label_id: int, error: Exception) -> None:
            report.errors.append(f"object {label_id} of {total} left empty: {error}")

        labels = self._guarded(report, lambda: segment_objects(session, request.objects, propagate=session.slice_mode,
                                                               progress=watched, on_error=failed))
        if labels is not None:
            report.labelled.append(LabelledObjects(labels, done, request))
        if request.done_before + total >= run_total:
            self.progressed.emit(run_total, run_total)

    @staticmethod
    def _guarded(report: WorkerReport, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except PropagationCancelled:
            raise
        except ValueError as error:
            report.errors.append(str(error))
        except Exception as error:  # an engine failure must not kill the thread
            report.errors.append(f"{type(error).__name__}: {error}")
            traceback.print_exc()
        return None
