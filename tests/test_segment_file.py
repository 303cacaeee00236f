"""``napari-iis segment``: an image file and a CSV of prompts in, a labels file out."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from napari_builtins.io import napari_write_points, napari_write_shapes

from conftest import nuclei_series
from napari_iis.cli import main
from napari_iis.core.clicker import first_click
from napari_iis.core.metrics import dice, iou
from napari_iis.core.prompt_table import read_prompt_table
from napari_iis.core.prompts import Box, Click, Lasso, Scribble
from napari_iis.io.nifti import read_nifti, write_nifti
from napari_iis.io.tiff import read_tiff, write_tiff
from napari_iis.napari_glue.io_hooks import read_image_layer
from napari_iis.sample_data import load_ct, load_sample


def _write_points(path, points, **features) -> None:
    """As napari's File → Save Selected Layers writes a Points layer."""
    state = {"properties": {name: np.asarray(values) for name, values in features.items()}}
    napari_write_points(str(path), np.asarray(points, dtype=float), state)


def test_a_saved_napari_points_layer_reads_as_objects_with_signed_clicks(tmp_path):
    path = tmp_path / "prompts.csv"
    _write_points(path, [[10, 20], [12, 22], [30, 40], [50, 60]],
                  positive=[True, False, True, True], object=[3, 3, 1, 3])
    objects = read_prompt_table(path, ndim=2)
    assert list(objects) == [3, 1]  # file order
    assert objects[3] == [Click((10.0, 20.0), True), Click((12.0, 22.0), False), Click((50.0, 60.0), True)]
    assert objects[1] == [Click((30.0, 40.0), True)]

    _write_points(path, [[5, 6, 7], [8, 9, 10]])  # no features: one object per row
    assert read_prompt_table(path, ndim=3) == {1: [Click((5.0, 6.0, 7.0))], 2: [Click((8.0, 9.0, 10.0))]}


def test_a_saved_shapes_layer_reads_as_boxes_lassos_and_scribbles(tmp_path):
    path = tmp_path / "shapes.csv"
    rectangle = np.array([[1, 2], [1, 8], [9, 8], [9, 2]], dtype=float)
    polygon = np.array([[20, 20], [20, 30], [30, 25]], dtype=float)
    path_shape = np.array([[3, 3], [4, 5], [6, 6]], dtype=float)
    napari_write_shapes(str(path), [rectangle, polygon, path_shape], {"shape_type": ["rectangle", "polygon", "path"]})
    objects = read_prompt_table(path, ndim=2)
    assert objects[1] == [Box((1.0, 2.0), (9.0, 8.0))]
    assert isinstance(objects[2][0], Lasso) and len(objects[2][0].points) == 3
    assert isinstance(objects[3][0], Scribble) and objects[3][0].positive


@pytest.mark.parametrize("text, said", [
    ("y,x,positive\n1,2,0\n", "row 2: a negative click needs an 'object' id"),
    ("index,axis-0,axis-1,axis-2\n0,1,2,3\n", "3 coordinates per row"),
    ("y,x,positive\n1,2,maybe\n", "row 2: positive must be"),
    ("row,col\n1,2\n", "no coordinate columns"),
    ("y,x,object\n1,2,0\n", "an object id is a whole number from 1"),
    ("y,x\n", "holds no prompts"),
])
def test_a_bad_prompt_table_names_the_row_and_the_fix(tmp_path, text, said):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=said):
        read_prompt_table(path, ndim=2)


def _nuclei_files(tmp_path, count: int):
    image, labels = load_sample("nuclei")
    iio.imwrite(tmp_path / "nuclei.png", image)
    ids, areas = np.unique(labels[labels > 0], return_counts=True)
    truths = [labels == i for i in ids[areas >= 100][:count]]
    return image, truths


def test_segment_writes_one_label_per_clicked_nucleus_and_an_overlay(tmp_path, capsys):
    image, truths = _nuclei_files(tmp_path, 12)
    _write_points(tmp_path / "clicks.csv", [first_click(t).position for t in truths])
    out, overlay = tmp_path / "labels.png", tmp_path / "overlay.png"
    assert main(["segment", str(tmp_path / "nuclei.png"), str(tmp_path / "clicks.csv"), "-o", str(out),
                 "--overlay", str(overlay)]) == 0
    labels = iio.imread(out)
    assert labels.shape == image.shape and labels.max() == len(truths)
    assert np.mean([iou(t, labels == k) for k, t in enumerate(truths, start=1)]) > 0.7
    shown = iio.imread(overlay)
    assert shown.shape == (*image.shape, 3)
    assert not np.array_equal(shown[truths[0]][:, 0], shown[truths[0]][:, 1])  # the first nucleus is tinted
    printed = capsys.readouterr().out
    assert "label 12: 1 prompt," in printed and f"wrote {out}" in printed


