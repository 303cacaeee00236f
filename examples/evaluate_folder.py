"""Evaluate an engine on a folder of images/ and labels/ with simulated clicks, headless.

    python examples/evaluate_folder.py [DATASET] [MAX_OBJECTS]
"""

from __future__ import annotations

import sys
from pathlib import Path

from napari_iis.core.evaluation import evaluate_dataset

DEFAULT = Path(__file__).resolve().parents[2] / "shared/data/2d/dsb2018_nuclei"

dataset = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
max_objects = int(sys.argv[2]) if len(sys.argv) > 2 else 10
report = evaluate_dataset(dataset, "watershed", max_clicks=5, max_objects=max_objects)
print(report.format_table())
