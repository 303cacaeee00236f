from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from napari_iis import InteractiveSession
from napari_iis.io.nifti import Volume, on_grid, radiological_flips, read_nifti, write_nifti
from napari_iis.sample_data import load_ct


@pytest.fixture
def ct_path(data_dir):
    return data_dir / "3d/ct_abdomen/abdomen3mm_image.nii.gz"


def test_nifti_reads_zyx_with_spacing_and_keeps_its_dtype(ct_path):
    volume = read_nifti(ct_path)
    raw = nib.load(str(ct_path))
    assert volume.data.shape == raw.shape[::-1]
    assert volume.data.dtype == raw.get_data_dtype()  # CT stays int16: no float copy
    assert volume.spacing == (3.0, 3.0, 3.0)
    assert np.allclose(volume.affine, raw.affine)
    x, y, z = 40, 50, 10
    assert volume.data[z, y, x] == np.asanyarray(raw.dataobj)[x, y, z]


def test_labels_round_trip_on_the_image_grid(ct_path, tmp_path):
    image = read_nifti(ct_path)
    labels = np.zeros(image.data.shape, np.uint16)
    labels[5:9, 20:40, 30:60] = 3
    labels[12, 50, 70] = 300
    out = write_nifti(tmp_path / "labels.nii.gz", labels, image.affine)
    back = read_nifti(out)
    assert np.array_equal(back.data, labels)
    assert np.allclose(back.affine, image.affine) and back.spacing == image.spacing
    saved = nib.load(str(out))
    assert saved.shape == nib.load(str(ct_path)).shape  # same voxel grid as the image


def test_spacing_without_affine(tmp_path):
    out = write_nifti(tmp_path / "v.nii", np.ones((4, 5, 6), np.uint8), spacing=(5.0, 0.7, 0.7))
    assert read_nifti(out).spacing == pytest.approx((5.0, 0.7, 0.7))


def test_the_spacing_unit_is_read_and_written_back(ct_path, tmp_path):
    assert read_nifti(ct_path).unit == "mm"  # the file says "unknown", read as mm as ITK reads it
    stack = write_nifti(tmp_path / "cells.nii.gz", np.ones((4, 5, 6), np.uint8), spacing=(2.0, 0.3, 0.3),
                        unit="micron")
    assert read_nifti(stack).unit == "µm"
    from napari_iis.napari_glue.io_hooks import read_layers, write_labels

    (data, meta, _), = read_layers(str(stack))
    assert meta["units"] == ("µm",) * 3  # napari's scale bar and the widget's sizes in microns
    labels = write_labels(str(tmp_path / "cells_labels.nii.gz"), data, meta)[0]
    assert nib.load(labels).header.get_xyzt_units()[0] == "micron"


def test_a_ct_stored_unsigned_with_an_intercept_reads_as_int16_hounsfield_units(ct_path, tmp_path):
    from napari_iis.io.nifti import CT_SOFT_TISSUE_WINDOW, ct_window

    original = nib.load(str(ct_path))
    hu = np.asanyarray(original.dataobj)
    stored = nib.Nifti1Image((hu.astype(np.int32) + 2048).astype(np.uint16), original.affine)
    stored.header.set_slope_inter(1, -2048)  # as some converters write a CT
    nib.save(stored, str(tmp_path / "ct_uint16.nii.gz"))
    volume = read_nifti(tmp_path / "ct_uint16.nii.gz")
    assert volume.data.dtype == np.int16  # not nibabel's float64: 4 × less memory
    assert np.array_equal(volume.data, read_nifti(ct_path).data)
    assert ct_window(volume.data) == CT_SOFT_TISSUE_WINDOW