def test_a_gray_png_with_alpha_is_segmented_as_its_gray_image(tmp_path):
    image, truths = _nuclei_files(tmp_path, 3)
    iio.imwrite(tmp_path / "nuclei_alpha.png", np.dstack([image, np.full_like(image, 255)]))  # mode LA
    _write_points(tmp_path / "clicks.csv", [first_click(t).position for t in truths])
    for name in ("nuclei", "nuclei_alpha"):
        assert main(["segment", str(tmp_path / f"{name}.png"), str(tmp_path / "clicks.csv"), "-o",
                     str(tmp_path / f"{name}.npy")]) == 0
    with_alpha = np.load(tmp_path / "nuclei_alpha.npy")
    assert with_alpha.shape == image.shape
    np.testing.assert_array_equal(with_alpha, np.load(tmp_path / "nuclei.npy"))
    assert min(iou(t, with_alpha == k) for k, t in enumerate(truths, start=1)) > 0.6


def test_segment_follows_an_object_column_box_first_then_a_negative_click(tmp_path):
    image, truths = _nuclei_files(tmp_path, 3)
    rows, cols = np.nonzero(truths[2])
    box = np.array([[rows.min(), cols.min()], [rows.min(), cols.max()], [rows.max(), cols.max()],
                    [rows.max(), cols.min()]], dtype=float)
    napari_write_shapes(str(tmp_path / "box.csv"), [box], {"shape_type": ["rectangle"]})
    assert main(["segment", str(tmp_path / "nuclei.png"), str(tmp_path / "box.csv"), "-o",
                 str(tmp_path / "boxed.npy")]) == 0
    boxed = np.load(tmp_path / "boxed.npy")
    assert iou(truths[2], boxed == 1) > 0.75

    # one object of two clicks in file order: one inside it, then one just outside it (negative)
    background = np.argwhere(~truths[0])
    centre = np.asarray(first_click(truths[0]).position)
    outside = background[np.argmin(np.linalg.norm(background - centre, axis=1))]
    (tmp_path / "object.csv").write_text(
        f"y,x,positive,object\n{centre[0]},{centre[1]},1,7\n{outside[0]},{outside[1]},0,7\n")
    assert main(["segment", str(tmp_path / "nuclei.png"), str(tmp_path / "object.csv"), "-o",
                 str(tmp_path / "object.npy")]) == 0
    labelled = np.load(tmp_path / "object.npy")
    assert set(np.unique(labelled)) == {0, 7} and iou(truths[0], labelled == 7) > 0.6
    assert labelled[tuple(outside)] == 0


def test_a_prompt_outside_the_image_fails_before_segmenting_and_writes_nothing(tmp_path, capsys):
    _nuclei_files(tmp_path, 1)
    (tmp_path / "clicks.csv").write_text("y,x\n100,100\n900,100\n")
    out = tmp_path / "labels.png"
    assert main(["segment", str(tmp_path / "nuclei.png"), str(tmp_path / "clicks.csv"), "-o", str(out)]) == 2
    assert "object 2: click coordinate (900.0, 100.0) is outside the image" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".partial*"))
    # an output a 2D image's labels cannot go to is refused before any segmenting
    (tmp_path / "clicks.csv").write_text("y,x\n100,100\n")
    for name, said in (("labels.nii.gz", "NIfTI holds volumes"), ("labels.jpg", "save labels as"),
                       ("missing/labels.png", "does not exist: create it first")):
        assert main(["segment", str(tmp_path / "nuclei.png"), str(tmp_path / "clicks.csv"), "-o",
                     str(tmp_path / name)]) == 2
        assert said in capsys.readouterr().err


