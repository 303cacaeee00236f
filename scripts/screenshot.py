"""Take the README screenshot: the demo viewer after a few clicks and commits.

    xvfb-run -a -s "-screen 0 1400x900x24" python scripts/screenshot.py docs/images/widget.png
"""

from __future__ import annotations

import sys
import time

import numpy as np
from qtpy.QtWidgets import QApplication

from napari_iis.napari_glue.demo import open_demo
from napari_iis.sample_data import load_sample
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


def main(path: str) -> None:
    viewer = open_demo("nuclei", run=False)
    viewer.window._qt_window.resize(1400, 850)
    widget = next(w for w in QApplication.instance().allWidgets() if isinstance(w, SegmentationWidget))
    settle(widget)
    _, labels = load_sample("nuclei")
    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    for label_id in ids[np.argsort(areas)[::-1]][:6]:
        widget.add_click(tuple(np.argwhere(labels == label_id).mean(axis=0)))
        settle(widget)
        widget.commit()
        settle(widget)
    widget.add_click(tuple(np.argwhere(labels == ids[np.argsort(areas)[::-1]][7]).mean(axis=0)))
    settle(widget, 1.0)
    viewer.screenshot(path, canvas_only=False)
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/images/widget.png")
