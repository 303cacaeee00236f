"""Segment a nucleus of the shipped sample with a few simulated clicks, headless.

    python examples/segment_from_clicks.py
"""

from __future__ import annotations

import numpy as np

from napari_iis import InteractiveSession
from napari_iis.core.clicker import next_click
from napari_iis.core.metrics import iou
from napari_iis.sample_data import load_sample

image, labels = load_sample("nuclei")
session = InteractiveSession(image)  # one session per image

ids, areas = np.unique(labels[labels > 0], return_counts=True)
target = labels == ids[np.argmax(areas)]  # the largest nucleus

mask = session.mask
clicked: list[tuple[int, ...]] = []
for number in range(1, 6):
    click = next_click(target, mask, clicked=clicked)  # where a careful user would click
    if click is None:
        break
    clicked.append(tuple(int(round(c)) for c in click.position))
    mask = session.add_click(click.position, positive=click.positive)
    sign = "+" if click.positive else "-"
    print(f"click {number} {sign} at {clicked[-1]}: IoU {iou(target, mask):.3f}")

nucleus = session.commit()  # the object's mask; the session is ready for the next one
print(f"committed {nucleus.sum()} pixels")
