"""``napari-iis demo``: napari with a sample image and the widget docked."""

from __future__ import annotations

from typing import Any

from ..sample_data import histology, nuclei

PLUGIN_NAME = "napari-iis"
WIDGET_NAME = "Interactive segmentation"


def open_demo(sample: str = "nuclei", run: bool = True) -> Any:
    import napari

    viewer = napari.Viewer(title="napari-iis demo")
    (data, kwargs, _), = (nuclei if sample == "nuclei" else histology)()
    viewer.add_image(data, **kwargs)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN_NAME, WIDGET_NAME)
    widget.start(viewer.layers[kwargs["name"]])
    if run:
        napari.run()
    return viewer