def test_a_float_ct_gets_the_soft_tissue_window_in_napari(ct_path, tmp_path):
    from napari_iis.io.nifti import CT_SOFT_TISSUE_WINDOW
    from napari_iis.napari_glue.io_hooks import read_layers

    original = nib.load(str(ct_path))
    resampled = np.asanyarray(original.dataobj).astype(np.float32) + 0.25  # as a resampling tool saves it
    nib.save(nib.Nifti1Image(resampled, original.affine), str(tmp_path / "ct_float.nii.gz"))
    (data, meta, _), = read_layers(str(tmp_path / "ct_float.nii.gz"))
    assert data.dtype == np.float32
    assert meta["contrast_limits"] == CT_SOFT_TISSUE_WINDOW


def test_a_float_ct_with_nan_outside_its_field_of_view_is_still_a_ct(ct_path, tmp_path):
    from napari_iis.io.nifti import CT_SOFT_TISSUE_WINDOW
    from napari_iis.napari_glue.io_hooks import read_layers

    original = nib.load(str(ct_path))
    hu = np.asanyarray(original.dataobj).astype(np.float32)
    x, y = np.ogrid[: hu.shape[0], : hu.shape[1]]
    outside = (x - hu.shape[0] / 2) ** 2 + (y - hu.shape[1] / 2) ** 2 > (0.48 * min(hu.shape[:2])) ** 2
    hu[outside] = np.nan  # the corners a scanner never saw
    nib.save(nib.Nifti1Image(hu, original.affine), str(tmp_path / "ct_fov.nii.gz"))
    (data, meta, _), = read_layers(str(tmp_path / "ct_fov.nii.gz"))
    assert meta["contrast_limits"] == CT_SOFT_TISSUE_WINDOW
    session = InteractiveSession(data, intensity_window=meta["contrast_limits"])
    corner = session.image.read((slice(0, 2), slice(0, 8), slice(0, 8)))
    assert np.isfinite(corner).all() and (corner == 0).all()


def test_a_singleton_fourth_axis_is_dropped_and_a_time_series_refused(tmp_path):
    nib.save(nib.Nifti1Image(np.arange(60, dtype=np.int16).reshape(3, 4, 5, 1), np.eye(4)), str(tmp_path / "one.nii"))
    volume = read_nifti(tmp_path / "one.nii")
    assert volume.data.shape == (5, 4, 3) and volume.data[2, 1, 0] == 7
    nib.save(nib.Nifti1Image(np.zeros((3, 4, 5, 6), np.int16), np.eye(4)), str(tmp_path / "series.nii"))
    with pytest.raises(ValueError, match="6 volumes .* own 3D file"):
        read_nifti(tmp_path / "series.nii")


def test_bad_volume_is_refused(tmp_path):
    with pytest.raises(ValueError, match="3 axes"):
        write_nifti(tmp_path / "v.nii", np.ones((4, 5)))


def test_napari_opens_nifti_with_spacing_and_saves_labels_on_its_grid(make_napari_viewer, ct_path, tmp_path):
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(ct_path), plugin="napari-iis")
    assert layer.data.shape == (30, 101, 122) and tuple(layer.scale) == (3.0, 3.0, 3.0)
    assert [str(u) for u in layer.units] == ["millimeter"] * 3
    assert tuple(layer.contrast_limits) == (-160, 240)  # a CT in HU opens in the soft-tissue window
    # the file is stored RAS; it shows as radiologists read it, as the packaged sample does
    np.testing.assert_array_equal(layer.data, load_ct()[0])
    labels = viewer.add_labels(np.zeros(layer.data.shape, np.uint8), name="organ",
                               scale=layer.scale, metadata=dict(layer.metadata))
    labels.data[10:12, 40:50, 50:60] = 1
    out = tmp_path / "organ.nii.gz"
    labels.save(str(out), plugin="napari-iis")  # through the npe2 writer
    saved = nib.load(str(out))
    assert np.allclose(saved.affine, nib.load(str(ct_path)).affine)
    # voxel for voxel on the file's own grid: flipped back as it was shown
    on_file_grid = np.transpose(np.asanyarray(saved.dataobj), (2, 1, 0))
    assert np.array_equal(on_file_grid, labels.data[:, ::-1, ::-1])
    # and opened again, the labels show where they were painted
    (reopened,) = viewer.open(str(out), plugin="napari-iis", layer_type="labels")
    assert np.array_equal(np.asarray(reopened.data), labels.data)



