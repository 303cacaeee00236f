from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from napari_iis.io.nifti import read_nifti, write_nifti


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


def test_bad_volume_is_refused(tmp_path):
    with pytest.raises(ValueError, match="3 axes"):
        write_nifti(tmp_path / "v.nii", np.ones((4, 5)))


def test_napari_opens_nifti_with_spacing_and_saves_labels_on_its_grid(make_napari_viewer, ct_path, tmp_path):
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(ct_path), plugin="napari-iis")
    assert layer.data.shape == (30, 101, 122) and tuple(layer.scale) == (3.0, 3.0, 3.0)
    assert tuple(layer.contrast_limits) == (-160, 240)  # a CT in HU opens in the soft-tissue window
    labels = viewer.add_labels(np.zeros(layer.data.shape, np.uint8), name="organ",
                               scale=layer.scale, metadata=dict(layer.metadata))
    labels.data[10:12, 40:50, 50:60] = 1
    out = tmp_path / "organ.nii.gz"
    labels.save(str(out), plugin="napari-iis")  # through the npe2 writer
    saved = nib.load(str(out))
    assert np.allclose(saved.affine, nib.load(str(ct_path)).affine)
    assert np.array_equal(np.transpose(np.asanyarray(saved.dataobj), (2, 1, 0)), labels.data)


def test_dicom_series_is_one_volume_on_the_grid_of_its_nifti_labels(data_dir):
    from napari_iis.io.dicom import read_dicom_series

    volume = read_dicom_series(data_dir / "3d/ct_abdomen/dicom_series")
    assert volume.data.shape == (20, 512, 512) and volume.data.dtype == np.int16
    assert volume.spacing == pytest.approx((2.0, 0.9765625, 0.9765625))
    labels = read_nifti(data_dir / "3d/ct_abdomen/dicom_series_labels.nii.gz")
    # voxel (x, y, z) of the DICOM volume to voxel of the label volume: a signed permutation
    mapping = np.linalg.inv(labels.affine) @ volume.affine
    assert np.allclose(mapping, np.round(mapping), atol=1e-3)
    assert np.allclose(np.abs(mapping[:3, :3]).sum(axis=0), 1)
    # bring the labels onto the DICOM grid and check they sit on soft tissue, not air
    z, y, x = np.indices(volume.data.shape)
    index = mapping @ np.stack([x.ravel(), y.ravel(), z.ravel(), np.ones(x.size)])
    lx, ly, lz = (np.round(index[:3]).astype(int))
    on_grid = labels.data[lz, ly, lx].reshape(volume.data.shape)
    organs = volume.data[on_grid > 0]
    assert organs.size > 1000 and -200 < np.median(organs) < 300
    assert np.median(volume.data[on_grid == 0]) < np.median(organs)


def test_dicom_reader_hook(data_dir, tmp_path):
    from napari_iis.napari_glue.io_hooks import get_dicom_reader

    folder = data_dir / "3d/ct_abdomen/dicom_series"
    (data, meta, kind), = get_dicom_reader(str(folder))(str(folder))
    assert kind == "image" and data.shape == (20, 512, 512)
    assert meta["scale"] == pytest.approx((2.0, 0.9765625, 0.9765625))
    assert get_dicom_reader(str(tmp_path)) is None
