from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO_ROOT, disk_image
from napari_iis import InteractiveSession
from napari_iis.cli import main
from napari_iis.core.evaluation import clicks_to_reach, evaluate_dataset, evaluate_object, summarise


def test_clicks_to_reach():
    assert clicks_to_reach([0.5, 0.86, 0.91], 0.85, 20) == 2
    assert clicks_to_reach([0.5, 0.86, 0.91], 0.90, 20) == 3
    assert clicks_to_reach([0.5, 0.6], 0.90, 20) == 20


def test_summary_figures_on_known_curves():
    ious = [[0.9, 0.95, 0.97], [0.5, 0.86, 0.88], [0.2, 0.3, 0.91]]
    summary = summarise(ious, [[0.1, 0.1, 0.1]] * 3, max_clicks=3)
    assert summary["objects"] == 3
    assert summary["NoC@85"] == pytest.approx((1 + 2 + 3) / 3)
    assert summary["NoC@90"] == pytest.approx((1 + 3 + 3) / 3)
    assert summary["NoF@90"] == 1
    assert summary["mIoU@1"] == pytest.approx((0.9 + 0.5 + 0.2) / 3)
    assert summary["mIoU@3"] == pytest.approx((0.97 + 0.88 + 0.91) / 3)
    assert summary["s/click"] == pytest.approx(0.1)


def test_short_curves_are_carried_forward():
    # an object finished early (nothing left to correct) keeps its last IoU
    summary = summarise([[1.0]], [[0.1]], max_clicks=5)
    assert summary["mIoU@5"] == 1.0 and summary["NoC@90"] == 1


def test_evaluate_object_on_a_synthetic_disk():
    image, truth = disk_image()
    result = evaluate_object(InteractiveSession(image), truth, None, max_clicks=3, name="disk")
    assert len(result.ious) == 3 and len(result.seconds) >= 1
    assert result.ious[0] > 0.85


def test_the_click_observer_sees_each_click_and_the_mask_it_scored():
    image, truth = disk_image(noise=0.3, seed=2)
    seen = []
    result = evaluate_object(InteractiveSession(image, engine="watershed"), truth, None, max_clicks=4,
                             on_click=lambda click, mask: seen.append((click, mask.to_dense())))
    assert len(seen) == len(result.seconds)
    assert seen[0][0].positive and truth[tuple(int(round(c)) for c in seen[0][0].position)]
    for (_, mask), score in zip(seen, result.ious):
        assert (mask & truth).sum() / (mask | truth).sum() == pytest.approx(score)


def test_a_box_first_then_clicks_on_real_nuclei(data_dir, tmp_path):
    common = dict(max_clicks=5, max_objects=12, seed=3, split_file=REPO_ROOT / "splits/val_dsb2018_nuclei.txt")
    boxed = evaluate_dataset(data_dir / "2d/dsb2018_nuclei", "network", first_prompt="box", **common)
    clicked = evaluate_dataset(data_dir / "2d/dsb2018_nuclei", "network", **common)
    assert [o.name for o in boxed.objects] == [o.name for o in clicked.objects]
    assert all(len(o.ious) == 5 for o in boxed.objects)
    # a box says the object's extent: its first mask beats a first click's, and clicks still help
    assert boxed.summary()["mIoU@1"] > max(0.75, clicked.summary()["mIoU@1"])
    assert boxed.summary()["mIoU@5"] > boxed.summary()["mIoU@1"]
    boxed.to_json(tmp_path / "boxed.json")
    assert json.loads((tmp_path / "boxed.json").read_text())["first_prompt"] == "box"
    assert "a box, then 4 clicks" in boxed.format_table()


@pytest.mark.parametrize("engine", ["watershed", "random_walker"])
def test_iou_rises_with_clicks_on_real_nuclei(data_dir, engine):
    report = evaluate_dataset(data_dir / "2d/dsb2018_nuclei", engine, max_clicks=10, max_objects=12, seed=3)
    summary = report.summary()
    assert summary["objects"] == 12
    assert summary["mIoU@1"] > 0.3
    assert summary["mIoU@10"] > summary["mIoU@1"] + 0.05
    assert summary["NoC@90"] <= 10


@pytest.mark.parametrize("engine", ["watershed", "random_walker"])
def test_iou_rises_with_clicks_on_real_photos(data_dir, engine):
    report = evaluate_dataset(data_dir / "2d/duts_te", engine, max_clicks=10, max_objects=4, seed=0)
    summary = report.summary()
    assert summary["mIoU@10"] > summary["mIoU@1"] + 0.1


