from __future__ import annotations

import numpy as np
import pytest

from napari_iis.core.crop import CropPolicy, paste_logits, plan_window, resample
from napari_iis.core.mask import SparseMask


def test_first_window_is_the_initial_size_around_the_click():
    window = plan_window(np.array([[500.0, 600.0]]), None, (2000, 3000), (1.0, 1.0), 256,
                         CropPolicy(initial_size=384))
    assert window.shape == (384, 384)
    assert window.start[0] <= 500 < window.stop[0] and window.start[1] <= 600 < window.stop[1]
    assert window.target_shape == (256, 256)


def test_window_covers_mask_and_prompts_expanded():
    bbox = (np.array([100, 100]), np.array([199, 149]))
    window = plan_window(np.array([[120.0, 180.0]]), bbox, (1000, 1000), (1.0, 1.0), 256)
    assert window.start[0] <= 100 and window.stop[0] > 199
    assert window.start[1] <= 100 and window.stop[1] > 180
    assert window.shape == (140, 140)  # a square 1.4x the longest side


def test_small_objects_get_the_minimum_window():
    bbox = (np.array([50, 50]), np.array([53, 53]))
    window = plan_window(np.array([[51.0, 51.0]]), bbox, (500, 500), (1.0, 1.0), 256, CropPolicy(min_size=48))
    assert window.shape == (48, 48)
    # never upsampled beyond the image's own resolution
    assert window.target_shape == (48, 48)


def test_a_magnifying_engine_sees_a_small_window_at_its_input_size():
    bbox = (np.array([50, 50]), np.array([53, 53]))
    window = plan_window(np.array([[51.0, 51.0]]), bbox, (500, 500), (1.0, 1.0), 256, CropPolicy(min_size=48),
                         min_input_size=256)
    assert window.shape == (48, 48) and window.target_shape == (256, 256)
    assert window.working_spacing == 48 / 256
    # a window larger than the input is shrunk as without magnification
    large = plan_window(np.array([[250.0, 250.0]]), None, (500, 500), (1.0, 1.0), 256, min_input_size=256)
    assert large.target_shape == (256, 256) and large.working_spacing == 384 / 256


def test_a_3d_window_smaller_than_the_training_scale_is_magnified_to_it_only():
    """The 3D network trained on 48³ crops of 1.2-2.2 × the object: a nucleus 11 voxels
    across comes in a window of 1.8 × it, magnified to 48 samples; larger windows keep
    their own resolution up to the 64³ input."""
    policy = CropPolicy(expansion=1.8, min_size=16)
    spacing = (2.0, 1.0, 1.0)
    nucleus = (np.array([20, 40, 40]), np.array([24, 50, 50]))  # 10 × 11 × 11 µm
    window = plan_window(np.array([[22.0, 45.0, 45.0]]), nucleus, (60, 120, 120), spacing, 64, policy, 48)
    assert window.shape == (10, 20, 20) and window.target_shape == (48, 48, 48)  # isotropic, 20 µm a side
    assert window.working_spacing == pytest.approx(20 / 48)
    cell = (np.array([10, 20, 20]), np.array([25, 50, 50]))  # 32 × 31 × 31 µm: a 58 µm window
    window = plan_window(np.array([[17.0, 35.0, 35.0]]), cell, (60, 120, 120), spacing, 64, policy, 48)
    assert window.shape == (29, 58, 58) and window.target_shape == (58, 58, 58) and window.working_spacing == 1.0


def test_window_is_shifted_inside_the_image_not_clipped():
    window = plan_window(np.array([[2.0, 3.0]]), None, (1000, 1000), (1.0, 1.0), 256, CropPolicy(initial_size=200))
    assert window.start == (0, 0) and window.shape == (200, 200)


def test_window_is_cubic_in_physical_units():
    window = plan_window(np.array([[10.0, 50.0, 50.0]]), None, (40, 200, 200), (5.0, 1.0, 1.0), 64,
                         CropPolicy(initial_size=100))
    assert window.shape == (20, 100, 100)  # 100 mm along every axis
    assert window.target_shape == (64, 64, 64)


def test_crop_coordinates_map_pixel_centres():
    window = plan_window(np.array([[50.0, 50.0]]), None, (100, 100), (1.0, 1.0), 50, CropPolicy(initial_size=100))
    assert np.allclose(window.to_crop(np.array([[0.0, 0.0]])), [[-0.25, -0.25]])
    assert np.allclose(window.to_crop(np.array([[99.0, 99.0]])), [[49.25, 49.25]])


def test_resample_and_paste_round_trip():
    window = plan_window(np.array([[50.0, 50.0]]), None, (100, 100), (1.0, 1.0), 50, CropPolicy(initial_size=100))
    truth = np.zeros((100, 100), bool)
    truth[20:60, 30:80] = True
    logits = resample(np.where(truth, 5.0, -5.0).astype(np.float32), window.target_shape, order=1)
    assert logits.shape == (50, 50)
    back = paste_logits(logits, window)
    assert back.shape == (100, 100)
    assert (back ^ truth).sum() < 0.05 * truth.sum()


def test_sparse_mask_round_trip_and_windows():
    dense = np.zeros((30, 40), bool)
    dense[5:9, 10:20] = True
    dense[12, 15] = True
    sparse = SparseMask.from_dense(dense)
    assert sparse.offset == (5, 10) and sparse.data.shape == (8, 10)
    assert np.array_equal(sparse.to_dense(), dense)
    assert sparse.area == dense.sum()
    window = (slice(0, 8), slice(12, 40))
    assert np.array_equal(sparse.read(window), dense[window])
    assert not sparse.read((slice(20, 30), slice(0, 5))).any()
    assert SparseMask.empty((30, 40)).bbox() is None
    low, high = sparse.bbox()
    assert tuple(low) == (5, 10) and tuple(high) == (12, 19)


def test_first_windows_go_from_small_to_the_initial_size():
    from napari_iis.core.crop import CropPolicy

    policy = CropPolicy(initial_size=384, first_window_search=(192, 48, 96, 500))
    assert [p.initial_size for p in policy.first_windows()] == [48, 96, 192, 384]
    assert CropPolicy().first_windows() == (CropPolicy(),)


def test_a_mask_touches_only_the_window_edges_inside_the_image():
    from napari_iis.core.crop import CropWindow, touches_inner_edge

    window = CropWindow(start=(0, 10), stop=(20, 30), target_shape=(20, 20), working_spacing=1.0)
    image_shape = (20, 100)
    assert not touches_inner_edge(np.array([0, 12]), np.array([19, 27]), window, image_shape)  # image edges
    assert touches_inner_edge(np.array([5, 10]), np.array([8, 15]), window, image_shape)  # left, inside
    assert touches_inner_edge(np.array([5, 12]), np.array([8, 29]), window, image_shape)  # right, inside


def test_replacing_one_slice_of_a_sparse_volume_mask():
    volume = np.zeros((10, 30, 40), bool)
    volume[3:6, 5:10, 5:12] = True
    sparse = SparseMask.from_dense(volume)
    plane = np.zeros((30, 40), bool)
    plane[20:25, 30:38] = True  # outside the old box, on a slice beyond it
    expected = volume.copy()
    expected[8] = plane
    assert np.array_equal(sparse.with_plane(8, SparseMask.from_dense(plane)).to_dense(), expected)
    expected = volume.copy()
    expected[4] = False
    assert np.array_equal(sparse.with_plane(4, SparseMask.empty((30, 40))).to_dense(), expected)
    assert SparseMask.empty((10, 30, 40)).with_plane(2, SparseMask.empty((30, 40))).is_empty
