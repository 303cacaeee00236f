from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from conftest import disk_image
from napari_iis.cli import main
from napari_iis.core.evaluation3d import evaluate_volumes


@pytest.fixture
def ball_dataset(tmp_path):
    volume, truth = disk_image(shape=(24, 48, 56), centre=(12, 24, 28), radius=9)
    tifffile.imwrite(tmp_path / "ball_image.tif", (volume.clip(0, 1) * 255).astype(np.uint8))
    tifffile.imwrite(tmp_path / "ball_labels.tif", truth.astype(np.uint16))
    return tmp_path


def test_propagation_mode_on_a_ball(ball_dataset):
    seen = []
    report = evaluate_volumes(ball_dataset, "watershed", "propagate", progress=lambda items: seen.extend(items) or seen)
    assert [name for _, name in seen] == ["ball#1"]  # progress counts objects, not volumes
    (result,) = report.objects
    assert result.dice[0] > 0.8 and result.slices >= 12 and 1 <= result.slice_clicks <= 5
    assert report.summary()["Dice"] == pytest.approx(result.dice[0])


def test_clicks_mode_on_a_ball(ball_dataset):
    report = evaluate_volumes(ball_dataset, "watershed", "clicks", max_clicks=3)
    summary = report.summary()
    assert summary["Dice@1"] > 0.8 and summary["NoC@85"] <= 3