def test_cli_evaluate_writes_a_table_and_json(data_dir, tmp_path, capsys):
    out = tmp_path / "report.json"
    code = main(["evaluate", str(data_dir / "2d/isbi2012_em"), "--engine", "random_walker",
                 "--max-clicks", "3", "--max-objects", "4", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "NoC@90" in printed and "isbi2012_em" in printed
    payload = json.loads(out.read_text())
    assert payload["summary"]["objects"] == 4
    assert {"NoC@85", "NoC@90", "NoF@90", "mIoU@1", "mIoU@3", "s/click"} <= set(payload["summary"])
    assert all(len(o["ious"]) <= 3 for o in payload["objects"])


def test_cli_evaluates_other_network_weights(data_dir, tmp_path, capsys):
    from napari_iis.engines.network.engine import WEIGHTS_2D_MIRROR, packaged_weights

    args = ["evaluate", str(data_dir / "2d/isbi2012_em"), "--max-clicks", "3", "--max-objects", "2"]
    shipped, other = tmp_path / "shipped.json", tmp_path / "copy.json"
    assert main(args + ["--json", str(shipped)]) == 0
    copy = tmp_path / "run" / "iisnet_2d.pt"
    copy.parent.mkdir()
    copy.write_bytes(packaged_weights().read_bytes())
    alone = tmp_path / "alone.json"
    assert main(args + ["--weights", str(copy), "--json", str(alone)]) == 0
    (copy.parent / WEIGHTS_2D_MIRROR).write_bytes(packaged_weights(WEIGHTS_2D_MIRROR).read_bytes())
    assert main(args + ["--weights", str(copy), "--json", str(other)]) == 0
    # the same pair of weights from another folder: the same masks; the main one alone, others
    ious = {path: [o["ious"] for o in json.loads(path.read_text())["objects"]] for path in (shipped, other, alone)}
    assert ious[other] == ious[shipped] and ious[alone] != ious[shipped]
    capsys.readouterr()
    assert main(args + ["--weights", str(tmp_path / "nothing.pt")]) == 2
    assert "no network weights at" in capsys.readouterr().err
    assert main(args + ["--engine", "watershed", "--weights", str(copy)]) == 2
    assert "has no weights" in capsys.readouterr().err


def test_cli_split_file_restricts_the_images(data_dir, tmp_path):
    split = tmp_path / "split.txt"
    split.write_text("# one image\nslice00\n")
    out = tmp_path / "report.json"
    assert main(["evaluate", str(data_dir / "2d/isbi2012_em"), "--split", str(split), "--max-clicks", "1",
                 "--max-objects", "3", "--json", str(out)]) == 0
    assert all(o["name"].startswith("slice00#") for o in json.loads(out.read_text())["objects"])


def test_cli_reports_a_bad_dataset(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "expected folders images/ and labels/" in capsys.readouterr().err


def test_min_area_skips_small_objects(tmp_path):
    import imageio.v3 as iio

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    image, truth = disk_image()
    labels = truth.astype(np.uint16)
    labels[2:6, 2:6] = 2  # 16 px: skipped
    labels[90:, :] = 65535  # ignore band
    iio.imwrite(tmp_path / "images/a.png", (image.clip(0, 1) * 255).astype(np.uint8))
    iio.imwrite(tmp_path / "labels/a.png", labels)
    report = evaluate_dataset(tmp_path, max_clicks=2)
    assert [o.name for o in report.objects] == ["a#1"]


def test_cli_plots_curves_from_reports(tmp_path):
    from napari_iis.core.evaluation import EvaluationReport, ObjectResult

    report = EvaluationReport("toy", "watershed", 3, [ObjectResult("a#1", [0.5, 0.8, 0.95], [0.01] * 3),
                                                      ObjectResult("b#1", [0.9], [0.01])])
    report.to_json(tmp_path / "toy.json")
    out = tmp_path / "curves.png"
    assert main(["plot", str(tmp_path / "toy.json"), "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"

    from napari_iis.core.plots import miou_curve
    import json

    assert np.allclose(miou_curve(json.loads((tmp_path / "toy.json").read_text())), [0.7, 0.85, 0.925])
    from napari_iis.core.plots import method_label

    assert method_label({"engine": "network", "first_prompt": "box"}) == "network, box first"
