"""Markdown table of evaluation reports, engines side by side per data set.

    python benchmarks/table.py docs/results/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from napari_iis.core.plots import method_label

COLUMNS = ("NoC@85", "NoC@90", "NoF@90", "mIoU@1", "mIoU@3", "mIoU@5", "s/click")


def rows(paths: list[Path]) -> list[str]:
    reports = [json.loads(p.read_text()) for p in paths]
    reports.sort(key=lambda r: (r["dataset"], method_label(r)))
    lines = ["| set | engine | objects | " + " | ".join(COLUMNS) + " |", "|" + "---|" * (len(COLUMNS) + 3)]
    for report in reports:
        summary = report["summary"]
        cells = []
        for column in COLUMNS:
            value = summary[column]
            cells.append(str(value) if isinstance(value, int) else f"{value:.3f}" if column.startswith(("mIoU", "s/")) else f"{value:.2f}")
        lines.append(f"| {report['dataset']} | {method_label(report)} | {summary['objects']} | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    print("\n".join(rows([Path(p) for p in sys.argv[1:]])))