def test_a_4d_nifti_opens_as_a_series_of_volumes_and_its_labels_save_on_its_grid(make_napari_viewer, ct_path,
                                                                                   tmp_path):
    raw = nib.load(str(ct_path))
    phases = np.stack([np.asanyarray(raw.dataobj), np.roll(np.asanyarray(raw.dataobj), 2, axis=0)], axis=-1)
    series_path = tmp_path / "ct_phases.nii.gz"
    nib.save(nib.Nifti1Image(phases, raw.affine), str(series_path))
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(series_path), plugin="napari-iis")
    assert layer.data.shape == (2, 30, 101, 122) and tuple(layer.scale) == (1.0, 3.0, 3.0, 3.0)
    assert tuple(layer.contrast_limits) == (-160, 240)
    np.testing.assert_array_equal(layer.data[0], load_ct()[0])  # each phase as radiologists read it
    labels = viewer.add_labels(np.zeros(layer.data.shape, np.uint8), name="organ",
                               scale=layer.scale, metadata=dict(layer.metadata))
    labels.data[1, 10:12, 40:50, 50:60] = 1
    out = tmp_path / "organ_phases.nii.gz"
    labels.save(str(out), plugin="napari-iis")
    saved = nib.load(str(out))
    assert saved.shape == phases.shape and np.allclose(saved.affine, raw.affine)
    on_file_grid = np.transpose(np.asanyarray(saved.dataobj), (3, 2, 1, 0))
    assert np.array_equal(on_file_grid, labels.data[:, :, ::-1, ::-1])
    (reopened,) = viewer.open(str(out), plugin="napari-iis", layer_type="labels")
    assert np.array_equal(np.asarray(reopened.data), labels.data)

def test_dicom_series_is_one_volume_on_the_grid_of_its_nifti_labels(data_dir):
    from napari_iis.io.dicom import read_dicom_series

    volume = read_dicom_series(data_dir / "3d/ct_abdomen/dicom_series")
    assert volume.data.shape == (20, 512, 512) and volume.data.dtype == np.int16
    assert volume.spacing == pytest.approx((2.0, 0.9765625, 0.9765625))
    labels = on_grid(read_nifti(data_dir / "3d/ct_abdomen/dicom_series_labels.nii.gz"), volume.affine,
                     volume.data.shape)
    # the labels file's y axis runs the other way: on the DICOM grid they sit on soft tissue, not air
    organs = volume.data[labels > 0]
    assert organs.size > 1000 and -200 < np.median(organs) < 300
    assert np.median(volume.data[labels == 0]) < np.median(organs)


def test_a_dicom_series_without_patient_geometry_opens_in_instance_order(data_dir, tmp_path):
    import pydicom

    from napari_iis.io.dicom import read_dicom_series

    source = data_dir / "3d/ct_abdomen/dicom_series"
    original = read_dicom_series(source)
    for path in sorted(source.iterdir()):  # as an anonymiser or a secondary capture writes them
        dataset = pydicom.dcmread(str(path))
        del dataset.ImagePositionPatient, dataset.ImageOrientationPatient
        dataset.save_as(str(tmp_path / f"{path.name}.dcm"))
    stripped = read_dicom_series(tmp_path)
    assert stripped.data.dtype == np.int16 and stripped.data.shape == original.data.shape
    thickness = float(pydicom.dcmread(str(next(source.iterdir()))).SliceThickness)
    # the slice thickness stands in for the positions' spacing (3 mm slices every 2 mm here)
    assert stripped.spacing == pytest.approx((thickness, *original.spacing[1:]))
    in_order = [np.array_equal(stripped.data, original.data), np.array_equal(stripped.data, original.data[::-1])]
    assert any(in_order)


