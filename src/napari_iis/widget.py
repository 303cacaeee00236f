"""The dock widget: picks layers and engine, and drives one session per image."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers import Image, Labels, Points, Shapes
from napari.utils import progress
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .core.mask import SparseMask
from .core.prompts import shape_to_prompt
from .core.session import InteractiveSession
from .engines import (
    DEFAULT_ENGINE,
    MICROSCOPY_PROPAGATION_ENGINE,
    Engine,
    available_engines,
    create_engine,
    default_engine,
    slice_engines,
)
from .napari_glue.interaction import SHORTCUTS, bind_keys, install_click_callback
from .napari_glue.layers import (
    OWN_LAYER_NAMES,
    ImageGrid,
    chosen_window,
    frame_at,
    frame_labels,
    frame_text,
    full_resolution,
    image_grid,
    looks_medical,
    make_preview_layer,
    make_prompt_layer,
    make_shapes_layer,
    make_target_labels,
    next_free_label,
    objects_by_frame,
    show_clicks,
    show_mask,
    show_shapes,
    spatial_ndim,
    write_label_image,
    write_object,
)
from .napari_glue.picking import click_world_position
from .napari_glue.worker import ObjectsToLabel, ObjectToCarry, SessionWorker, WorkerReport
from .qt_parts import FoldedText, VerticalScrollArea

if TYPE_CHECKING:
    import napari

NEW_LABELS = "(new labels layer)"
SAME_ENGINE = "(default)"
LABELS_LAYER_NAME = "iis labels"


class SegmentationWidget(QWidget):
    """Click on an object, see its mask, commit it to a labels layer."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.image_layer: Image | None = None
        self.grid: ImageGrid | None = None
        self.prompt_layer = None
        self.shapes_layer = None
        self.preview_layer: Labels | None = None
        self._showing_shapes = False
        self.editing_label: int | None = None
        self._carry: CarryUnderWay | None = None
        self._shown_mask: SparseMask | None = None
        self._loading: progress | None = None
        self.negative_mode = False
        self._engines: dict[str, Engine] = {}
        self.last_report: WorkerReport | None = None
        self._labelling_run = LabellingSummary("")

        self.worker = SessionWorker()
        self.worker.reported.connect(self._on_report)
        self.worker.busy_changed.connect(self._on_busy)

        self.image_combo = QComboBox()
        self.labels_combo = QComboBox()
        self.engine_combo = QComboBox()
        self.engine_combo.addItems(list(available_engines()))
        self.engine_combo.setCurrentText(DEFAULT_ENGINE)
        self.propagation_combo = QComboBox()
        self.propagation_combo.addItems([SAME_ENGINE, *slice_engines()])
        self.propagation_combo.setToolTip(
            "the 2D engine that carries a volume's object from slice to slice when you propagate "
            "(default: the one that segments slices); on fluorescence stacks the watershed follows "
            "nuclei's edges better (docs/user_guide.md)")
        self.overwrite_check = QCheckBox("overwrite other objects")
        self.each_check = QCheckBox("one click per object")
        self.each_check.setToolTip(
            "each click (or box) commits a new label: for many small objects (nuclei, cells), click once on each, "
            "no Enter needed; "
            "napari's undo on the labels layer takes one back, Edit label refines one")
        self.points_combo = QComboBox()
        self.points_combo.setPlaceholderText("(points or shapes)")
        self.label_points_button = QPushButton("Label each")
        self.label_points_button.setToolTip(
            "segment one object at each point of the chosen Points layer (e.g. a spot detector's) or each box, "
            "lasso or scribble of a Shapes layer, each under a new label; points sharing an 'object' feature make "
            "one object, a 'positive' feature signs them; on a volume segmented slice by slice each object is then "
            "propagated")
        self.slices_check = QCheckBox("volumes: slice by slice")
        self.slices_check.setToolTip("segment a volume (or a time series) on one slice at a time, then propagate (P)")
        self.channels_check = QCheckBox("first axis holds channels")
        self.channels_check.setToolTip("the image is (C, Y, X) or (C, Z, Y, X): every channel is seen at once")
        self.start_button = QPushButton("Start on this image")
        self.commit_button = QPushButton("Commit (Enter)")
        self.discard_button = QPushButton("Discard (Esc)")
        self.undo_button = QPushButton("Undo (Ctrl+Z)")
        self.redo_button = QPushButton("Redo (Ctrl+Shift+Z)")
        self.negative_check = QCheckBox("negative clicks (N)")
        self.negative_check.setToolTip("plain clicks and scribbles mark what is not the object; "
                                       "Control-click or right-click is negative either way")
        self.click_button = QPushButton("Clicks (C)")
        self.box_button = QPushButton("Box (B)")
        self.scribble_button = QPushButton("Scribble (S)")
        self.lasso_button = QPushButton("Lasso (L)")
        self.propagate_button = QPushButton("Propagate through slices (P)")
        self.repropagate_check = QCheckBox("propagate again after corrections")
        self.repropagate_check.setToolTip("a click on a propagated slice corrects it, then the object is propagated "
                                          "again around it, the corrected slices kept")
        self.cancel_button = QPushButton("Cancel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setVisible(False)
        self.cancel_button.setVisible(False)
        self.edit_spin = QSpinBox()
        self.edit_spin.setRange(1, 2**31 - 1)
        self.edit_button = QPushButton("Edit label")
        self.carry_button = QPushButton("To next frame")
        self.carry_button.setToolTip("on a series of volumes (T, Z, Y, X): carry this label from the frame shown "
                                     "to the next one (T), following its motion; correct it there, Enter saves "
                                     "it under the same label")
        self.carry_button.setVisible(False)  # shown for a series of volumes
        self.status = QLabel("choose an image and press Start")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("image", self.image_combo)
        form.addRow("labels", self.labels_combo)
        form.addRow("engine", self.engine_combo)
        form.addRow("propagate with", self.propagation_combo)
        buttons = QGridLayout()
        buttons.addWidget(self.commit_button, 0, 0)
        buttons.addWidget(self.discard_button, 0, 1)
        buttons.addWidget(self.undo_button, 1, 0)
        buttons.addWidget(self.redo_button, 1, 1)
        tools = QGridLayout()
        tools.addWidget(self.click_button, 0, 0)
        tools.addWidget(self.box_button, 0, 1)
        tools.addWidget(self.scribble_button, 0, 2)
        tools.addWidget(self.lasso_button, 0, 3)
        for combo in (self.image_combo, self.labels_combo, self.engine_combo, self.propagation_combo,
                      self.points_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)  # a long layer name must not widen the dock
        self.shortcuts = FoldedText("keys and mouse",
                                    "<br>".join(f"<b>{s.key}</b>: {s.action}" for s in SHORTCUTS))
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(form)
        layout.addWidget(self.overwrite_check)
        layout.addWidget(self.each_check)
        every_point = QGridLayout()
        every_point.addWidget(self.points_combo, 0, 0)
        every_point.addWidget(self.label_points_button, 0, 1)
        layout.addLayout(every_point)
        layout.addWidget(self.slices_check)
        layout.addWidget(self.channels_check)
        layout.addWidget(self.start_button)
        layout.addLayout(tools)
        layout.addWidget(self.negative_check)
        layout.addLayout(buttons)
        edit = QGridLayout()
        edit.addWidget(QLabel("correct label"), 0, 0)
        edit.addWidget(self.edit_spin, 0, 1)
        edit.addWidget(self.edit_button, 0, 2)
        edit.addWidget(self.carry_button, 1, 2)
        layout.addLayout(edit)
        layout.addWidget(self.propagate_button)
        layout.addWidget(self.repropagate_check)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.status)
        layout.addWidget(self.shortcuts)
        layout.addStretch()
        # napari's docks do not scroll: a short window scrolls the widget instead of cutting it off
        self.scroll_area = VerticalScrollArea(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll_area)

        self.start_button.clicked.connect(lambda: self.start())
        self.commit_button.clicked.connect(self.commit)
        self.discard_button.clicked.connect(self.discard)
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self.negative_check.toggled.connect(self._set_negative_mode)
        self.each_check.toggled.connect(self._on_each_toggled)
        self.edit_button.clicked.connect(lambda: self.edit_label())
        self.carry_button.clicked.connect(lambda: self.carry_to_next_frame())
        self.propagate_button.clicked.connect(self.propagate)
        self.label_points_button.clicked.connect(lambda: self.label_points())
        self.cancel_button.clicked.connect(self.worker.cancel_propagation)
        self.worker.progressed.connect(self._on_progress)
        self.click_button.clicked.connect(self.click_mode)
        self.box_button.clicked.connect(lambda: self.shape_mode("add_rectangle"))
        self.scribble_button.clicked.connect(lambda: self.shape_mode("add_path"))
        self.lasso_button.clicked.connect(lambda: self.shape_mode("add_polygon_lasso"))
        self.image_combo.currentTextChanged.connect(self._suggest_engine)
        self.channels_check.toggled.connect(self._suggest_engine)
        self.slices_check.toggled.connect(self._suggest_engine)
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.connect(self._refresh_layer_choices)
        self.viewer.dims.events.current_step.connect(self._show_own_layers_on_their_frame)
        self._refresh_layer_choices()

    # -- layer choices -----------------------------------------------------------------
    def _refresh_layer_choices(self, *_: Any) -> None:
        own = {self.prompt_layer, self.preview_layer, self.shapes_layer}
        own |= {layer for layer in self.viewer.layers if layer.name in OWN_LAYER_NAMES}  # while being added
        chosen_image = self.image_combo.currentText()
        images = [layer.name for layer in self.viewer.layers if isinstance(layer, Image)]
        labels = [layer.name for layer in self.viewer.layers if isinstance(layer, Labels) and layer not in own]
        points = [layer.name for layer in self.viewer.layers if isinstance(layer, (Points, Shapes)) and layer not in own]
        for combo, names in ((self.image_combo, images), (self.labels_combo, [NEW_LABELS, *labels]),
                             (self.points_combo, points)):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            if current in names:
                combo.setCurrentText(current)
            elif names:
                combo.setCurrentIndex(0)  # a combo with a placeholder would otherwise choose nothing
            combo.blockSignals(False)
        if self.image_combo.currentText() != chosen_image:
            self._suggest_engine()

    def _suggest_engine(self, *_: Any) -> None:
        """The default engine for the chosen image's dimensionality, and the 2D default for
        a volume segmented slice by slice; the watershed propagating a microscope's stack
        (measured best there: docs/benchmarks.md)."""
        layer = self._layer(self.image_combo.currentText(), Image)
        volume = layer is not None and spatial_ndim(layer, self.channels_check.isChecked()) == 3
        in_3d = volume and not self.slices_check.isChecked()
        self.engine_combo.setCurrentText(default_engine(3 if in_3d else 2))
        microscopy = volume and not looks_medical(layer)
        self.propagation_combo.setCurrentText(MICROSCOPY_PROPAGATION_ENGINE if microscopy else SAME_ENGINE)

    def _layer(self, name: str, kind: type | tuple[type, ...]) -> Any:
        if name in self.viewer.layers and isinstance(self.viewer.layers[name], kind):
            return self.viewer.layers[name]
        return None

    # -- session -----------------------------------------------------------------------
    def start(self, image_layer: Image | None = None, frame: tuple[int, ...] | None = None) -> None:
        """Segment ``image_layer`` (default: the chosen one) with the chosen engine; on a
        series (e.g. (T, Z, Y, X)), the volume of ``frame`` (default: the one the viewer shows)."""
        image_layer = image_layer or self._layer(self.image_combo.currentText(), Image)
        if image_layer is None:
            show_warning("napari-iis: add an image layer first")
            return
        data = full_resolution(image_layer)
        try:
            grid = image_grid(image_layer, channels_first=self.channels_check.isChecked())
        except ValueError as error:
            show_error(f"napari-iis: {error}")
            return
        if grid.ndim not in (2, 3):
            show_error(
                f"napari-iis: '{image_layer.name}' has {grid.ndim} spatial axes besides its channels; with "
                "'first axis holds channels' ticked, (C, Y, X) and (C, Z, Y, X) images are supported: "
                "open one time point of a (C, T, Z, Y, X) series as its own layer"
            )
            return
        if grid.frames is not None:
            grid = grid.at_frame(frame if frame is not None else frame_at(image_layer, grid, self.viewer.dims.point))
            data = data[grid.frame]
        self._remove_own_layers()
        self.image_layer, self.grid = image_layer, grid
        self.carry_button.setVisible(grid.frames is not None)
        self.image_combo.setCurrentText(image_layer.name)
        self.preview_layer = self.viewer.add_layer(make_preview_layer(grid))
        self._shown_mask = None
        self.shapes_layer = self.viewer.add_layer(make_shapes_layer(grid))
        self.shapes_layer.events.data.connect(self._on_shape_drawn)
        self.prompt_layer = self.viewer.add_layer(make_prompt_layer(grid))
        self.prompt_layer.mode = "pan_zoom"
        install_click_callback(self.prompt_layer, self._on_click, lambda: self.negative_mode, self._locate_click)
        keys = {
            "Enter": self.commit, "Escape": self.discard, "Control-Z": self.undo,
            "Control-Shift-Z": self.redo, "N": lambda: self.negative_check.toggle(),
            "C": self.click_mode, "B": lambda: self.shape_mode("add_rectangle"),
            "S": lambda: self.shape_mode("add_path"),
            "L": lambda: self.shape_mode("add_polygon_lasso"),
            "P": self.propagate, "T": lambda: self.carry_to_next_frame(),
        }
        bind_keys(self.prompt_layer, keys)
        bind_keys(self.shapes_layer, {k: v for k, v in keys.items() if k != "Escape"})
        self.viewer.layers.selection.active = self.prompt_layer
        self._show_own_layers_on_their_frame()
        engine_name = self.engine_combo.currentText()
        spacing = tuple(float(s) for s in grid.scale)
        slice_mode = True if self.slices_check.isChecked() and grid.ndim == 3 else None
        self.status.setText(f"loading engine {engine_name}…")
        self._close_loading()
        self._loading = progress(total=0, desc=f"napari-iis: loading {engine_name}")
        window = chosen_window(image_layer)
        self.worker.submit("open", lambda: InteractiveSession(
            data, channel_axis=grid.channel_axis, spacing=spacing, engine=self._engine(engine_name),
            slice_mode=slice_mode, intensity_window=window, slice_engine=self._slice_engine(engine_name, grid.ndim),
            propagation_engine=self._propagation_engine(grid.ndim)))

    def _engine(self, name: str) -> Engine:
        """Engines are created once per widget, in the worker thread."""
        if name not in self._engines:
            self._engines[name] = create_engine(name)
        return self._engines[name]

    def _slice_engine(self, name: str, ndim: int) -> Engine | None:
        """The 2D engine for slices and propagation when the chosen engine works in 3D only."""
        if ndim != 3 or 2 in self._engine(name).capabilities.ndims:
            return None
        return self._engine(default_engine(2))

    def _propagation_engine(self, ndim: int) -> Engine | None:
        name = self.propagation_combo.currentText()
        return None if ndim != 3 or name == SAME_ENGINE else self._engine(name)

    def _remove_own_layers(self) -> None:
        for layer in (self.prompt_layer, self.preview_layer, self.shapes_layer):
            if layer is not None and layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.prompt_layer = self.preview_layer = self.shapes_layer = None

    def click_mode(self) -> None:
        """Clicks on the canvas add points (the default tool)."""
        if self.prompt_layer is not None:
            self.viewer.layers.selection.active = self.prompt_layer

    def shape_mode(self, mode: str) -> None:
        """Drag a box (``add_rectangle``), paint a scribble (``add_path``) or draw a lasso
        around the object (``add_polygon_lasso``)."""
        if self.shapes_layer is None:
            return
        if self.viewer.dims.ndisplay == 3:
            show_info("napari-iis: boxes, scribbles and lassos are drawn in the 2D view (Ctrl-Y switches); "
                      "clicks work in both")
            return
        self.viewer.layers.selection.active = self.shapes_layer
        self.shapes_layer.mode = mode

    # -- actions -----------------------------------------------------------------------
    def _locate_click(self, press: Any) -> tuple[float, ...] | None:
        position = click_world_position(self.image_layer, press)
        if position is None:
            show_info("napari-iis: the 3D view shows nothing of the image under that click; click on the object itself")
        return position

    def _on_click(self, world_position: tuple[float, ...], positive: bool) -> None:
        if self.image_layer is None or self.prompt_layer is None or self.grid is None:
            return
        if not self._follow_frame(frame_at(self.image_layer, self.grid, world_position)):
            return
        position = tuple(float(v) for v in self.image_layer.world_to_data(world_position))
        self.add_click(position[-self.grid.ndim:], positive)

    def _follow_frame(self, frame: tuple[int, ...]) -> bool:
        """On a series, move the session to ``frame`` (the one clicked or shown) unless an
        object is in progress on another; False where the prompt must wait."""
        if self.grid is None or frame == self.grid.frame:
            return True
        if (self._shown_mask is not None and self._shown_mask.area) or self.editing_label is not None:
            show_warning(f"napari-iis: the object in progress is on frame {frame_text(self.grid.frame)}: "
                         "commit it (Enter) or discard it (Esc), then prompt on this frame")
            return False
        self.start(self.image_layer, frame)
        return True

    def _show_own_layers_on_their_frame(self, *_: Any) -> None:
        """A series' prompts and current object are one frame's: hidden on the others."""
        if self.image_layer is None or self.grid is None or self.grid.frames is None:
            return
        on_frame = frame_at(self.image_layer, self.grid, self.viewer.dims.point) == self.grid.frame
        for layer in (self.prompt_layer, self.preview_layer, self.shapes_layer):
            if layer is not None:
                layer.visible = on_frame

    def add_click(self, position: tuple[float, ...], positive: bool = True) -> None:
        """A click at ``position`` in the image's data coordinates."""
        from .core.prompts import Click

        if self._refused_one_per_object(Click(tuple(position), positive)):
            return
        if self.prompt_layer is not None:
            self.prompt_layer.add(np.asarray([position]))
            self.prompt_layer.features.loc[len(self.prompt_layer.data) - 1, "positive"] = positive
        self.add_prompt(Click(tuple(position), positive))

    def _on_shape_drawn(self, event: Any) -> None:
        if self._showing_shapes or self.shapes_layer is None or getattr(event, "action", "added") != "added":
            return
        layer = self.shapes_layer
        prompt = shape_to_prompt(layer.shape_type[-1], layer.data[-1], positive=not self.negative_mode)
        if prompt is None:
            show_error("napari-iis: draw a rectangle (box) or a path (scribble)")
            return
        if self.image_layer is not None and self.grid is not None:
            if not self._follow_frame(frame_at(self.image_layer, self.grid, self.viewer.dims.point)):
                return
        self.add_prompt(prompt)

    def add_prompt(self, prompt: Any) -> None:
        """A box, scribble, lasso or click prompt, in the image's data coordinates; with
        *one click per object* it is a new object, committed at once; with *propagate
        again* ticked, a correction of a propagated object re-propagates it."""
        if self._refused_one_per_object(prompt):
            return
        if self.each_check.isChecked() and self.editing_label is None:
            self.worker.submit("reset")
            self.worker.submit("prompt", prompt)
            self.commit()
            return
        shown = None if self._shown_mask is None else self._shown_mask.bbox()
        propagated = shown is not None and self.grid is not None and self.grid.ndim == 3 and shown[1][0] > shown[0][0]
        self.worker.submit("prompt", prompt)
        if propagated and self.repropagate_check.isChecked() and self.slices_check.isChecked():
            self.propagate()

    def _refused_one_per_object(self, prompt: Any) -> bool:
        """One click per object takes positive prompts only: a negative one has no object to correct."""
        if not self.each_check.isChecked() or self.editing_label is not None or getattr(prompt, "positive", True):
            return False
        show_warning("napari-iis: one click per object: each click makes a new object, so negative prompts "
                     "have nothing to correct; untick it (or use Edit label) to refine an object")
        return True

    def _on_each_toggled(self, on: bool) -> None:
        """Switching to one click per object first commits the object in progress."""
        if on and self._shown_mask is not None and self._shown_mask.area:
            self.commit()

    def _label_on_frame_shown(self, label_id: int, purpose: str) -> np.ndarray | None:
        """The mask of ``label_id`` of the target labels layer on the frame shown (the
        session moved there), or None, said why, where there is none to ``purpose``."""
        labels = self._layer(self.labels_combo.currentText(), Labels)
        if labels is None:
            show_warning(f"napari-iis: choose the labels layer that holds the object to {purpose}")
            return None
        if self.grid is None or self.image_layer is None:
            show_warning("napari-iis: press Start on the image first")
            return None
        if not self._follow_frame(frame_at(self.image_layer, self.grid, self.viewer.dims.point)):
            return None
        try:
            mask = frame_labels(labels, self.grid.frame, self.grid.shape) == label_id
        except ValueError as error:
            show_error(f"napari-iis: {error}")
            return None
        if not mask.any():
            on_frame = f" on frame {frame_text(self.grid.frame)}" if self.grid.frame else ""
            show_warning(f"napari-iis: label {label_id} is not in '{labels.name}'{on_frame}")
            return None
        return mask

    def edit_label(self, label_id: int | None = None) -> None:
        """Refine an existing object of the target labels layer: its mask seeds the session."""
        label_id = int(label_id or self.edit_spin.value())
        mask = self._label_on_frame_shown(label_id, "correct")
        if mask is None:
            return
        self.editing_label = label_id
        self.worker.submit("initial_mask", mask)
        self.click_mode()
        self.status.setText(f"correcting label {label_id}: click to refine, Enter to save")

    def carry_to_next_frame(self, label_id: int | None = None) -> None:
        """Carry a label of a series' frame shown to the next frame (along the last frame
        axis): it becomes the object in progress there, to correct; Enter writes it under
        the same label id, so an object keeps its label through time."""
        label_id = int(label_id or self.edit_spin.value())
        if self.grid is not None and self.grid.frames is None:
            show_warning("napari-iis: carrying a label to the next frame works on a series of volumes (T, Z, Y, X); "
                         "on a 2D time lapse (T, Y, X) segment the object on one frame and propagate it (P)")
            return
        prior = self._label_on_frame_shown(label_id, "carry")
        if prior is None:
            return
        assert self.image_layer is not None and self.grid is not None and self.grid.frames is not None
        frame = self.grid.frame
        following = frame[:-1] + (frame[-1] + 1,)
        if following[-1] >= self.grid.frames.shape[-1]:
            show_warning(f"napari-iis: frame {frame_text(frame)} is the series' last")
            return
        self.start(self.image_layer, following)
        self._show_frame(following)
        self.editing_label = label_id
        self._show_progress()
        self.status.setText(f"carrying label {label_id} to frame {frame_text(following)}…")
        generation = self.worker.submit("carry", ObjectToCarry(prior, full_resolution(self.image_layer)[frame]))
        self._carry = CarryUnderWay(generation, label_id, frame)

    def _show_frame(self, frame: tuple[int, ...]) -> None:
        """Move the viewer's sliders to ``frame`` of the image's leading axes."""
        assert self.image_layer is not None and self.grid is not None and self.grid.frames is not None
        offset = self.viewer.dims.ndim - self.image_layer.ndim
        frames = self.grid.frames
        for axis, index in enumerate(frame):
            self.viewer.dims.set_point(offset + axis, frames.translate[axis] + index * frames.scale[axis])

    def label_points(self, layer: Points | Shapes | None = None) -> None:
        """Segment an object at each point of a Points layer, or each box, lasso or scribble
        of a Shapes layer (default: the chosen one), in the background with a progress bar;
        each becomes a new label of the target layer."""
        layer = layer or self._layer(self.points_combo.currentText(), (Points, Shapes))
        if self.image_layer is None or self.grid is None:
            show_warning("napari-iis: press Start on the image first")
            return
        if layer is None:
            show_warning("napari-iis: add a Points layer with a point on each object (e.g. from a spot detector), "
                         "or a Shapes layer with a box around each")
            return
        image = self.image_layer
        try:
            per_frame = objects_by_frame(layer, image, self.grid, frame_at(image, self.grid, self.viewer.dims.point))
        except ValueError as error:
            show_error(f"napari-iis: {error}")
            return
        if self._shown_mask is not None and self._shown_mask.area and self.editing_label is None:
            self.commit()  # the object in progress is kept, not replaced
        self._show_progress()
        run_total, done_before = sum(len(objects) for objects in per_frame.values()), 0
        for frame, objects in per_frame.items():  # a series: each frame with prompts, in order
            if frame != self.grid.frame:
                self.start(image, frame)
            self.worker.submit("label_objects", ObjectsToLabel(objects, layer.name, frame, done_before > 0,
                                                               done_before, run_total))
            done_before += len(objects)
        on_frames = f" on {len(per_frame)} frames" if len(per_frame) > 1 else ""
        self.status.setText(f"labelling {run_total} objects{on_frames} from '{layer.name}'…")

    def propagate(self) -> None:
        """Carry the current object through the volume from the slice of the last prompt;
        slices corrected by hand (prompts on them) are kept."""
        if self.grid is None or self.grid.ndim != 3:
            show_warning("napari-iis: propagation works on 3D images")
            return
        self._show_progress()
        self.status.setText("propagating…")
        self.worker.submit("propagate", None)

    def _show_progress(self) -> None:
        """The progress bar and Cancel, for a run in the background (hidden when it is done)."""
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.cancel_button.setVisible(True)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setMaximum(total)
        self.progress_bar.setValue(done)
        if done >= total:
            self.progress_bar.setVisible(False)
            self.cancel_button.setVisible(False)

    def commit(self) -> None:
        """The object goes to the frame its session is on, even where the next report
        arrives after the session moved to another frame."""
        self.worker.submit("commit", self.grid.frame if self.grid is not None else ())

    def discard(self) -> None:
        self.editing_label = None
        self.worker.submit("reset")

    def undo(self) -> None:
        self.worker.submit("undo")

    def redo(self) -> None:
        self.worker.submit("redo")

    def _set_negative_mode(self, negative: bool) -> None:
        self.negative_mode = negative

    # -- results -----------------------------------------------------------------------
    def _on_busy(self, busy: bool) -> None:
        if busy:
            self.status.setText("segmenting…")

    def _close_loading(self) -> None:
        if self._loading is not None:
            self._loading.close()
            self._loading = None

    def _on_report(self, report: WorkerReport) -> None:
        self.last_report = report
        if report.session_ready or (self._loading is not None and report.errors):
            self._close_loading()
        for error in report.errors:
            show_error(f"napari-iis: {error}")
        if not self.worker.is_stale(report) and self.preview_layer is not None:
            self._show_current(report)
        for mask, frame in zip(report.committed, report.committed_frames):
            self._write_committed(mask, frame)
        if report.labelled:
            self._write_labelled(report)

    def _show_current(self, report: WorkerReport) -> None:
        assert self.preview_layer is not None
        for layer in (self.preview_layer, self.shapes_layer, self.prompt_layer):
            if layer is not None and layer not in self.viewer.layers:  # removed by hand: shown again
                self.viewer.add_layer(layer)
        if report.mask is not None:
            show_mask(self.preview_layer, report.mask, self._shown_mask)
            self._shown_mask = report.mask
        if self.prompt_layer is not None:
            show_clicks(self.prompt_layer, report.prompts)
        if self.shapes_layer is not None:
            self._showing_shapes = True
            try:
                show_shapes(self.shapes_layer, report.prompts)
            finally:
                self._showing_shapes = False
        carried = self._carry if self._carry is not None and report.generation >= self._carry.generation else None
        if carried is not None:
            self._carry = None
        if report.session_ready and carried is None:
            on_frame = f" on frame {frame_text(self.grid.frame)}" if self.grid is not None and self.grid.frame else ""
            self.status.setText(f"ready{on_frame}: click on an object (Control-click where the mask is wrong)")
        elif not report.errors:
            count = len(report.prompts)
            text = f"current object: {_extent_text(report.mask, self.grid)}, {count} prompt{'' if count == 1 else 's'}"
            planes = sorted({int(round(c[0])) for p in report.prompts for c in p.coordinates()})
            if self.slices_check.isChecked() and self.grid is not None and self.grid.ndim == 3 and len(planes) > 1:
                text += f"; slices {', '.join(map(str, planes))} stay as corrected when you propagate"
            for end in report.propagation_ends:
                text += f"; not carried to slice {end.plane}: {end.reason}"
            if carried is not None:
                text = f"label {carried.label} carried from frame {frame_text(carried.frame)}: {text}; Enter saves it"
            self.status.setText(text)
        elif self.status.text().endswith("…"):  # what was under way failed: say why there too
            self.status.setText(report.errors[-1])

    def _target_labels(self) -> Labels:
        chosen = self._layer(self.labels_combo.currentText(), Labels)
        if chosen is not None:
            return chosen
        assert self.image_layer is not None and self.grid is not None
        layer = self.viewer.add_layer(make_target_labels(self.grid, LABELS_LAYER_NAME, self.image_layer.metadata))
        self._refresh_layer_choices()
        self.labels_combo.setCurrentText(layer.name)
        if self.prompt_layer is not None:
            self.viewer.layers.selection.active = self.prompt_layer
        return layer

    def _write_committed(self, mask: np.ndarray, frame: tuple[int, ...] = ()) -> None:
        editing, self.editing_label = self.editing_label, None
        if not mask.any() and editing is None:
            show_info("napari-iis: nothing to commit, the object is empty")
            return
        labels = self._target_labels()
        label_id = editing if editing is not None else next_free_label(labels)
        try:
            written = write_object(labels, mask, label_id, overwrite=self.overwrite_check.isChecked(),
                                   replace=editing is not None, frame=frame)
        except ValueError as error:
            show_error(f"napari-iis: {error}")
            return
        self.edit_spin.setValue(label_id)  # the label to correct, or to carry to the next frame, is the last one
        size = self.grid.physical_size(written) if self.grid is not None else None
        self.status.setText(f"committed label {label_id} ({written} {'voxels' if mask.ndim == 3 else 'pixels'}"
                            f"{f', {size}' if size else ''}) to '{labels.name}'")

    def _write_labelled(self, report: WorkerReport) -> None:
        """Each frame's labels to its frame; the status sums up the whole run, whose frames
        may arrive in several reports."""
        labels = self._target_labels()
        for run in report.labelled:
            if not run.request.continues_run:
                self._labelling_run = LabellingSummary(run.request.source)
            try:
                first, written = write_label_image(labels, run.labels, overwrite=self.overwrite_check.isChecked(),
                                                   frame=run.request.frame)
            except ValueError as error:
                show_error(f"napari-iis: {error}")
                return
            self._labelling_run.add(range(first, first + written), run.segmented, len(run.request.objects),
                                    run.request.frame)
        self.status.setText(self._labelling_run.describe(labels.name))

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        self._close_loading()
        self.worker.close()
        super().closeEvent(event)


