"""Screenshots of the real widget for the docs (run under Xvfb).

    xvfb-run -a -s "-screen 0 1400x900x24" python scripts/screenshot.py docs/images
"""

from __future__ import annotations

import sys
import time

import numpy as np
from qtpy.QtWidgets import QApplication

from napari_iis.core.clicker import next_click
from napari_iis.napari_glue.demo import open_demo
from napari_iis.napari_glue.picking import viewer_camera
from napari_iis.sample_data import load_ct, load_sample
from napari_iis.widget import SegmentationWidget


def settle(widget: SegmentationWidget, seconds: float = 0.3) -> None:
    app = QApplication.instance()
    deadline = time.time() + 30
    while time.time() < deadline and not (
        widget.last_report is not None and widget.last_report.generation == widget.worker.latest_generation
    ):
        app.processEvents()
        time.sleep(0.02)
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.02)


def nuclei(path: str) -> None:
    viewer = open_demo("nuclei", run=False)
    viewer.window._qt_window.resize(1400, 850)
    widget = next(w for w in QApplication.instance().allWidgets() if isinstance(w, SegmentationWidget))
    settle(widget)
    _, labels = load_sample("nuclei")
    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    widget.each_check.setChecked(True)  # one click per object: each click commits a label
    for label_id in ids[np.argsort(areas)[::-1]][:6]:
        widget.add_click(tuple(np.argwhere(labels == label_id).mean(axis=0)))
        settle(widget)
    widget.each_check.setChecked(False)
    widget.add_click(tuple(np.argwhere(labels == ids[np.argsort(areas)[::-1]][7]).mean(axis=0)))
    viewer.reset_view()  # the window was resized: show the whole image
    settle(widget, 1.0)
    viewer.screenshot(path, canvas_only=False)
    viewer.close()


def ct(path: str) -> None:
    """The left kidney of the CT sample: three clicks on a slice, then propagation."""
    viewer = open_demo("ct", run=False)
    viewer.window._qt_window.resize(1400, 850)
    widget = next(w for w in QApplication.instance().allWidgets() if isinstance(w, SegmentationWidget))
    widget.slices_check.setChecked(True)  # suggests the network, the better slice engine
    widget.start(viewer.layers["abdomen CT"])
    settle(widget)
    _, labels, _ = load_ct()
    organ = labels == 3  # TotalSegmentator's kidney_left
    plane = int(np.argmax(organ.sum(axis=(1, 2))))
    viewer.dims.set_current_step(0, plane)
    clicked: list[tuple[int, ...]] = []
    for _ in range(3):  # where the evaluator's simulated user clicks: the largest error
        shown = widget.preview_layer.data[plane] > 0
        click = next_click(organ[plane], shown, clicked=clicked)
        clicked.append(tuple(int(c) for c in click.position))
        widget.add_click((plane, *click.position), click.positive)
        settle(widget)
    widget.propagate()
    settle(widget, 1.0)
    viewer.screenshot(path, canvas_only=False)
    viewer.close()


def ct_3d_view(path: str) -> None:
    """The CT sample in napari's 3D view, shown as a plane through the left kidney: one click
    on the plane (where the view ray meets it), then propagation."""
    from types import SimpleNamespace

    viewer = open_demo("ct", run=False)
    viewer.window._qt_window.resize(1400, 850)
    widget = next(w for w in QApplication.instance().allWidgets() if isinstance(w, SegmentationWidget))
    widget.slices_check.setChecked(True)
    image = viewer.layers["abdomen CT"]
    widget.start(image)
    settle(widget)
    _, labels, _ = load_ct()
    organ = labels == 3
    plane = int(np.argmax(organ.sum(axis=(1, 2))))
    image.depiction = "plane"
    image.plane = {"position": (plane, *(n / 2 for n in image.data.shape[1:])), "normal": (1, 0, 0)}
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer_camera(viewer).angles = (-20, 20, 0)
    target = image.data_to_world((plane, *next_click(organ[plane], np.zeros_like(organ[plane])).position))
    press = SimpleNamespace(position=tuple(target), view_direction=viewer_camera(viewer).view_direction,
                            dims_displayed=[0, 1, 2])
    widget._on_click(widget._locate_click(press), True)
    settle(widget)
    widget.propagate()
    settle(widget, 1.0)
    viewer_camera(viewer).zoom *= 1.3
    settle(widget, 0.5)
    viewer.screenshot(path, canvas_only=False)
    viewer.close()


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else "docs/images"
    nuclei(f"{folder}/widget.png")
    ct(f"{folder}/ct_propagation.png")
    ct_3d_view(f"{folder}/ct_3d_view.png")
