"""Reading evaluation data sets in the layout of shared/data: images/ + 16-bit labels/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IGNORE_LABEL = 65535
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class Target:
    """One interactive-segmentation target: a label id in one image."""

    image_path: Path
    label_path: Path
    label_id: int
    area: int

    @property
    def name(self) -> str:
        return f"{self.image_path.stem}#{self.label_id}"


def read_image(path: Path) -> np.ndarray:
    """A 2D image file as gray (Y, X) or RGB (Y, X, 3); an alpha channel is dropped."""
    import imageio.v3 as iio

    image = np.asarray(iio.imread(path))
    if image.ndim == 3 and image.shape[-1] in (2, 4):  # gray or RGB with alpha
        image = image[..., :-1]
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return image


def image_label_pairs(dataset: Path) -> list[tuple[Path, Path]]:
    """(image, label) paths of a 2D set, matched by file stem."""
    dataset = Path(dataset)
    images_dir, labels_dir = dataset / "images", dataset / "labels"
    if not images_dir.is_dir() or not labels_dir.is_dir():
        raise ValueError(
            f"{dataset} is not a 2D data set: expected folders images/ and labels/ inside it"
        )
    labels = {p.stem: p for p in labels_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = [
        (image, labels[image.stem])
        for image in sorted(images_dir.iterdir())
        if image.suffix.lower() in IMAGE_SUFFIXES and image.stem in labels
    ]
    if not pairs:
        raise ValueError(f"no image in {images_dir} has a label image of the same name in {labels_dir}")
    return pairs


def read_names(split_file: Path) -> set[str]:
    """Image stems listed one per line (``#`` comments allowed)."""
    lines = Path(split_file).read_text().splitlines()
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


def list_targets(
    dataset: Path,
    min_area: int = 100,
    names: set[str] | None = None,
) -> list[Target]:
    """Every label id of at least ``min_area`` pixels, over the set (or the named images)."""
    targets: list[Target] = []
    for image_path, label_path in image_label_pairs(dataset):
        if names is not None and image_path.stem not in names:
            continue
        labels = read_image(label_path)
        ids, counts = np.unique(labels, return_counts=True)
        for label_id, count in zip(ids.tolist(), counts.tolist()):
            if label_id not in (0, IGNORE_LABEL) and count >= min_area:
                targets.append(Target(image_path, label_path, int(label_id), int(count)))
    return targets


def sample_targets(targets: list[Target], max_objects: int | None, seed: int = 0) -> list[Target]:
    """A fixed random subset of at most ``max_objects`` targets, in file order."""
    if max_objects is None or len(targets) <= max_objects:
        return targets
    chosen = np.random.default_rng(seed).choice(len(targets), size=max_objects, replace=False)
    return [targets[i] for i in sorted(chosen.tolist())]


def group_by_image(targets: list[Target]) -> Iterator[tuple[Path, Path, list[Target]]]:
    """Targets grouped by image so each image is read, and its session made, once."""
    groups: dict[Path, list[Target]] = {}
    for target in targets:
        groups.setdefault(target.image_path, []).append(target)
    for image_path, group in groups.items():
        yield image_path, group[0].label_path, group