def test_a_localizer_mixed_into_a_series_is_named(data_dir, tmp_path):
    import shutil

    import pydicom

    from napari_iis.io.dicom import read_dicom_series

    source = data_dir / "3d/ct_abdomen/dicom_series"
    for path in sorted(source.iterdir())[:3]:
        shutil.copy(path, tmp_path / path.name)
    localizer = pydicom.dcmread(str(next(source.iterdir())))
    localizer.set_pixel_data(localizer.pixel_array[:256], "MONOCHROME2", int(localizer.BitsStored))
    localizer.save_as(str(tmp_path / "localizer.dcm"))
    with pytest.raises(ValueError, match="2 sizes .* localizer"):
        read_dicom_series(tmp_path)


def test_labels_in_another_orientation_come_onto_the_image_grid():
    image_affine = np.array([[-0.5, 0, 0, 10], [0, -0.5, 0, 20], [0, 0, 2.0, -30], [0, 0, 0, 1]])
    shape = (4, 6, 5)  # (z, y, x)
    truth = np.random.default_rng(0).integers(1, 9, shape).astype(np.uint8)
    # the same voxels stored x-y swapped, y flipped and two voxels of z padding below
    stored = np.zeros((6, 5, 6), np.uint8)  # (z, y, x) of the stored file: its x is the image's y
    stored[2:] = np.transpose(truth, (0, 2, 1))[:, ::-1, :]
    # stored voxel (x', y', z') is image voxel (x = 4 - y', y = x', z = z' - 2)
    to_image = np.array([[0, -1, 0, 4], [1, 0, 0, 0], [0, 0, 1, -2], [0, 0, 0, 1]], float)
    labels = Volume(stored, (2.0, 0.5, 0.5), image_affine @ to_image)
    np.testing.assert_array_equal(on_grid(labels, image_affine, shape), truth)
    # an image grid wider than the labels: its voxels beyond them are background
    wider = on_grid(labels, image_affine @ np.array([[1, 0, 0, -1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.]]),
                    (4, 6, 7))
    np.testing.assert_array_equal(wider[:, :, 1:6], truth)
    assert not wider[:, :, 0].any() and not wider[:, :, 6].any()
    oblique = image_affine.copy()
    oblique[:2, :2] = [[-0.35, 0.35], [-0.35, -0.35]]
    with pytest.raises(ValueError, match="resample"):
        on_grid(labels, oblique, shape)


def test_dicom_reader_hook(data_dir, tmp_path):
    from napari_iis.napari_glue.io_hooks import get_dicom_reader

    folder = data_dir / "3d/ct_abdomen/dicom_series"
    (data, meta, kind), = get_dicom_reader(str(folder))(str(folder))
    assert kind == "image" and data.shape == (20, 512, 512)
    assert meta["scale"] == pytest.approx((2.0, 0.9765625, 0.9765625))
    assert get_dicom_reader(str(tmp_path)) is None


def test_tiff_stack_round_trips_its_calibration(tmp_path):
    from napari_iis.io.tiff import read_tiff, write_tiff

    labels = np.zeros((6, 20, 30), np.uint16)
    labels[2:4, 5:9, 10:20] = 300
    out = write_tiff(tmp_path / "cells_labels.tif", labels, spacing=(2.0, 0.25, 0.5))
    stack = read_tiff(out)
    assert stack.axes == "ZYX" and np.array_equal(stack.data, labels)
    assert stack.spacing == pytest.approx((2.0, 0.25, 0.5)) and stack.unit == "µm"



