"""mIoU-versus-clicks curves from evaluation reports (matplotlib, optional)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def miou_curve(report: dict) -> np.ndarray:
    """Mean IoU after each click 1..max_clicks (short curves carry their last value)."""
    max_clicks = int(report["max_clicks"])
    curves = [o["ious"] + [o["ious"][-1]] * (max_clicks - len(o["ious"])) for o in report["objects"] if o["ious"]]
    return np.asarray(curves, dtype=float).mean(axis=0)


def plot_reports(paths: Sequence[Path], out: Path, title: str | None = None) -> Path:
    """Draw one mIoU curve per JSON report written by ``napari-iis evaluate --json``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("plotting needs matplotlib: pip install matplotlib") from None
    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    for path in paths:
        report = json.loads(Path(path).read_text())
        curve = miou_curve(report)
        noc90 = report["summary"]["NoC@90"]
        axes.plot(np.arange(1, len(curve) + 1), curve, marker="o", markersize=3,
                  label=f"{report['dataset']} · {report['engine']} (NoC@90 {noc90:.2f}, n={report['summary']['objects']})")
    axes.axhline(0.9, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xlabel("clicks")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_ylabel("mean IoU")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="lower right")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)
    return Path(out)
