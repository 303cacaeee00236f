"""``napari-iis demo``: napari with a sample image and the widget docked."""

from __future__ import annotations

from typing import Any

from ..sample_data import abdomen_ct, histology, nuclei

SAMPLES = {"nuclei": nuclei, "histology": histology, "ct": abdomen_ct}

PLUGIN_NAME = "napari-iis"
WIDGET_NAME = "Interactive segmentation"


def open_demo(sample: str = "nuclei", run: bool = True) -> Any:
    import napari
    from qtpy.QtCore import QTimer

    viewer = napari.Viewer(title="napari-iis demo")
    (data, kwargs, _), = SAMPLES[sample]()
    viewer.add_image(data, **kwargs)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, WIDGET_NAME)
    widget.start(viewer.layers[kwargs["name"]])
    # the dock narrowed the canvas after the image was fitted to it: fit again once laid out
    QTimer.singleShot(0, viewer.reset_view)
    if run:
        napari.run()
    return viewer