def test_a_series_of_volumes_round_trips_as_a_tzyx_tiff_and_opens_with_its_spacing(tmp_path):
    from napari_iis.io.tiff import read_tiff, write_tiff
    from napari_iis.napari_glue.io_hooks import get_tiff_reader

    labels = np.zeros((3, 6, 20, 30), np.uint16)
    labels[1, 2:4, 5:9, 10:20] = 2
    out = write_tiff(tmp_path / "movie_labels.tif", labels, spacing=(1.0, 2.0, 0.25, 0.5))
    stack = read_tiff(out)
    assert stack.axes == "TZYX" and np.array_equal(stack.data, labels) and stack.spatial_ndim == 3
    assert stack.spacing == pytest.approx((2.0, 0.25, 0.5)) and stack.layer_scale == pytest.approx((1, 2, 0.25, 0.5))
    (data, meta, kind), = get_tiff_reader(str(out))(str(out))
    assert kind == "labels" and data.shape == labels.shape
    assert meta["scale"] == pytest.approx((1, 2, 0.25, 0.5)) and meta["units"] == ("pixel", "µm", "µm", "µm")

def test_ome_tiff_spacing_is_converted_to_micrometres(tmp_path):
    import tifffile

    from napari_iis.io.tiff import read_tiff

    path = tmp_path / "stack.ome.tif"
    tifffile.imwrite(path, np.zeros((1, 4, 16, 16), np.uint8), ome=True, metadata={
        "axes": "CZYX", "PhysicalSizeX": 150.0, "PhysicalSizeXUnit": "nm", "PhysicalSizeY": 150.0,
        "PhysicalSizeYUnit": "nm", "PhysicalSizeZ": 1.0})  # Z in the default unit, µm
    stack = read_tiff(path)
    assert stack.axes == "ZYX" and stack.data.shape == (4, 16, 16)  # the size-1 channel axis is dropped
    assert stack.spacing == pytest.approx((1.0, 0.15, 0.15))


def test_uncalibrated_tiff_has_unit_spacing_and_channels_are_refused(tmp_path):
    import tifffile

    from napari_iis.io.tiff import read_tiff

    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((4, 8, 8), np.uint8), photometric="minisblack")
    plain = read_tiff(tmp_path / "plain.tif")
    assert plain.axes == "ZYX" and plain.spacing == (1.0, 1.0, 1.0) and plain.unit is None
    tifffile.imwrite(tmp_path / "two_channels.tif", np.zeros((4, 2, 8, 8), np.uint8), imagej=True,
                     metadata={"axes": "ZCYX"})
    with pytest.raises(ValueError, match="split channels"):
        read_tiff(tmp_path / "two_channels.tif")


def test_an_rgb_tiff_opens_as_an_rgb_image_with_its_pixel_size(tmp_path):
    import tifffile

    from napari_iis.napari_glue.io_hooks import get_tiff_reader

    rgb = np.random.default_rng(1).integers(0, 255, (20, 30, 3)).astype(np.uint8)
    path = tmp_path / "slide_mask_overview.tif"  # "mask" in the name: still an image, being RGB
    tifffile.imwrite(path, rgb, imagej=True, resolution=(4.0, 4.0), metadata={"unit": "um"})
    (data, meta, kind), = get_tiff_reader(str(path))(str(path))
    assert kind == "image" and meta["rgb"] and np.array_equal(data, rgb)
    assert meta["scale"] == pytest.approx((0.25, 0.25))


def test_evaluate3d_reads_a_tiff_stack_with_its_spacing(data_dir, tmp_path):
    from napari_iis.core.evaluation3d import volume_cases
    from napari_iis.io.tiff import read_tiff, write_tiff

    source = data_dir / "3d/synthetic_nuclei"
    image = read_tiff(source / "stardist_synth_image.tif").data
    labels = read_tiff(source / "stardist_synth_labels.tif").data
    write_tiff(tmp_path / "nuclei_image.tif", image, spacing=(1.5, 0.5, 0.5))
    write_tiff(tmp_path / "nuclei_labels.tif", labels, spacing=(1.5, 0.5, 0.5))
    (case,) = volume_cases(tmp_path)
    assert case.spacing == pytest.approx((1.5, 0.5, 0.5))
    assert np.array_equal(case.image, image) and len(case.objects) == len(np.unique(labels[labels > 0]))