def test_each_mode_clicks_once_on_every_nucleus_of_a_held_out_stack(data_dir, tmp_path):
    stack = data_dir / "3d/synthetic_nuclei"
    scores = {}
    for engine in ("network3d", "watershed"):
        report = evaluate_volumes(stack, engine, "each", max_objects=12)
        assert [o.name for o in report.objects] == sorted(o.name for o in report.objects)
        assert len(report.objects) == 12 and all(len(o.dice) == 1 for o in report.objects)
        scores[engine] = report.summary()["Dice"]
    assert scores["network3d"] > max(0.55, scores["watershed"] + 0.1)
    out = tmp_path / "each.json"
    assert main(["evaluate3d", str(stack), "--mode", "each", "--engine", "network3d", "--max-objects", "3",
                 "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["mode"] == "each" and written["summary"]["objects"] == 3


def test_corrections_mode_propagates_after_each_slice_click(ball_dataset, tmp_path):
    report = evaluate_volumes(ball_dataset, "watershed", "corrections", max_clicks=3)
    (result,) = report.objects
    assert result.dice[0] > 0.8  # one click on a slice, then the whole ball by propagation
    clicks_only = evaluate_volumes(ball_dataset, "watershed", "propagate", max_slice_clicks=1).objects[0]
    assert result.dice[0] == pytest.approx(clicks_only.dice[0], abs=0.02)
    out = tmp_path / "corrections.json"
    report.to_json(out)
    assert json.loads(out.read_text())["mode"] == "corrections"
    assert main(["plot", str(out), "--out", str(tmp_path / "c.png")]) == 0


def test_cli_on_real_volumes(data_dir, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["evaluate3d", str(data_dir / "3d/ct_aorta"), "--mode", "propagate", "--max-objects", "2",
                 "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["summary"]["objects"] == 2 and all(0 <= o["dice"][0] <= 1 for o in payload["objects"])
    assert "slices/s" in capsys.readouterr().out
    assert main(["evaluate3d", str(tmp_path)]) == 2


def test_cli_takes_other_weights_for_the_default_engine_of_each_mode(ball_dataset, tmp_path):
    from napari_iis.engines.network.engine import WEIGHTS_3D, packaged_weights

    runs = {"propagate": packaged_weights(), "clicks": packaged_weights(WEIGHTS_3D)}
    reports = {}
    for mode, weights in runs.items():
        copy = tmp_path / mode / weights.name
        copy.parent.mkdir()
        copy.write_bytes(weights.read_bytes())
        out = tmp_path / f"{mode}.json"
        engine = "network" if mode == "propagate" else "network3d"
        assert main(["evaluate3d", str(ball_dataset), "--mode", mode, "--max-clicks", "2", "--engine", engine,
                     "--weights", str(copy), "--json", str(out)]) == 0
        reports[mode] = json.loads(out.read_text())
        assert reports[mode]["engine"] == engine
    # with no engine named, propagation takes the 2D network (its weights given) and clicks the watershed
    out = tmp_path / "default.json"
    assert main(["evaluate3d", str(ball_dataset), "--mode", "propagate", "--weights", str(tmp_path / "propagate" / runs["propagate"].name),
                 "--json", str(out)]) == 0
    default = json.loads(out.read_text())
    assert default["engine"] == "network"
    assert default["objects"][0]["dice"] == reports["propagate"]["objects"][0]["dice"]
    assert main(["evaluate3d", str(ball_dataset), "--mode", "clicks", "--weights", str(tmp_path / "clicks" / runs["clicks"].name)]) == 2


def test_propagation_from_the_true_start_slice(data_dir, tmp_path):
    # the watershed on real sphere stacks: 5 clicks on the largest slice leave it below
    # IoU 0.9, and propagation from the true mask there scores higher
    dataset = data_dir / "3d/synthetic_spheres"
    from_clicks = evaluate_volumes(dataset, "watershed", "propagate", max_objects=8)
    from_truth = evaluate_volumes(dataset, "watershed", "propagate", max_objects=8, start="truth")
    assert [o.name for o in from_truth.objects] == [o.name for o in from_clicks.objects]
    assert all(o.slice_clicks == 0 for o in from_truth.objects)
    assert sum(o.slices > 0 for o in from_truth.objects) >= 0.8 * len(from_truth.objects)
    assert from_truth.summary()["Dice"] > from_clicks.summary()["Dice"] + 0.05
    out = tmp_path / "truth.json"
    assert main(["evaluate3d", str(dataset), "--start", "truth", "--max-objects", "1", "--engine", "watershed",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["start"] == "truth"
    with pytest.raises(ValueError, match="for --mode propagate"):
        evaluate_volumes(dataset, "watershed", "clicks", start="truth")


def test_3d_clicks_reports_plot_as_dice_curves(ball_dataset, tmp_path):
    from napari_iis.core.plots import miou_curve

    clicks, propagation = tmp_path / "clicks.json", tmp_path / "propagation.json"
    report = evaluate_volumes(ball_dataset, "watershed", "clicks", max_clicks=12)
    report.to_json(clicks)
    payload = json.loads(clicks.read_text())
    assert payload["max_clicks"] == 12 and report.summary()["NoC@90"] <= 12
    curve = miou_curve(payload)
    assert curve.shape == (12,) and curve[0] == pytest.approx(report.summary()["Dice@1"])
    out = tmp_path / "dice.png"
    assert main(["plot", str(clicks), "--out", str(out)]) == 0 and out.read_bytes()[:4] == b"\x89PNG"

    evaluate_volumes(ball_dataset, "watershed", "propagate").to_json(propagation)
    assert main(["plot", str(propagation), "--out", str(out)]) == 2  # one Dice per object: no curve


def test_labels_saved_flipped_are_read_on_the_image_grid(tmp_path):
    from napari_iis.core.evaluation3d import volume_cases
    from napari_iis.io.nifti import write_nifti

    image, ball = disk_image((12, 40, 40), (6, 14, 20), 5)
    affine = np.diag([-0.8, -0.8, 2.0, 1.0])
    write_nifti(tmp_path / "ball_image.nii.gz", (image * 1000).astype(np.int16), affine)
    # the labels' y axis runs the other way, as some tools write it
    flipped = affine @ np.array([[1, 0, 0, 0], [0, -1, 0, 39], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    write_nifti(tmp_path / "ball_labels.nii.gz", ball[:, ::-1].astype(np.uint8), flipped)
    (case,) = volume_cases(tmp_path)
    np.testing.assert_array_equal(case.objects["ball#1"], ball)
