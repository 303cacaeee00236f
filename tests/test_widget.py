"""The widget in a real napari viewer (under Xvfb), driven by real mouse and key events."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtTest import QTest

from conftest import disk_image, nuclei_beside_nan_padding, nuclei_series
from napari_iis.core.metrics import dice, iou
from napari_iis.napari_glue.picking import viewer_camera
from napari_iis.sample_data import load_sample
from napari_iis.widget import LABELS_LAYER_NAME, SegmentationWidget


@pytest.fixture
def viewer_and_widget(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)

    def start(image, channels_first=False, engine=None, **kwargs):
        layer = viewer.add_image(image, **kwargs)
        _, widget = viewer.window.add_plugin_dock_widget("napari-iis", "Interactive segmentation")
        assert isinstance(widget, SegmentationWidget)
        widget.channels_check.setChecked(channels_first)
        if engine is not None:
            widget.engine_combo.setCurrentText(engine)
            assert widget.engine_combo.currentText() == engine
        widget.start(layer)
        wait_idle(qtbot, widget)
        assert widget._loading is None, "the loading indicator must close once the engine is ready"
        viewer.reset_view()
        qtbot.wait(50)
        return layer, widget

    yield viewer, start


def wait_idle(qtbot, widget: SegmentationWidget) -> None:
    qtbot.waitUntil(
        lambda: widget.last_report is not None
        and widget.last_report.generation == widget.worker.latest_generation,
        timeout=30_000,
    )


def canvas(viewer):
    return viewer.window._qt_viewer.canvas.native


def click(viewer, layer, data_yx, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    """A real mouse click on the canvas at the image's data coordinate (y, x)."""
    QTest.mouseClick(canvas(viewer), button, modifier, canvas_point(viewer, layer, data_yx))


def canvas_point(viewer, layer, data_yx) -> QPoint:
    """Where the image's data coordinate (y, x) of the slice on screen is on the canvas."""
    leading = list(viewer.dims.current_step[: layer.ndim - 2])
    world = np.asarray(layer.data_to_world([*leading, *data_yx]))
    native = canvas(viewer)
    centre, zoom = viewer_camera(viewer).center, viewer_camera(viewer).zoom
    x = (world[-1] - centre[-1]) * zoom + native.width() / 2
    y = (world[-2] - centre[-2]) * zoom + native.height() / 2
    return QPoint(int(round(x)), int(round(y)))


