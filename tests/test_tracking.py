from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from conftest import nuclei_series
from napari_iis import InteractiveSession
from napari_iis.core.image import ImageSource
from napari_iis.core.metrics import dice
from napari_iis.core.tracking import DEPTH_END, ObjectLost, carry_object, object_motion
from napari_iis.engines import create_engine


def frame_session(volume: np.ndarray) -> InteractiveSession:
    """A microscope frame as the widget opens it: network clicks, watershed propagation."""
    return InteractiveSession(volume, engine=create_engine("network"), propagation_engine=create_engine("watershed"),
                              slice_mode=True)


def test_an_object_is_carried_through_the_frames_of_a_series_following_its_motion(data_dir):
    series, truths = nuclei_series(data_dir, frames=3, step_px=6)  # 6 px a frame: half the nucleus's width
    assert tuple(object_motion(truths[0], ImageSource(series[0]), ImageSource(series[1]))) == (0, 0, 6)
    prior = truths[0]
    for t in (1, 2):
        session = frame_session(series[t])
        carried = carry_object(session, prior, before=series[t - 1])
        assert dice(truths[t], carried) > 0.7, f"frame {t}"
        assert np.array_equal(session.mask, carried), "the carried object is the session's object in progress"
        spanned = np.flatnonzero(prior.any(axis=(1, 2)))
        assert not carried[: spanned[0] - 1].any() and not carried[spanned[-1] + 2:].any(), \
            "at most one slice beyond the object's depth on the frame before"
        assert all(end.reason == DEPTH_END for end in session.propagation_ends
                   if end.plane in (spanned[0] - 2, spanned[-1] + 2))
        prior = carried
    where_it_was = carry_object(frame_session(series[1]), truths[0])
    assert dice(truths[1], where_it_was) < 0.5, "without the frame before, the motion is not followed"


def test_an_object_that_left_the_frame_is_reported_lost_and_the_frame_stays_empty(data_dir):
    series, truths = nuclei_series(data_dir, frames=2, step_px=0)
    gone = series[1].copy()  # the nucleus and a 2-voxel rim around it become background
    gone[ndimage.binary_dilation(truths[0], iterations=2)] = np.percentile(series[1], 5)
    session = frame_session(gone)
    with pytest.raises(ObjectLost, match="click it on this frame"):
        carry_object(session, truths[0], before=series[0])
    assert not session.mask.any()
    with pytest.raises(ValueError, match="empty"):
        carry_object(session, np.zeros_like(truths[0]))


def test_a_cancelled_carry_leaves_the_new_frame_empty(data_dir):
    series, truths = nuclei_series(data_dir, frames=2, step_px=3)
    session = frame_session(series[1])

    def cancelled(steps):
        for step in steps:
            raise KeyboardInterrupt
            yield step

    with pytest.raises(KeyboardInterrupt):
        carry_object(session, truths[0], before=series[0], progress=cancelled)
    assert not session.mask.any()