@dataclass(frozen=True)
class CarryUnderWay:
    """A label being carried to the next frame: the worker's generation that does it."""

    generation: int
    label: int
    frame: tuple[int, ...]  # carried from


@dataclass
class LabellingSummary:
    """What a *Label each* run wrote so far, over the frames of a series."""

    source: str
    ids: list[int] = field(default_factory=list)
    segmented: int = 0
    requested: int = 0
    frames: set[tuple[int, ...]] = field(default_factory=set)

    def add(self, ids: range, segmented: int, requested: int, frame: tuple[int, ...]) -> None:
        self.ids += ids
        self.segmented += segmented
        self.requested += requested
        self.frames.add(frame)

    def describe(self, layer_name: str) -> str:
        ids = self.ids
        named = f"labels {ids[0]}–{ids[-1]}" if len(ids) > 1 else f"label {ids[0]}" if ids else "nothing"
        text = f"{len(ids)} object{'s' * (len(ids) != 1)} from '{self.source}' written to '{layer_name}' ({named})"
        if len(self.frames) > 1:
            text += f" on {len(self.frames)} frames"
        if self.segmented < self.requested:
            text += f"; cancelled after {self.segmented} of {self.requested} objects, those are kept"
        return text


def _extent_text(mask: SparseMask | None, grid: ImageGrid | None) -> str:
    """The object's size (in the image's units where it has them), and on a volume the
    slices it spans (where a propagation ended)."""
    if mask is None or mask.area == 0:
        return "empty"
    size = grid.physical_size(mask.area) if grid is not None else None
    physical = f" ({size})" if size else ""
    if mask.data.ndim != 3:
        return f"{mask.area} pixels{physical}"
    planes = np.flatnonzero(mask.data.any(axis=(1, 2))) + mask.offset[0]
    span = f"slice {planes[0]}" if len(planes) == 1 else f"slices {planes[0]}–{planes[-1]}"
    return f"{mask.area} voxels{physical} on {span}"
