"""One prompt per object: every nucleus of an image into one label image."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_iis import InteractiveSession
from napari_iis.cli import main
from napari_iis.core.batch import segment_each
from napari_iis.core.clicker import first_click
from napari_iis.core.metrics import iou
from napari_iis.core.prompts import Box
from napari_iis.sample_data import load_sample


def _nuclei(count: int) -> tuple[np.ndarray, list[np.ndarray], list[tuple[float, ...]]]:
    image, labels = load_sample("nuclei")
    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    chosen = ids[areas >= 100][:count]
    truths = [labels == i for i in chosen]
    clicks = [first_click(t).position for t in truths]
    return image, truths, clicks


def test_each_click_is_one_label_in_order_and_the_network_beats_the_baseline():
    image, truths, clicks = _nuclei(12)
    scores = {}
    for engine in ("network", "watershed"):
        session = InteractiveSession(image, engine=engine)
        labels = segment_each(session, clicks)
        assert labels.max() == len(clicks) and session.prompts == () and not session.mask.any()
        for label_id, position in enumerate(clicks, start=1):
            assert labels[tuple(int(round(c)) for c in position)] == label_id  # each click's own label
        scores[engine] = np.mean([iou(t, labels == k) for k, t in enumerate(truths, start=1)])
    assert scores["network"] > 0.7 and scores["network"] > scores["watershed"] + 0.1


def test_objects_keep_out_of_earlier_ones_unless_overwriting():
    image, truths, clicks = _nuclei(1)
    session = InteractiveSession(image)
    box_low = np.argwhere(truths[0]).min(axis=0) - 3
    box_high = np.argwhere(truths[0]).max(axis=0) + 3
    prompts = [clicks[0], Box(tuple(map(float, box_low)), tuple(map(float, box_high)))]  # the same nucleus twice
    first, second = (segment_each(session, [p]) == 1 for p in prompts)
    assert (first & second).sum() > 100
    kept = segment_each(session, prompts)
    assert np.array_equal(kept == 1, first) and np.array_equal(kept == 2, second & ~first)
    taken = segment_each(session, prompts, overwrite=True)
    assert np.array_equal(taken == 1, first & ~second) and np.array_equal(taken == 2, second)


@pytest.mark.parametrize(("first", "said"), [("click", "one click on every object"), ("box", "its box on every object")])
def test_cli_evaluates_one_prompt_on_every_object(data_dir, tmp_path, capsys, first, said):
    out = tmp_path / "each.json"
    assert main(["evaluate", str(data_dir / "2d/dsb2018_nuclei"), "--mode", "each", "--max-images", "2",
                 "--split", "splits/val_dsb2018_nuclei.txt", "--first-prompt", first, "--json", str(out)]) == 0
    assert said in capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["mode"] == "each" and report["first_prompt"] == first
    assert report["summary"]["objects"] == len(report["objects"]) > 10
    assert report["summary"]["mIoU"] > 0.6 and report["summary"]["IoU>=0.5"] > 0.8


def test_an_object_that_fails_is_reported_and_left_empty_while_the_others_are_kept():
    from napari_iis.core.batch import segment_objects
    from napari_iis.core.prompts import Click

    image, truths, clicks = _nuclei(3)
    objects = {1: [Click(clicks[0])], 2: [Click((5000.0, 5.0))], 3: [Click(clicks[2])]}
    failures = []
    labels = segment_objects(InteractiveSession(image), objects, on_error=lambda i, e: failures.append((i, str(e))))
    assert [i for i, _ in failures] == [2] and "outside the image" in failures[0][1]
    assert sorted(np.unique(labels).tolist()) == [0, 1, 3]
    assert iou(truths[2], labels == 3) > 0.6
    with pytest.raises(ValueError, match="outside the image"):
        segment_objects(InteractiveSession(image), objects)