def drag(viewer, layer, path_yx, qtbot):
    """A real left-button drag on the canvas through the image coordinates ``path_yx``."""
    from qtpy.QtCore import QEvent, QPointF
    from qtpy.QtGui import QMouseEvent
    from qtpy.QtWidgets import QApplication

    native = canvas(viewer)
    points = [canvas_point(viewer, layer, p) for p in path_yx]
    QTest.mousePress(native, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    for point in points[1:]:
        local = QPointF(point)
        move = QMouseEvent(QEvent.Type.MouseMove, local, native.mapToGlobal(local), Qt.MouseButton.NoButton,
                           Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(native, move)
        qtbot.wait(10)
    QTest.mouseRelease(native, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def press(viewer, key, modifier=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(canvas(viewer), key, modifier)


def test_clicks_commit_undo_and_escape_on_the_canvas(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, labels = load_sample("nuclei")
    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    order = ids[np.argsort(areas)[::-1]]
    first, second = labels == order[0], labels == order[1]
    layer, widget = start(image, scale=(0.5, 0.5))
    assert not widget.carry_button.isVisible(), "no next frame to carry to on one image"

    click(viewer, layer, np.argwhere(first).mean(axis=0))
    wait_idle(qtbot, widget)
    one_click = widget.preview_layer.data > 0
    assert one_click.any() and one_click[tuple(np.argwhere(first).mean(axis=0).astype(int))]
    assert list(widget.prompt_layer.features["positive"]) == [True]

    # a negative (Control) click on a pixel the mask covers shrinks it: one it wrongly
    # covers if there is any, else the covered pixel farthest from the first click
    wrong = np.argwhere(one_click & ~first)
    if not len(wrong):
        covered = np.argwhere(one_click)
        wrong = covered[[np.argmax(((covered - np.argwhere(first).mean(axis=0)) ** 2).sum(axis=1))]]
    negative = wrong[len(wrong) // 2]
    click(viewer, layer, negative, modifier=Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, widget)
    corrected = widget.preview_layer.data > 0
    # the clicked pixel leaves the mask, which then wrongly covers less than before
    assert not corrected[tuple(negative)]
    assert (corrected & ~first).sum() < max(1, (one_click & ~first).sum())
    assert list(widget.prompt_layer.features["positive"]) == [True, False]

    press(viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the negative click
    wait_idle(qtbot, widget)
    assert np.array_equal(widget.preview_layer.data > 0, one_click)
    assert len(widget.prompt_layer.data) == 1

    press(viewer, Qt.Key.Key_Return)  # commit: label 1
    wait_idle(qtbot, widget)
    target = viewer.layers[LABELS_LAYER_NAME]
    assert np.array_equal(np.asarray(target.data) == 1, one_click)
    assert not (widget.preview_layer.data > 0).any() and len(widget.prompt_layer.data) == 0

    click(viewer, layer, np.argwhere(second).mean(axis=0))
    wait_idle(qtbot, widget)
    widget.commit_button.click()  # commit: label 2, never over label 1
    wait_idle(qtbot, widget)
    written = np.asarray(target.data)
    assert (written == 2).any()
    assert np.array_equal(written == 1, one_click)

    click(viewer, layer, np.argwhere(labels == order[2]).mean(axis=0))
    wait_idle(qtbot, widget)
    assert (widget.preview_layer.data > 0).any()
    press(viewer, Qt.Key.Key_Escape)  # discard
    wait_idle(qtbot, widget)
    assert not (widget.preview_layer.data > 0).any()
    assert np.asarray(target.data).max() == 2

    target.undo()  # napari's own history holds the committed writes
    assert np.asarray(target.data).max() == 1


def test_a_click_on_a_nucleus_cut_by_nan_padding_segments_and_commits(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    padded, _, nucleus = nuclei_beside_nan_padding()
    layer, widget = start(padded)

    click(viewer, layer, np.argwhere(nucleus).mean(axis=0))
    wait_idle(qtbot, widget)
    assert iou(nucleus, widget.preview_layer.data > 0) > 0.8
    press(viewer, Qt.Key.Key_Return)
    wait_idle(qtbot, widget)
    assert iou(nucleus, np.asarray(viewer.layers[LABELS_LAYER_NAME].data) == 1) > 0.8


def test_one_click_per_object_commits_each_nucleus_as_its_own_label(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, labels = load_sample("nuclei")
    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    nuclei = [labels == i for i in ids[np.argsort(areas)[::-1][:3]]]
    centres = [tuple(np.argwhere(n).mean(axis=0).astype(int)) for n in nuclei]
    layer, widget = start(image)
    click(viewer, layer, centres[0])  # an object in progress ...
    wait_idle(qtbot, widget)
    in_progress = widget.preview_layer.data > 0
    widget.each_check.setChecked(True)  # ... is committed when the mode is switched on: label 1
    for centre in centres[1:]:
        click(viewer, layer, centre)  # no Enter: labels 2 and 3
    wait_idle(qtbot, widget)
    written = np.asarray(viewer.layers[LABELS_LAYER_NAME].data)
    assert sorted(np.unique(written).tolist()) == [0, 1, 2, 3]
    assert np.array_equal(written == 1, in_progress)
    for label_id, (nucleus, centre) in enumerate(zip(nuclei, centres), start=1):
        assert written[centre] == label_id and dice(nucleus, written == label_id) > 0.5
    assert not (widget.preview_layer.data > 0).any() and len(widget.prompt_layer.data) == 0
    assert widget.status.text().startswith("committed label 3 (")
    # a negative click has no object to correct: refused, nothing written
    click(viewer, layer, np.argwhere(labels == 0)[0], modifier=Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(200)
    assert np.array_equal(np.asarray(viewer.layers[LABELS_LAYER_NAME].data), written)
    assert len(widget.prompt_layer.data) == 0


def test_every_point_of_a_points_layer_becomes_a_label_after_those_already_there(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, labels = load_sample("nuclei")
    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    nuclei = [labels == i for i in ids[areas >= 150][:6]]
    centres = np.asarray([np.argwhere(n).mean(axis=0) for n in nuclei])
    kept = labels == ids[-1]  # not among the nuclei pointed at
    existing = viewer.add_labels(kept.astype(np.uint32), name="my labels", scale=(0.5, 0.5))
    layer, widget = start(image, scale=(0.5, 0.5))
    widget.labels_combo.setCurrentText("my labels")
    assert widget.points_combo.count() == 0  # the widget's own prompt layers are not offered
    # a detector's points, in world coordinates on a layer of its own scale; the last two share an object
    spots = viewer.add_points(np.vstack([centres, centres[-1:] + 2]) * 0.5, name="spots",
                              features={"object": [1, 2, 3, 4, 5, 6, 6]})
    assert widget.points_combo.currentText() == "spots"
    widget.label_points()
    wait_idle(qtbot, widget)
    written = np.asarray(existing.data)
    assert sorted(np.unique(written).tolist()) == [0, 1, 2, 3, 4, 5, 6, 7]  # 6 objects after label 1
    assert np.array_equal(written == 1, kept)  # the object already there is kept
    assert np.mean([iou(nucleus, written == label_id) for label_id, nucleus in enumerate(nuclei, start=2)]) > 0.7
    assert widget.status.text().startswith("6 objects from 'spots' written to 'my labels' (labels 2–7)")
    assert len(spots.data) == 7 and not (widget.preview_layer.data > 0).any()


def test_every_box_of_a_shapes_layer_becomes_a_label(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, labels = load_sample("nuclei")
    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    nuclei = [labels == i for i in ids[areas >= 150][:4]]
    layer, widget = start(image)
    boxes = []
    for nucleus in nuclei:
        (y0, x0), (y1, x1) = np.argwhere(nucleus).min(axis=0), np.argwhere(nucleus).max(axis=0)
        boxes.append(np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]], dtype=float))
    detections = viewer.add_shapes(boxes, shape_type="rectangle", name="detections")
    widget.points_combo.setCurrentText("detections")
    widget.label_points()
    wait_idle(qtbot, widget)
    written = np.asarray(viewer.layers[LABELS_LAYER_NAME].data)
    assert np.mean([iou(n, written == k) for k, n in enumerate(nuclei, start=1)]) > 0.75
    assert len(detections.data) == 4


def test_cancelling_a_labelling_run_keeps_the_objects_done(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, labels = load_sample("nuclei")
    centres = [np.argwhere(labels == i).mean(axis=0) for i in np.unique(labels[labels > 0])]
    layer, widget = start(image)
    viewer.add_points(np.asarray(centres), name="all nuclei")
    widget.label_points()
    qtbot.waitUntil(lambda: widget.progress_bar.value() >= 3, timeout=30_000)
    widget.cancel_button.click()
    wait_idle(qtbot, widget)
    done = int(widget.status.text().split("cancelled after ")[1].split(" of")[0])
    assert 3 <= done < len(centres)
    written = np.asarray(viewer.layers[LABELS_LAYER_NAME].data)
    assert 0 < len(np.unique(written[written > 0])) <= done
    assert not widget.progress_bar.isVisible()


def test_the_current_object_layer_removed_by_hand_comes_back_with_the_next_click(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, truth = disk_image()
    layer, widget = start(image)
    viewer.layers.remove(widget.preview_layer.name)
    click(viewer, layer, (48, 60))
    wait_idle(qtbot, widget)
    assert widget.preview_layer.name in viewer.layers
    assert iou(truth, viewer.layers[widget.preview_layer.name].data > 0) > 0.85


def test_rgb_image(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, truth = disk_image()
    rgb = (np.stack([image, image, image], -1).clip(0, 1) * 255).astype(np.uint8)
    layer, widget = start(rgb, rgb=True)
    click(viewer, layer, (48, 60))
    wait_idle(qtbot, widget)
    assert widget.preview_layer.data.shape == truth.shape
    assert iou(truth, widget.preview_layer.data > 0) > 0.85


def click_on_slice(viewer, layer, widget, qtbot, plane: int, data_yx,
                   modifier=Qt.KeyboardModifier.NoModifier) -> None:
    viewer.dims.set_current_step(0, plane)
    qtbot.wait(50)
    click(viewer, layer, data_yx, modifier=modifier)
    wait_idle(qtbot, widget)


@pytest.mark.parametrize("engine", ["watershed", "network3d"])
def test_volume_click_on_a_slice_segments_the_whole_object(viewer_and_widget, qtbot, engine):
    viewer, start = viewer_and_widget
    volume, truth = disk_image(shape=(20, 60, 70), centre=(10, 30, 35), radius=9)
    layer, widget = start(volume, engine=engine)
    click_on_slice(viewer, layer, widget, qtbot, 13, (30, 35))
    assert widget.prompt_layer.data[0][0] == pytest.approx(13)
    mask = widget.preview_layer.data > 0
    assert mask.shape == truth.shape and iou(truth, mask) > 0.75
    assert mask[3:8].any() and mask[12:17].any()  # slices above and below the clicked one


def two_balls_at_two_depths():
    """A (40, 64, 64) volume with a ball of radius 6 at (8, 20, 20) and a brighter one at
    (30, 44, 44), and their masks."""
    zz, yy, xx = np.mgrid[:40, :64, :64]
    near = (zz - 8) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2 < 36
    far = (zz - 30) ** 2 + (yy - 44) ** 2 + (xx - 44) ** 2 < 36
    volume = 0.6 * near + 1.0 * far + np.random.default_rng(0).normal(0, 0.05, near.shape)
    return volume.astype(np.float32), near, far


@pytest.mark.parametrize(("rendering", "scale"), [("mip", (1, 1, 1)), ("iso", (1, 1, 1)), ("mip", (2.5, 0.5, 0.5))])
def test_a_click_in_the_3d_view_lands_on_the_ball_under_the_cursor(viewer_and_widget, qtbot, rendering, scale):
    viewer, start = viewer_and_widget
    volume, near, far = two_balls_at_two_depths()
    layer, widget = start(volume, engine="watershed", rendering=rendering, iso_threshold=0.3, scale=scale)
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    qtbot.wait(50)
    for (y, x), ball, depth in (((20, 20), near, 8), ((44, 44), far, 30)):
        click(viewer, layer, (y, x))
        wait_idle(qtbot, widget)
        assert widget.prompt_layer.data[-1][0] == pytest.approx(depth, abs=1)
        assert iou(ball, widget.preview_layer.data > 0) > 0.6  # the watershed's, 0.68 on the scaled stack
        press(viewer, Qt.Key.Key_Escape)
        wait_idle(qtbot, widget)  # the discard clears the prompts when its report arrives
    count = len(widget.prompt_layer.data)
    click(viewer, layer, (-30, -30))  # beside the volume: no click
    qtbot.wait(200)
    assert len(widget.prompt_layer.data) == count
    press(viewer, Qt.Key.Key_B)  # boxes are drawn in 2D: the click tool stays
    assert viewer.layers.selection.active.name == widget.prompt_layer.name
    assert widget.shapes_layer.mode == "pan_zoom"



def test_a_click_in_the_3d_view_of_a_series_lands_on_the_ball_of_the_frame_shown(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    volume, near, _ = two_balls_at_two_depths()
    series = np.stack([volume, volume[::-1]])  # frame 1: the dim ball deep down, at z 31
    layer, widget = start(series, engine="watershed", rendering="mip")
    viewer.dims.ndisplay = 3
    viewer.dims.set_current_step(0, 1)
    viewer.reset_view()
    qtbot.wait(50)
    click(viewer, layer, (20, 20))
    wait_idle(qtbot, widget)
    assert widget.grid.frame == (1,) and widget.prompt_layer.data[-1][0] == pytest.approx(31, abs=1)
    assert iou(near[::-1], widget.preview_layer.data > 0) > 0.6

def test_a_click_in_the_3d_view_of_a_plane_lands_on_the_plane(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    volume, _, far = two_balls_at_two_depths()
    layer, widget = start(volume, engine="watershed", depiction="plane",
                          plane={"position": (30, 32, 32), "normal": (1, 0, 0)})
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    qtbot.wait(50)
    click(viewer, layer, (44, 44))
    wait_idle(qtbot, widget)
    assert widget.prompt_layer.data[-1][0] == pytest.approx(30)
    assert iou(far, widget.preview_layer.data > 0) > 0.7


def test_multichannel_image_with_its_channel_axis_chosen(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, truth = disk_image(shape=(96, 128), centre=(48, 60), radius=18)
    noise = np.random.default_rng(1).random(image.shape).astype(np.float32)
    layer, widget = start(np.stack([image, noise]), channels_first=True, scale=(1, 0.5, 0.5),
                          translate=(0, 10.0, -5.0))
    assert widget.grid.shape == (96, 128) and widget.preview_layer.ndim == 2
    click(viewer, layer, (48, 60))
    wait_idle(qtbot, widget)
    assert iou(truth, widget.preview_layer.data > 0) > 0.75
    press(viewer, Qt.Key.Key_Return)
    wait_idle(qtbot, widget)
    labels = viewer.layers[LABELS_LAYER_NAME]
    assert labels.data.shape == (96, 128) and tuple(labels.scale) == (0.5, 0.5)
    assert tuple(labels.translate) == (10.0, -5.0)
    assert iou(truth, labels.data == 1) > 0.75


def test_time_series_frames_are_segmented_one_by_one(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    frames = [disk_image(shape=(64, 80), centre=(32, 20 + 4 * t), radius=10) for t in range(6)]
    movie = np.stack([image for image, _ in frames])
    viewer.dims.current_step = (0, 0, 0)
    layer, widget = start(movie)
    widget.slices_check.setChecked(True)
    widget.start(layer)
    wait_idle(qtbot, widget)
    viewer.dims.current_step = (3, 0, 0)
    click(viewer, layer, (32, 32))
    wait_idle(qtbot, widget)
    mask = widget.preview_layer.data > 0
    assert mask[3].any() and not mask[[0, 1, 2, 4, 5]].any()
    assert iou(frames[3][1], mask[3]) > 0.75


def test_errors_become_notifications_and_keep_the_labels(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, _ = disk_image()
    layer, widget = start(image)
    widget.add_click((500.0, 500.0))  # outside the image
    wait_idle(qtbot, widget)
    assert widget.last_report.errors and "outside the image" in widget.last_report.errors[0]
    assert not (widget.preview_layer.data > 0).any()


def test_demo_command_opens_the_viewer_with_sample_and_widget():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "napari_iis.cli", "demo", "--no-event-loop"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "nuclei (DSB 2018)" in result.stdout and "iis prompts" in result.stdout
    assert "Interactive segmentation" in result.stdout


def test_box_then_negative_scribble_from_the_shapes_layer(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, truth = disk_image()
    layer, widget = start(image)
    press(viewer, Qt.Key.Key_B)  # the box tool
    assert viewer.layers.selection.active.name == widget.shapes_layer.name
    assert widget.shapes_layer.mode == "add_rectangle"
    drag(viewer, layer, [(26, 38), (48, 60), (70, 82)], qtbot)
    wait_idle(qtbot, widget)
    assert list(widget.shapes_layer.shape_type) == ["rectangle"]
    boxed = widget.preview_layer.data > 0
    assert iou(truth, boxed) > 0.8
    assert [p.kind for p in widget.last_report.prompts] == ["box"]

    widget.negative_check.setChecked(True)
    press(viewer, Qt.Key.Key_S)  # the scribble tool
    assert widget.shapes_layer.mode == "add_path"
    drag(viewer, layer, [(5, 5 + 5 * i) for i in range(24)], qtbot)
    wait_idle(qtbot, widget)
    assert [p.kind for p in widget.last_report.prompts] == ["box", "scribble"]
    assert not widget.last_report.prompts[1].positive
    assert list(widget.shapes_layer.shape_type) == ["rectangle", "path"]

    widget.undo()
    wait_idle(qtbot, widget)
    assert list(widget.shapes_layer.shape_type) == ["rectangle"]
    assert np.array_equal(widget.preview_layer.data > 0, boxed)


def test_a_lasso_drawn_around_the_object(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, truth = disk_image()  # a disk of radius 18 at (48, 60)
    layer, widget = start(image)
    press(viewer, Qt.Key.Key_L)  # the lasso tool
    assert viewer.layers.selection.active.name == widget.shapes_layer.name
    assert widget.shapes_layer.mode == "add_polygon_lasso"
    angles = np.linspace(0, 2 * np.pi, 40)
    drag(viewer, layer, [(48 + 23 * np.sin(a), 60 + 23 * np.cos(a)) for a in angles], qtbot)
    wait_idle(qtbot, widget)
    assert [p.kind for p in widget.last_report.prompts] == ["lasso"]
    assert list(widget.shapes_layer.shape_type) == ["polygon"]
    lassoed = widget.preview_layer.data > 0
    assert iou(truth, lassoed) > 0.8
    rows, cols = np.nonzero(lassoed)
    assert ((rows - 48) ** 2 + (cols - 60) ** 2).max() <= 24 ** 2  # nothing outside the outline


def test_correcting_an_existing_label(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, truth = disk_image()
    layer, widget = start(image)
    existing = np.zeros(truth.shape, np.uint32)
    half = truth.copy()
    half[:, 60:] = False
    existing[half] = 7
    existing[2:6, 2:6] = 3  # another object, untouched
    target = viewer.add_labels(existing, name="cells")
    widget.labels_combo.setCurrentText("cells")
    widget.edit_label(7)
    wait_idle(qtbot, widget)
    assert np.array_equal(widget.preview_layer.data > 0, half)
    click(viewer, layer, (48, 72))  # the missing half
    wait_idle(qtbot, widget)
    widget.commit()
    wait_idle(qtbot, widget)
    data = np.asarray(target.data)
    assert iou(truth, data == 7) > iou(truth, half) and iou(truth, data == 7) > 0.8
    assert (data == 3).sum() == 16 and data.max() == 7
    target.undo()  # one step of napari's history restores the old object
    assert np.array_equal(np.asarray(target.data), existing)


@pytest.mark.parametrize("slice_by_slice", [True, False])
def test_propagation_from_a_slice_in_the_viewer(viewer_and_widget, qtbot, slice_by_slice):
    # unticked, the 3D network segments in 3D and P re-propagates from the clicked slice
    # with the 2D network
    viewer, start = viewer_and_widget
    volume, truth = disk_image(shape=(16, 60, 70), centre=(8, 30, 35), radius=10)
    layer, widget = start(volume, engine="network3d")
    if slice_by_slice:
        widget.slices_check.setChecked(True)
        assert widget.engine_combo.currentText() == "network"  # the suggestion for slices
        widget.engine_combo.setCurrentText("network3d")
        widget.start(layer)
        wait_idle(qtbot, widget)
    click_on_slice(viewer, layer, widget, qtbot, 8, (30, 35))
    one_click = widget.preview_layer.data > 0
    assert (one_click.any(axis=(1, 2)).sum() == 1) == slice_by_slice
    press(viewer, Qt.Key.Key_P)
    wait_idle(qtbot, widget)
    propagated = widget.preview_layer.data > 0
    assert propagated.any(axis=(1, 2)).sum() >= one_click.any(axis=(1, 2)).sum()
    assert dice(truth, propagated) > 0.8
    assert widget.progress_bar.value() == widget.progress_bar.maximum() == 16
    widget.commit()
    wait_idle(qtbot, widget)
    assert dice(truth, np.asarray(viewer.layers[LABELS_LAYER_NAME].data) == 1) > 0.8


def propagated_ball(viewer_and_widget, qtbot, repropagate: bool = False):
    """A ball segmented slice by slice (watershed): one click on slice 8, then P."""
    viewer, start = viewer_and_widget
    volume, truth = disk_image(shape=(16, 60, 70), centre=(8, 30, 35), radius=7)
    layer, widget = start(volume, engine="watershed", units="mm")
    widget.slices_check.setChecked(True)
    widget.engine_combo.setCurrentText("watershed")
    widget.repropagate_check.setChecked(repropagate)
    widget.start(layer)
    wait_idle(qtbot, widget)
    click_on_slice(viewer, layer, widget, qtbot, 8, (30, 35))
    one_slice = widget.preview_layer.data > 0
    press(viewer, Qt.Key.Key_P)
    wait_idle(qtbot, widget)
    return viewer, layer, widget, truth, one_slice


def test_a_corrected_slice_is_kept_and_a_negative_click_ends_the_object(viewer_and_widget, qtbot):
    viewer, layer, widget, truth, _ = propagated_ball(viewer_and_widget, qtbot)
    propagated = widget.preview_layer.data > 0
    assert np.flatnonzero(propagated.any(axis=(1, 2))).tolist() == list(range(2, 15))
    # its size in the image's units (1 mm voxels: 1,000 a millilitre), where it ended, and why
    assert f"{propagated.sum()} voxels ({propagated.sum() / 1000:.1f} mL) on slices 2–14" in widget.status.text()
    assert "not carried to slice 15: the mask vanished" in widget.status.text()
    # "not here": a negative (Control) click on slice 12 clears that slice only ...
    click_on_slice(viewer, layer, widget, qtbot, 12, (30, 35), modifier=Qt.KeyboardModifier.ControlModifier)
    corrected = widget.preview_layer.data > 0
    assert not corrected[12].any() and np.array_equal(corrected[13:], propagated[13:])
    assert "slices 8, 12 stay as corrected" in widget.status.text()
    # ... and propagating again ends the object there, slice 8 as it was
    press(viewer, Qt.Key.Key_P)
    wait_idle(qtbot, widget)
    final = widget.preview_layer.data > 0
    assert np.flatnonzero(final.any(axis=(1, 2))).tolist() == list(range(2, 12))
    assert "not carried to slice 12: you emptied that slice" in widget.status.text()
    assert np.array_equal(final[8], propagated[8]) and dice(truth[:12], final[:12]) > 0.8
    widget.commit()
    wait_idle(qtbot, widget)
    labels = viewer.layers[LABELS_LAYER_NAME]
    assert [str(u) for u in labels.units] == ["millimeter"] * 3  # the labels sit on the image's grid
    assert f"committed label 1 ({final.sum()} voxels, {final.sum() / 1000:.1f} mL)" in widget.status.text()


def test_a_correction_can_propagate_again_by_itself(viewer_and_widget, qtbot):
    viewer, layer, widget, _, one_slice = propagated_ball(viewer_and_widget, qtbot, repropagate=True)
    assert np.flatnonzero(one_slice.any(axis=(1, 2))).tolist() == [8]  # the first click waits for P
    click_on_slice(viewer, layer, widget, qtbot, 12, (30, 35), modifier=Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, widget)
    assert np.flatnonzero((widget.preview_layer.data > 0).any(axis=(1, 2))).tolist() == list(range(2, 12))


def test_narrowed_contrast_limits_become_the_engines_window():
    from napari.layers import Image

    from napari_iis.napari_glue.layers import chosen_window

    ct = np.linspace(-1000, 1500, 64 * 64).reshape(64, 64).astype(np.int16)
    assert chosen_window(Image(ct)) is None
    assert chosen_window(Image(ct, contrast_limits=(-160, 240))) == (-160.0, 240.0)
    assert chosen_window(Image(np.zeros((8, 8, 3), np.uint8) + np.arange(8)[:, None, None], rgb=True)) is None
    # no-data pixels (NaN) neither hide a narrowed window nor make one up
    padded = ct.astype(np.float32)
    padded[:10] = np.nan
    assert chosen_window(Image(padded)) is None
    assert chosen_window(Image(padded, contrast_limits=(-160, 240))) == (-160.0, 240.0)


@pytest.mark.parametrize("kind", ["microscopy", "CT in HU", "MRI in mm"])
def test_the_engines_suggested_for_a_volume(viewer_and_widget, kind):
    # the engine follows the slice-by-slice tick; a microscope's stack propagates with the
    # watershed, a CT or MRI with the engine that clicks
    viewer, start = viewer_and_widget
    volume, _ = disk_image(shape=(8, 40, 40), centre=(4, 20, 20), radius=8)
    if kind == "CT in HU":
        _, widget = start((volume * 1400 - 1000).astype(np.int16))
    elif kind == "MRI in mm":
        _, widget = start((volume * 800).astype(np.uint16), scale=(5, 0.8, 0.8), units="mm")
    else:
        _, widget = start((volume * 3000 + 100).astype(np.uint16), scale=(0.5, 0.2, 0.2), units="µm")
    propagator = "watershed" if kind == "microscopy" else "(default)"
    assert (widget.engine_combo.currentText(), widget.propagation_combo.currentText()) == ("watershed", propagator)
    widget.slices_check.setChecked(True)
    assert (widget.engine_combo.currentText(), widget.propagation_combo.currentText()) == ("network", propagator)
    widget.slices_check.setChecked(False)
    assert widget.engine_combo.currentText() == "watershed"


def test_a_volume_clicked_with_the_network_and_propagated_with_the_watershed(viewer_and_widget, qtbot, data_dir):
    # the fluorescent nucleus of tests/test_volumes.py that the network carries through a
    # column of nuclei: "propagate with" watershed follows its edges
    from napari_iis.io.tiff import read_tiff

    viewer, start = viewer_and_widget
    folder = data_dir / "3d/synthetic_nuclei"
    truth = read_tiff(folder / "stardist_synth_labels.tif").data == 138
    layer, widget = start(read_tiff(folder / "stardist_synth_image.tif").data)
    widget.slices_check.setChecked(True)
    assert widget.engine_combo.currentText() == "network"
    assert widget.propagation_combo.currentText() == "watershed"  # suggested for a microscope's stack
    widget.start(layer)
    wait_idle(qtbot, widget)
    plane = int(np.argmax(truth.sum(axis=(1, 2))))
    click_on_slice(viewer, layer, widget, qtbot, plane, tuple(np.argwhere(truth[plane]).mean(axis=0).round()))
    press(viewer, Qt.Key.Key_P)
    wait_idle(qtbot, widget)
    assert dice(truth, widget.preview_layer.data > 0) > 0.7


def test_points_on_ct_organs_become_propagated_3d_labels(viewer_and_widget, qtbot):
    from napari_iis.core.clicker import first_click
    from napari_iis.sample_data import CT_SOFT_TISSUE_WINDOW, load_ct

    viewer, start = viewer_and_widget
    image, labels, spacing = load_ct()
    organs = [labels == 2, labels == 3]  # measured one-click Dice 0.86 and 0.85 (benchmarks/segment_files.py)
    planes = [int(np.argmax(o.sum(axis=(1, 2)))) for o in organs]
    points = [(p, *first_click(o[p]).position) for p, o in zip(planes, organs)]
    layer, widget = start(image, scale=spacing, contrast_limits=CT_SOFT_TISSUE_WINDOW)
    widget.slices_check.setChecked(True)
    widget.start(layer)
    wait_idle(qtbot, widget)
    viewer.add_points(np.asarray(points) * np.asarray(spacing), name="organs", ndim=3)
    widget.label_points()
    wait_idle(qtbot, widget)
    written = np.asarray(viewer.layers[LABELS_LAYER_NAME].data)
    for label_id, organ in enumerate(organs, start=1):
        assert dice(organ, written == label_id) > 0.75
        assert np.count_nonzero((written == label_id).any(axis=(1, 2))) > 5  # carried through the slices


def test_the_widget_stays_narrow_and_scrolls_in_a_short_window(viewer_and_widget, qtbot):
    viewer, start = viewer_and_widget
    image, truth = disk_image()
    layer, widget = start(image)
    viewer.add_image(image, name="a layer name long enough to widen any combo box that fits its contents")
    viewer.layers.selection.active = widget.prompt_layer
    window = viewer.window._qt_window
    window.resize(1000, 480)
    qtbot.wait(100)
    assert widget.minimumSizeHint().width() <= 340 and widget.width() <= 380  # the canvas keeps the rest
    scroll = widget.scroll_area
    assert scroll.widget().width() <= scroll.viewport().width()  # nothing cut off on the right
    assert not widget.shortcuts.text.isVisible()
    widget.shortcuts.button.click()
    qtbot.wait(100)
    assert widget.shortcuts.text.isVisible() and scroll.verticalScrollBar().maximum() > 0
    scroll.ensureWidgetVisible(widget.shortcuts.text)
    qtbot.wait(50)
    assert scroll.verticalScrollBar().value() > 0  # the bottom rows are reached by scrolling
    click(viewer, layer, (48, 60))
    wait_idle(qtbot, widget)
    assert iou(truth, widget.preview_layer.data > 0) > 0.85


def test_a_series_of_volumes_is_segmented_frame_by_frame_into_one_labels_layer(viewer_and_widget, qtbot, data_dir):
    viewer, start = viewer_and_widget
    series, truths = nuclei_series(data_dir)
    layer, widget = start(series)
    widget.slices_check.setChecked(True)
    viewer.dims.set_current_step(0, 1)
    widget.start(layer)
    wait_idle(qtbot, widget)
    assert widget.grid.frame == (1,) and widget.grid.shape == series.shape[1:]
    assert widget.engine_combo.currentText() == "network" and widget.propagation_combo.currentText() == "watershed"

    def segment_on_frame(t: int) -> np.ndarray:
        viewer.dims.set_current_step(0, t)
        plane = int(np.argmax(truths[t].sum(axis=(1, 2))))
        viewer.dims.set_current_step(1, plane)
        qtbot.wait(50)
        click(viewer, layer, tuple(np.argwhere(truths[t][plane]).mean(axis=0).round()))
        wait_idle(qtbot, widget)
        press(viewer, Qt.Key.Key_P)
        wait_idle(qtbot, widget)
        return widget.preview_layer.data > 0

    first = segment_on_frame(1)
    assert dice(truths[1], first) > 0.7
    viewer.dims.set_current_step(0, 2)
    qtbot.wait(50)
    assert not widget.preview_layer.visible, "frame 1's object is not shown on frame 2"
    plane = int(np.argmax(truths[2].sum(axis=(1, 2))))
    click(viewer, layer, tuple(np.argwhere(truths[2][plane]).mean(axis=0).round()))
    wait_idle(qtbot, widget)
    assert widget.grid.frame == (1,), "a click on another frame waits while an object is in progress"
    viewer.dims.set_current_step(0, 1)
    qtbot.wait(50)
    assert widget.preview_layer.visible
    press(viewer, Qt.Key.Key_Return)
    wait_idle(qtbot, widget)
    labels = viewer.layers[LABELS_LAYER_NAME]
    assert labels.data.shape == series.shape and tuple(labels.scale) == tuple(layer.scale)
    assert dice(truths[1], np.asarray(labels.data[1]) == 1) > 0.7
    assert not np.asarray(labels.data[[0, 2]]).any()

    second = segment_on_frame(2)  # the session moves to the frame clicked
    assert widget.grid.frame == (2,) and dice(truths[2], second) > 0.7
    press(viewer, Qt.Key.Key_Return)
    wait_idle(qtbot, widget)
    written = np.asarray(labels.data)
    assert dice(truths[2], written[2] == 2) > 0.7 and dice(truths[1], written[1] == 1) > 0.7
    assert not written[0].any()
    viewer.layers.selection.active = labels
    labels.undo()  # napari's undo takes back frame 2's commit only
    assert not np.asarray(labels.data[2]).any() and (np.asarray(labels.data[1]) == 1).any()


def test_a_label_is_carried_to_the_next_frames_under_its_own_id(viewer_and_widget, qtbot, data_dir):
    viewer, start = viewer_and_widget
    series, truths = nuclei_series(data_dir, frames=3, step_px=6)
    layer, widget = start(series)
    widget.slices_check.setChecked(True)
    viewer.dims.set_current_step(0, 0)
    widget.start(layer)
    wait_idle(qtbot, widget)
    assert widget.carry_button.isVisible(), "To next frame shows for a series only"
    plane = int(np.argmax(truths[0].sum(axis=(1, 2))))
    viewer.dims.set_current_step(1, plane)
    qtbot.wait(50)
    click(viewer, layer, tuple(np.argwhere(truths[0][plane]).mean(axis=0).round()))
    wait_idle(qtbot, widget)
    press(viewer, Qt.Key.Key_P)
    wait_idle(qtbot, widget)
    press(viewer, Qt.Key.Key_Return)
    wait_idle(qtbot, widget)
    labels = viewer.layers[LABELS_LAYER_NAME]
    labels.data[0][np.asarray(labels.data[0]) == 1] = 0  # the user's own label 5 on frame 0
    labels.data[0][truths[0]] = 5
    widget.edit_spin.setValue(5)

    for t in (1, 2):
        press(viewer, Qt.Key.Key_T)
        wait_idle(qtbot, widget)
        assert viewer.dims.current_step[0] == t and widget.grid.frame == (t,), "the viewer follows to the next frame"
        assert widget.preview_layer.visible and dice(truths[t], widget.preview_layer.data > 0) > 0.7
        assert widget.status.text().startswith(f"label 5 carried from frame {t - 1}: current object: ")
        press(viewer, Qt.Key.Key_Return)
        wait_idle(qtbot, widget)
        written = np.asarray(labels.data[t])
        assert set(np.unique(written)) == {0, 5} and dice(truths[t], written == 5) > 0.7, "the same label id"
        assert widget.edit_spin.value() == 5
    assert set(np.unique(np.asarray(labels.data[0]))) == {0, 5}, "the frames before are untouched"
    status = widget.status.text()
    press(viewer, Qt.Key.Key_T)  # frame 2 is the last: nothing to carry it to
    qtbot.wait(50)
    assert widget.grid.frame == (2,) and widget.status.text() == status


def test_the_detections_of_a_series_are_labelled_on_their_own_frames(viewer_and_widget, qtbot, data_dir):
    viewer, start = viewer_and_widget
    series, truths = nuclei_series(data_dir)
    layer, widget = start(series)
    widget.slices_check.setChecked(True)
    widget.start(layer)
    wait_idle(qtbot, widget)
    centres = []
    for t in (2, 0):
        plane = int(np.argmax(truths[t].sum(axis=(1, 2))))
        centres.append((t, plane, *np.argwhere(truths[t][plane]).mean(axis=0).round()))
    viewer.add_points(np.asarray(centres), name="detections", ndim=4)
    viewer.dims.set_current_step(0, 1)
    widget.label_points()
    wait_idle(qtbot, widget)
    labels = viewer.layers[LABELS_LAYER_NAME]
    written = np.asarray(labels.data)
    assert dice(truths[0], written[0] == 1) > 0.7 and dice(truths[2], written[2] == 2) > 0.7  # in frame order
    assert not written[1].any() and set(np.unique(written)) == {0, 1, 2}
    assert "2 objects from 'detections'" in widget.status.text() and "on 2 frames" in widget.status.text()
    assert widget.grid.frame == (2,) and not widget.preview_layer.visible  # the viewer still shows frame 1

    plane = int(np.argmax(truths[1].sum(axis=(1, 2))))
    viewer.add_points([(plane, *np.argwhere(truths[1][plane]).mean(axis=0).round())], name="one", ndim=3)
    widget.label_points(viewer.layers["one"])  # a layer without the time axis: the frame shown
    wait_idle(qtbot, widget)
    written = np.asarray(labels.data)
    assert widget.grid.frame == (1,) and dice(truths[1], written[1] == 3) > 0.7
    assert dice(truths[0], written[0] == 1) > 0.7 and dice(truths[2], written[2] == 2) > 0.7

def test_one_cancel_stops_a_labelling_run_over_the_frames_of_a_series(viewer_and_widget, qtbot, data_dir):
    from napari_iis.io.tiff import read_tiff

    viewer, start = viewer_and_widget
    series, _ = nuclei_series(data_dir)
    stack_labels = read_tiff(data_dir / "3d/synthetic_nuclei/stardist_synth_labels.tif").data
    centres = [np.argwhere(stack_labels == i).mean(axis=0) for i in np.unique(stack_labels[stack_labels > 0])]
    points = [(t, z, y, x + 3 * t) for t in range(3) for z, y, x in centres]
    layer, widget = start(series)
    viewer.add_points(np.asarray(points), name="every nucleus", ndim=4)
    widget.label_points()
    qtbot.waitUntil(lambda: widget.progress_bar.value() >= 3, timeout=30_000)
    widget.cancel_button.click()
    wait_idle(qtbot, widget)
    done = int(widget.status.text().split("cancelled after ")[1].split(" of")[0])
    assert 3 <= done < len(centres) and f"of {len(points)} objects" in widget.status.text()
    written = np.asarray(viewer.layers[LABELS_LAYER_NAME].data)
    assert 0 < len(np.unique(written[0][written[0] > 0])) <= done
    assert not written[1:].any(), "the frames after the cancel are not labelled"
    assert not widget.progress_bar.isVisible()
