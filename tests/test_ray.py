"""Where a click on a 3D rendering lands along its view ray (napari's renderings)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_iis.core.ray import depth_along_ray, plane_crossing, ray_samples


def two_objects(near: float, far: float) -> np.ndarray:
    """A ray through background 0.1, an object of ``near`` at samples 10–19 and one of
    ``far`` at 40–59, with a little noise."""
    ray = np.full(80, 0.1) + np.random.default_rng(0).normal(0, 0.01, 80)
    ray[10:20] += near
    ray[40:60] += far
    return ray


def test_mip_lands_in_the_middle_of_the_brightest_object():
    assert depth_along_ray(two_objects(0.5, 0.8), (0, 1), "mip") in (49, 50)
    assert depth_along_ray(two_objects(0.8, 0.5), (0, 1), "translucent") in (14, 15)


def test_iso_lands_in_the_first_object_above_the_threshold_and_misses_below_it():
    assert depth_along_ray(two_objects(0.5, 0.8), (0, 1), "iso", iso_threshold=0.4) in (14, 15)
    assert depth_along_ray(two_objects(0.5, 0.8), (0, 1), "iso", iso_threshold=0.7) in (49, 50)
    assert depth_along_ray(two_objects(0.5, 0.8), (0, 1), "iso", iso_threshold=2.0) is None


def test_minip_lands_in_the_darkest_object():
    assert depth_along_ray(1.0 - two_objects(0.3, 0.6), (0, 1), "minip") in (49, 50)


def test_attenuated_mip_prefers_the_nearer_of_two_equal_objects():
    assert depth_along_ray(two_objects(0.7, 0.7), (0, 1), "attenuated_mip", attenuation=0.5) in (14, 15)


def test_values_clipped_by_the_contrast_limits_tie_and_the_nearest_run_wins():
    ray = np.zeros(50)
    ray[5:9], ray[30:40] = 900.0, 1500.0  # both above a CT window's top: shown alike
    assert depth_along_ray(ray, (-160, 240), "mip") == 6


def test_ray_samples_cover_every_voxel_and_plane_crossing():
    samples = ray_samples(np.array([0.0, 2.0, 3.0]), np.array([10.0, 2.0, 3.0]))
    assert set(np.rint(samples[:, 0]).astype(int)) == set(range(11))
    crossing = plane_crossing(np.array([0.0, 5.0, 5.0]), np.array([20.0, 5.0, 5.0]), (7.0, 0, 0), (1.0, 0, 0))
    assert crossing == pytest.approx([7.0, 5.0, 5.0])
    assert plane_crossing(np.array([0.0, 5.0, 5.0]), np.array([20.0, 5.0, 5.0]), (30.0, 0, 0), (1.0, 0, 0)) is None
    assert plane_crossing(np.array([0.0, 5.0, 5.0]), np.array([20.0, 5.0, 5.0]), (7.0, 0, 0), (0, 1.0, 0)) is None