def test_segment_propagates_a_ct_organ_and_saves_it_on_the_files_grid(tmp_path, capsys):
    image, labels, spacing = load_ct()
    write_nifti(tmp_path / "ct.nii.gz", image, spacing=spacing)
    write_nifti(tmp_path / "ct_labels.nii.gz", labels, spacing=spacing)
    shown_truth = read_image_layer(tmp_path / "ct_labels.nii.gz")[0] == 2  # on the grid napari shows
    plane = int(np.argmax(shown_truth.sum(axis=(1, 2))))
    click = first_click(shown_truth[plane]).position
    (tmp_path / "organ.csv").write_text(f"z,y,x\n{plane},{click[0]},{click[1]}\n")
    out = tmp_path / "organ_labels.nii.gz"
    assert main(["segment", str(tmp_path / "ct.nii.gz"), str(tmp_path / "organ.csv"), "--propagate", "-o", str(out),
                 "--overlay", str(tmp_path / "organ.png")]) == 0
    saved = read_nifti(out)
    source = read_nifti(tmp_path / "ct.nii.gz")
    assert np.allclose(saved.affine, source.affine) and saved.data.shape == image.shape
    organ = labels == 2  # the file's own grid
    assert dice(organ, saved.data == 1) > 0.75  # measured 0.86 from this one click
    assert np.count_nonzero((saved.data == 1).any(axis=(1, 2))) > 5
    assert "mL) on slices" in capsys.readouterr().out
    # the same click in millimetres from the volume's corner
    (tmp_path / "organ_mm.csv").write_text(
        "z,y,x\n" + ",".join(str(c * s) for c, s in zip((plane, *click), spacing)) + "\n")
    assert main(["segment", str(tmp_path / "ct.nii.gz"), str(tmp_path / "organ_mm.csv"), "--propagate", "--physical",
                 "-o", str(tmp_path / "organ_mm.nii.gz")]) == 0
    assert np.array_equal(read_nifti(tmp_path / "organ_mm.nii.gz").data, saved.data)


def test_a_microscope_stack_propagates_with_the_watershed_and_a_ct_with_the_network(tmp_path, data_dir):
    # the nucleus that the network carries into the one stacked on it (tests/test_volumes.py)
    from napari_iis.engines.network.engine import NetworkEngine
    from napari_iis.engines.watershed import WatershedEngine
    from napari_iis.files import open_session

    stack = data_dir / "3d/synthetic_nuclei/stardist_synth_image.tif"
    assert isinstance(open_session(stack, slice_mode=True)[0].propagation_engine, WatershedEngine)
    image, _, spacing = load_ct()
    write_nifti(tmp_path / "ct.nii.gz", image, spacing=spacing)
    assert isinstance(open_session(tmp_path / "ct.nii.gz", engine="network", slice_mode=True)[0].propagation_engine, NetworkEngine)
    assert isinstance(open_session(stack, engine="network", slice_mode=True, propagation_engine=None)[0].propagation_engine, NetworkEngine)

    truth = read_tiff(data_dir / "3d/synthetic_nuclei/stardist_synth_labels.tif").data == 138
    plane = int(np.argmax(truth.sum(axis=(1, 2))))
    (tmp_path / "nucleus.csv").write_text("z,y,x\n" + ",".join(str(c) for c in (plane, *first_click(truth[plane]).position)))
    dices = {}
    for engine in ("auto", "network"):
        out = tmp_path / f"nucleus_{engine}.tif"
        assert main(["segment", str(stack), str(tmp_path / "nucleus.csv"), "--propagate", "--propagate-with", engine,
                     "-o", str(out)]) == 0
        dices[engine] = dice(truth, read_tiff(out).data == 1)
    assert dices["auto"] > 0.7 and dices["auto"] > dices["network"] + 0.1, dices  # measured 0.79 and 0.50


def test_negative_hounsfield_units_and_millimetre_tiffs_survive_a_round_trip(tmp_path):
    image, _, spacing = load_ct()
    write_nifti(tmp_path / "ct.nii.gz", image, spacing=spacing)
    assert np.array_equal(read_nifti(tmp_path / "ct.nii.gz").data, image)  # int16 HU, not wrapped to uint16
    write_tiff(tmp_path / "ct_labels.tif", (image > 0).astype(np.uint8), spacing=spacing, unit="mm")
    stack = read_tiff(tmp_path / "ct_labels.tif")
    assert stack.unit == "µm" and np.allclose(stack.spacing, [s * 1000 for s in spacing])


