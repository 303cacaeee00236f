"""Score-versus-clicks curves from evaluation reports (matplotlib, optional): mean IoU
of ``napari-iis evaluate``, mean 3D Dice of ``napari-iis evaluate3d --mode clicks``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .evaluation import padded_curves

# The dashed line and the NoC in the legend: the project's targets (IoU 0.90 in 2D, Dice 0.85 in 3D).
TARGETS = {"IoU": 90, "Dice": 85}
LINE_STYLES = ("-", "--", ":", "-.")


def score_name(report: dict) -> str:
    """"IoU" (2D report) or "Dice" (3D clicks report); a propagation report has no curve."""
    if report.get("mode") in ("propagate", "each"):
        raise ValueError(
            f"{report['dataset']} is a {report['mode']} report (one score per object, no clicks to plot against): "
            "plot a report of `napari-iis evaluate3d --mode clicks` or `napari-iis evaluate`"
        )
    return "Dice" if report.get("mode") in ("clicks", "corrections") else "IoU"


def miou_curve(report: dict) -> np.ndarray:
    """Mean IoU (2D) or 3D Dice (3D clicks) after each click 1..max_clicks (short curves
    carry their last value)."""
    key = "ious" if score_name(report) == "IoU" else "dice"
    scores = [o[key] for o in report["objects"] if o[key]]
    max_clicks = int(report.get("max_clicks") or max(len(s) for s in scores))
    return padded_curves(scores, max_clicks).mean(axis=0)


def method_label(report: dict) -> str:
    """The engine, and for slice corrections the workflow or for 2D a box or lasso as first prompt."""
    if report.get("mode") != "corrections":
        first = report.get("first_prompt", "click")
        return report["engine"] + ("" if first == "click" else f", {first} first")
    carrier = report.get("propagation_engine")
    return f"{report['engine']} + {carrier + ' ' if carrier else ''}propagation"


def plot_reports(paths: Sequence[Path], out: Path, title: str | None = None) -> Path:
    """Draw one curve per JSON report written by ``napari-iis evaluate --json`` (mean IoU)
    or ``napari-iis evaluate3d --mode clicks --json`` (mean 3D Dice); not both kinds at once."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("plotting needs matplotlib: pip install matplotlib") from None
    reports = [json.loads(Path(path).read_text()) for path in paths]
    scores = {score_name(report) for report in reports}
    if len(scores) > 1:
        raise ValueError("2D reports (IoU) and 3D clicks reports (Dice) go in separate plots: plot each kind on its own")
    score = scores.pop()
    target = TARGETS[score]
    # One colour per data set, one line style per engine: an engine's curves read across sets.
    datasets = list(dict.fromkeys(report["dataset"] for report in reports))
    engines = list(dict.fromkeys(method_label(report) for report in reports))
    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    for report in reports:
        curve = miou_curve(report)
        noc = report["summary"][f"NoC@{target}"]
        axes.plot(np.arange(1, len(curve) + 1), curve, marker="o", markersize=3,
                  color=f"C{datasets.index(report['dataset']) % 10}",
                  linestyle=LINE_STYLES[engines.index(method_label(report)) % len(LINE_STYLES)],
                  label=f"{report['dataset']} · {method_label(report)} (NoC@{target} {noc:.2f}, n={report['summary']['objects']})")
    axes.axhline(target / 100, color="grey", linewidth=0.8, linestyle="--")
    axes.set_xlabel("prompts (a box or lasso counts as one)"
                    if any(r.get("first_prompt", "click") != "click" for r in reports) else "clicks")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_ylabel(f"mean {score}")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="lower right")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)
    return Path(out)
