"""Is the viewer responsive while the widget segments? (run under a display or Xvfb)

    xvfb-run -a python benchmarks/responsiveness.py --engine watershed --size 1024

A 10 ms Qt timer measures how late the event loop serves it while clicks keep the
inference thread busy; click-to-mask-on-screen latency is the time from a click to the
preview layer showing its mask.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", default="watershed")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--clicks", type=int, default=30)
    args = parser.parse_args()

    import napari
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    from benchmarks.latency import tiled
    from napari_iis.core.clicker import next_click
    from napari_iis.widget import SegmentationWidget

    image, labels = tiled(args.size)
    viewer = napari.Viewer(show=True)
    layer = viewer.add_image(image, rgb=True)
    widget = SegmentationWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.engine_combo.setCurrentText(args.engine)
    widget.start(layer)
    app = QApplication.instance()

    def settle(timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline and not (
            widget.last_report is not None and widget.last_report.generation == widget.worker.latest_generation
        ):
            app.processEvents()
            time.sleep(0.001)

    settle()
    lateness: list[float] = []
    expected = [time.perf_counter() + 0.01]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, now - expected[0]))
        expected[0] = now + 0.01

    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    targets = ids[np.argsort(areas)[::-1]][: -(-args.clicks // 3)]
    # the simulated user looks only near its object, to keep its own work off the GUI thread
    boxes = ndimage.find_objects(labels)
    regions = {}
    for target in targets:
        box = boxes[target - 1]
        regions[target] = tuple(slice(max(b.start - 64, 0), b.stop + 64) for b in box)
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    to_screen = []
    for index in range(args.clicks):
        target = targets[index // 3]  # three clicks per object
        if index % 3 == 0:
            widget.discard()
            settle()
        region = regions[target]
        click = next_click(labels[region] == target, widget.preview_layer.data[region] > 0)
        if click is None:
            continue
        started = time.perf_counter()
        widget.add_click(tuple(c + r.start for c, r in zip(click.position, region)), click.positive)
        settle()
        app.processEvents()
        to_screen.append(time.perf_counter() - started)
    timer.stop()
    busy = np.asarray(lateness) * 1000
    print(f"{args.engine} {args.size}x{args.size} RGB: Qt timer lateness while segmenting: "
          f"median {np.median(busy):.1f} ms, p95 {np.percentile(busy, 95):.1f} ms, max {busy.max():.1f} ms "
          f"({len(busy)} ticks); click to mask on screen: median {np.median(to_screen) * 1000:.0f} ms, "
          f"p95 {np.percentile(to_screen, 95) * 1000:.0f} ms ({len(to_screen)} clicks)")
    widget.worker.close()
    viewer.close()


if __name__ == "__main__":
    main()