def test_a_tiff_with_channels_is_segmented_in_all_of_them_and_time_points_are_refused(tmp_path, capsys):
    import tifffile

    image, truths = _nuclei_files(tmp_path, 6)
    noise = np.random.default_rng(0).integers(0, 40, image.shape, dtype=np.uint8)
    tifffile.imwrite(tmp_path / "two_channels.tif", np.stack([noise, image]), imagej=True, metadata={"axes": "CYX"})
    _write_points(tmp_path / "clicks.csv", [first_click(t).position for t in truths])
    assert main(["segment", str(tmp_path / "two_channels.tif"), str(tmp_path / "clicks.csv"), "-o",
                 str(tmp_path / "labels.tif")]) == 0
    labels = read_tiff(tmp_path / "labels.tif").data
    assert labels.shape == image.shape
    assert np.mean([iou(t, labels == k) for k, t in enumerate(truths, start=1)]) > 0.6

    tifffile.imwrite(tmp_path / "movie.tif", np.stack([np.stack([noise, image])] * 3), imagej=True,
                     metadata={"axes": "TCYX"})
    assert main(["segment", str(tmp_path / "movie.tif"), str(tmp_path / "clicks.csv"), "-o",
                 str(tmp_path / "movie_labels.tif")]) == 2
    assert "save one time point as its own file" in capsys.readouterr().err


def test_one_volume_of_a_tzyx_series_is_segmented_with_frame(data_dir, tmp_path, capsys):
    import tifffile

    series, truths = nuclei_series(data_dir)
    tifffile.imwrite(tmp_path / "movie.tif", series, imagej=True, resolution=(1 / 0.5, 1 / 0.5),
                     metadata={"axes": "TZYX", "spacing": 2.0, "unit": "um"})
    plane = int(np.argmax(truths[2].sum(axis=(1, 2))))
    _write_points(tmp_path / "clicks.csv", [(plane, *np.argwhere(truths[2][plane]).mean(axis=0).round())])
    assert main(["segment", str(tmp_path / "movie.tif"), str(tmp_path / "clicks.csv"), "-o",
                 str(tmp_path / "labels.tif")]) == 2
    assert "a series of 3 volumes of shape (31, 61, 57): choose the one to segment with --frame T (0–2)" in \
        capsys.readouterr().err
    assert main(["segment", str(tmp_path / "movie.tif"), str(tmp_path / "clicks.csv"), "-o",
                 str(tmp_path / "labels.tif"), "--frame", "2", "--propagate"]) == 0
    labels = read_tiff(tmp_path / "labels.tif")
    assert labels.data.shape == series.shape[1:] and labels.spacing == pytest.approx((2.0, 0.5, 0.5))
    assert dice(truths[2], labels.data == 1) > 0.7 and dice(truths[0], labels.data == 1) < 0.7


def test_a_phase_of_a_4d_nifti_is_segmented_as_its_own_volume_would_be(data_dir, tmp_path):
    import nibabel as nib

    ct_path = data_dir / "3d/ct_abdomen/abdomen3mm_image.nii.gz"
    raw = nib.load(str(ct_path))
    voxels = np.asanyarray(raw.dataobj)
    nib.save(nib.Nifti1Image(np.stack([np.roll(voxels, 2, axis=0), voxels], -1), raw.affine),
             str(tmp_path / "phases.nii.gz"))
    _, labels, _ = load_ct()
    organ = labels == 2
    plane = int(np.argmax(organ.sum(axis=(1, 2))))
    _write_points(tmp_path / "organ.csv", [(plane, *first_click(organ[plane]).position)])
    for image, out, extra in ((tmp_path / "phases.nii.gz", "phase.nii.gz", ["--frame", "1"]),
                              (ct_path, "volume.nii.gz", [])):
        assert main(["segment", str(image), str(tmp_path / "organ.csv"), "-o", str(tmp_path / out), *extra]) == 0
    phase, volume = (nib.load(str(tmp_path / name)) for name in ("phase.nii.gz", "volume.nii.gz"))
    assert np.allclose(phase.affine, raw.affine) and phase.shape == raw.shape
    assert np.asanyarray(volume.dataobj).any()
    assert np.array_equal(np.asanyarray(phase.dataobj), np.asanyarray(volume.dataobj))
