"""Label images drawn over their image, for a quick look without a viewer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .image import ImageSource
from .prompts import Click, Prompt

POSITIVE_RGB = (0.18, 0.80, 0.25)
NEGATIVE_RGB = (1.0, 0.25, 0.21)


def label_colours(count: int = 4096, seed: int = 0) -> np.ndarray:
    """A fixed table of bright colours, indexed by label id modulo its length."""
    return np.random.default_rng(seed).uniform(0.2, 1.0, (count, 3))


def as_rgb(shown: np.ndarray) -> np.ndarray:
    """A gray (y, x) or colour (y, x, 3) image in [0, 1] as (y, x, 3)."""
    return np.repeat(shown[..., None], 3, axis=-1) if shown.ndim == 2 else shown[..., :3]


def tint_labels(rgb: np.ndarray, labels: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """``rgb`` (y, x, 3) in [0, 1] with each labelled pixel mixed with its label's colour."""
    colours = label_colours()
    return np.where(labels[..., None] > 0, (1 - opacity) * rgb + opacity * colours[labels % len(colours)], rgb)


def session_plane(image: ImageSource, plane: int | None = None) -> np.ndarray:
    """The image (slice ``plane`` of a volume) as the engines see it: (y, x, 3) in [0, 1]."""
    index = tuple(slice(0, n) for n in image.spatial_shape[-2:])
    if image.ndim == 3:
        index = (slice(plane, plane + 1), *index)
    channels = image.read(index)
    if image.ndim == 3:
        channels = channels[:, 0]
    return as_rgb(np.moveaxis(channels[:3], 0, -1) if len(channels) >= 3 else channels[0])


def draw_clicks(rgb: np.ndarray, prompts: Sequence[Prompt], plane: int | None = None, radius: float = 3.0,
                zoom: int = 1) -> None:
    """Mark the clicks (on ``plane`` of a volume) as green or red dots on ``rgb``, the image
    enlarged ``zoom`` times, in place."""
    from skimage.draw import disk

    for click in (p for p in prompts if isinstance(p, Click)):
        if plane is not None and round(click.position[0]) != plane:
            continue
        centre = tuple((c + 0.5) * zoom - 0.5 for c in click.position[-2:])
        rows, cols = disk(centre, radius, shape=rgb.shape[:2])
        rgb[rows, cols] = POSITIVE_RGB if click.positive else NEGATIVE_RGB


def overlay_image(image: ImageSource, labels: np.ndarray, prompts: Sequence[Prompt] = (),
                  plane: int | None = None, min_side: int = 512) -> np.ndarray:
    """The labels tinted over the image (a volume's slice ``plane``), clicks marked, small
    images enlarged (nearest neighbour) to at least ``min_side``: (y, x, 3) uint8."""
    shown = tint_labels(session_plane(image, plane), labels if plane is None else labels[plane])
    zoom = max(1, -(-min_side // max(shown.shape[:2])))
    shown = shown.repeat(zoom, axis=0).repeat(zoom, axis=1)
    draw_clicks(shown, prompts, plane, max(2.0, 0.005 * max(shown.shape[:2])), zoom)
    return np.round(np.clip(shown, 0, 1) * 255).astype(np.uint8)


def fullest_plane(labels: np.ndarray) -> int:
    """The slice of a label volume holding the most labelled voxels."""
    return int(np.argmax((labels > 0).reshape(labels.shape[0], -1).sum(axis=1)))