def test_the_plugin_claims_only_the_files_it_reads(tmp_path, data_dir):
    """A reader pattern of "*" made napari ask which plugin should open every PNG."""
    from npe2 import PluginManager

    manager = PluginManager()
    manager.discover()

    def claims(path):
        return "napari-iis" in {r.plugin_name for r in manager.iter_compatible_readers([str(path)])}

    assert not claims(tmp_path / "photo.png") and not claims(tmp_path / "notes.txt")
    assert claims(tmp_path / "ct.nii.gz") and claims(tmp_path / "stack.tif") and claims(tmp_path / "slice.dcm")
    assert claims(data_dir / "3d/ct_abdomen/dicom_series")


def test_one_dcm_file_opens_its_whole_series(data_dir, tmp_path):
    from napari_iis.napari_glue.io_hooks import get_dicom_reader

    series = tmp_path / "series"
    series.mkdir()
    for index, source in enumerate(sorted((data_dir / "3d/ct_abdomen/dicom_series").iterdir())):
        (series / f"slice{index:03d}.dcm").symlink_to(source)
    (data, meta, kind), = get_dicom_reader(str(series / "slice007.dcm"))(str(series / "slice007.dcm"))
    assert data.shape == (20, 512, 512) and meta["scale"] == pytest.approx((2.0, 0.9765625, 0.9765625))


def test_napari_opens_a_calibrated_stack_and_its_labels(make_napari_viewer, tmp_path):
    from napari_iis.io.tiff import read_tiff, write_tiff

    volume = np.random.default_rng(0).integers(0, 255, (5, 24, 32)).astype(np.uint8)
    write_tiff(tmp_path / "cells.tif", volume, spacing=(0.8, 0.2, 0.2))
    write_tiff(tmp_path / "cells_labels.tif", (volume > 128).astype(np.uint8), spacing=(0.8, 0.2, 0.2))
    viewer = make_napari_viewer()
    (image,) = viewer.open(str(tmp_path / "cells.tif"), plugin="napari-iis")
    (labels,) = viewer.open(str(tmp_path / "cells_labels.tif"), plugin="napari-iis")
    assert image.__class__.__name__ == "Image" and labels.__class__.__name__ == "Labels"
    assert tuple(image.scale) == pytest.approx((0.8, 0.2, 0.2)) and np.array_equal(image.data, volume)
    assert tuple(labels.scale) == tuple(image.scale)
    out = tmp_path / "cells_labels.nii.gz"
    labels.save(str(out), plugin="napari-iis")  # microscopy labels keep their spacing, in microns
    saved = nib.load(str(out))
    assert saved.header.get_xyzt_units()[0] == "micron"
    assert saved.header.get_zooms() == pytest.approx((0.2, 0.2, 0.8))
    labels.save(str(tmp_path / "for_fiji.tif"), plugin="napari-iis")  # or as a calibrated TIFF
    back = read_tiff(tmp_path / "for_fiji.tif")
    assert np.array_equal(back.data, labels.data) and back.spacing == pytest.approx((0.8, 0.2, 0.2))
    from npe2 import PluginManager

    writer, _ = PluginManager.instance().get_writer(str(tmp_path / "any.tif"), ["labels"])
    assert not writer.command.startswith("napari-iis")  # napari's own TIFF writer stays the default


def test_volumes_are_shown_as_radiologists_read_them():
    lps = np.diag([-0.7, -0.7, 3.0, 1.0])  # DICOM's order: nothing to flip
    assert radiological_flips(lps) == ()
    assert radiological_flips(np.diag([0.7, 0.7, 3.0, 1.0])) == (1, 2)  # RAS: rows and columns
    assert radiological_flips(np.diag([-0.7, -0.7, -3.0, 1.0])) == (0,)  # slices stored head first
    # a sagittal stack (file x along A, y along S, z along R): anterior left, superior top
    sagittal = np.array([[0, 0, 1.0, 0], [0.7, 0, 0, 0], [0, 0.7, 0, 0], [0, 0, 0, 1]])
    assert radiological_flips(sagittal) == (0, 1, 2)
