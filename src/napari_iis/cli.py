"""The ``napari-iis`` command: demo, segment, evaluate, evaluate3d, train, plot, engines."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .engines import (
    DEFAULT_ENGINE,
    DEFAULT_VOLUME_ENGINE,
    MICROSCOPY_PROPAGATION_ENGINE,
    available_engines,
    create_engine,
    default_engine,
    slice_engines,
)
from .training.data import SLICED_SETS, TRAIN_SETS


def _run_demo(args: argparse.Namespace) -> int:
    from .napari_glue.demo import open_demo

    viewer = open_demo(sample=args.sample, run=not args.no_event_loop)
    if args.no_event_loop:
        print("demo layers:", ", ".join(layer.name for layer in viewer.layers))
        print("demo widgets:", ", ".join(viewer.window.dock_widgets))
        viewer.close()
    return 0


def _engine_with_weights(args: argparse.Namespace, ndim: int):
    """The engine named (else the default for ``ndim``-D images), with ``--weights`` if given."""
    if args.weights is None:
        return args.engine
    return create_engine(args.engine or default_engine(ndim), args.weights)


def _run_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .core.evaluation import evaluate_dataset

    if args.mode == "each":
        from .core.evaluation_each import evaluate_each

        return _print_report(evaluate_each(
            args.dataset, _engine_with_weights(args, ndim=2), min_area=args.min_area, split_file=args.split,
            max_images=args.max_images, first_prompt=args.first_prompt,
            progress=lambda items: tqdm(items, desc=f"evaluate {Path(args.dataset).name}", unit="image"),
        ), args.json)
    report = evaluate_dataset(
        args.dataset,
        _engine_with_weights(args, ndim=2),
        max_clicks=args.max_clicks,
        min_area=args.min_area,
        max_objects=args.max_objects,
        seed=args.seed,
        split_file=args.split,
        progress=lambda items: tqdm(items, desc=f"evaluate {Path(args.dataset).name}", unit="image"),
        first_prompt=args.first_prompt,
    )
    return _print_report(report, args.json)


def _print_report(report, json_path: Path | None) -> int:
    print(report.format_table())
    if json_path is not None:
        report.to_json(json_path)
        print(f"wrote {json_path}")
    return 0


def _run_evaluate3d(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .core.evaluation3d import evaluate_volumes

    report = evaluate_volumes(
        # propagation runs a 2D engine slice by slice
        args.dataset, _engine_with_weights(args, ndim=3 if args.mode in ("clicks", "each") else 2), args.mode,
        max_slice_clicks=args.max_slice_clicks,
        max_clicks=args.max_clicks, min_voxels=args.min_voxels, max_objects=args.max_objects,
        intensity_window=tuple(args.window) if args.window else None, split_file=args.split, start=args.start,
        propagation_engine=args.propagation_engine,
        progress=lambda items: tqdm(items, desc=f"evaluate3d {Path(args.dataset).name}", unit="object"),
    )
    return _print_report(report, args.json)


def _run_segment(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .files import segment_file

    try:
        result = segment_file(
            args.image, args.prompts, args.out, engine=_engine_with_weights(args, ndim=2), propagate=args.propagate, overwrite=args.overwrite,
            intensity_window=tuple(args.window) if args.window else None,
            channel_axis=args.channel_axis if args.channel_axis is not None else "layer", overlay_path=args.overlay,
            physical=args.physical, propagation_engine=args.propagate_with, frame=args.frame,
            progress=lambda items: tqdm(items, desc=f"segment {Path(args.image).name}", unit="object"),
        )
    except OSError as error:  # a file that cannot be read or written; ValueErrors are reported by main
        print(f"napari-iis segment: error: {error}", file=sys.stderr)
        return 2
    for summary in result.objects:
        print(summary.describe())
    print(f"wrote {result.written}" + (f" and {result.overlay}" if result.overlay else ""))
    for failure in result.failures:
        print(f"napari-iis segment: {failure} (left empty)", file=sys.stderr)
    return 1 if result.failures else 0


def _run_plot(args: argparse.Namespace) -> int:
    from .core.plots import plot_reports

    print(f"wrote {plot_reports(args.reports, args.out, args.title)}")
    return 0


def _training_sets(args: argparse.Namespace) -> tuple[str, ...]:
    from .training.data3d import TRAIN_SETS_3D

    sets = tuple(args.sets or (TRAIN_SETS_3D if args.dims == 3 else TRAIN_SETS))
    allowed = TRAIN_SETS_3D if args.dims == 3 else TRAIN_SETS + SLICED_SETS
    if not set(sets) <= set(allowed):
        raise SystemExit(f"--sets for {args.dims}D training: choose from {', '.join(allowed)}")
    return sets


def _run_pack(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from .training.loop import NATURAL, TrainConfig, load_pools
    from .training.pack import read_pack_manifest, write_pack

    config = TrainConfig(data_root=str(args.data), splits_dir=str(args.splits), out_dir="", sets=_training_sets(args),
                         dims=args.dims, propagation_share=1.0 if args.propagation_volumes else 0.0)
    pools = load_pools(config, progress=lambda items: tqdm(items, desc="load", mininterval=5))
    items = [item for pool in pools.values() for item in pool]
    photos = [i for i, item in enumerate(items) if item.source in NATURAL]
    if args.max_photos is not None and len(photos) > args.max_photos:
        dropped = set(np.random.default_rng(0).permutation(photos)[args.max_photos:].tolist())
        items = [item for i, item in enumerate(items) if i not in dropped]
    folder = write_pack(tqdm(items, desc="pack", mininterval=5), args.out, args.max_side, args.quality)
    size = sum(f.stat().st_size for f in folder.iterdir())
    packed = len(read_pack_manifest(folder))
    print(f"packed {packed} {'volumes' if args.dims == 3 else 'images'} into {folder} ({size / 2**20:.1f} MiB)")
    return 0


def _run_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .training.loop import DEFAULT_BATCH, DEFAULT_SIZE, TrainConfig, train

    sets = _training_sets(args)
    config = TrainConfig(
        data_root=str(args.data), splits_dir=str(args.splits), out_dir=str(args.out), steps=args.steps,
        batch=args.batch or DEFAULT_BATCH[args.dims], size=args.size or DEFAULT_SIZE[args.dims], lr=args.lr,
        seed=args.seed, threads=args.threads, device=args.device, sets=sets, dims=args.dims,
        perturbed_previous=args.perturbed_previous, widened_prior=args.widened_prior, noisy_share=args.noisy_share, workers=args.workers,
        minutes=args.minutes, init=str(args.init or ""), max_corrections=args.max_corrections,
        first_click_share=args.first_click_share, propagation_share=args.propagation_share,
    )
    weights = train(config, progress=lambda items: tqdm(items, desc="train", mininterval=5))
    print(f"weights: {weights}")
    return 0


def _run_engines(_: argparse.Namespace) -> int:
    role = {DEFAULT_ENGINE: "  (default, 2D)", DEFAULT_VOLUME_ENGINE: "  (default, volumes)"}
    for name in available_engines():
        print(name + role.get(name, ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="napari-iis", description="Interactive image segmentation for napari.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="open napari with sample data and the segmentation widget")
    demo.add_argument("--sample", default="nuclei", choices=["nuclei", "histology", "ct"], help="sample image to open")
    demo.add_argument("--no-event-loop", action="store_true", help="build the viewer and return (for tests)")
    demo.set_defaults(run=_run_demo)

    evaluate = commands.add_parser("evaluate", help="simulated-click evaluation on a 2D data set")
    evaluate.add_argument("dataset", type=Path, help="a folder with images/ and labels/ (16-bit, 65535 = ignore)")
    evaluate.add_argument("--engine", default=DEFAULT_ENGINE, choices=available_engines())
    evaluate.add_argument("--mode", choices=("clicks", "each"), default="clicks",
                          help="clicks: the click protocol, object by object; each: one click on every object "
                               "of an image, all into one label image (the widget's one-click-per-object mode)")
    evaluate.add_argument("--max-images", type=int, default=None, help="--mode each: the first N images")
    evaluate.add_argument("--first-prompt", choices=("click", "box", "lasso"), default="click",
                          help="box: each object's bounding box as its first prompt (then clicks); lasso: an "
                               "outline a little outside the object")
    evaluate.add_argument("--max-clicks", type=int, default=20)
    evaluate.add_argument("--min-area", type=int, default=100, help="skip objects smaller than this (pixels)")
    evaluate.add_argument("--max-objects", type=int, default=None, help="evaluate a fixed random sample of objects")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of that sample")
    evaluate.add_argument("--split", type=Path, default=None, help="file listing the image names to use")
    evaluate.add_argument("--json", type=Path, default=None, help="write per-object results and the summary here")
    evaluate.add_argument("--weights", type=Path, default=None,
                          help="a network engine's weights instead of the packaged ones (a training run's OUT/iisnet_2d.pt; "
                               "an iisnet_2d_mirror.pt beside it joins it as the pair that sees the mirror image)")
    evaluate.set_defaults(run=_run_evaluate)

    evaluate3d = commands.add_parser(
        "evaluate3d", help="3D evaluation: clicks on a slice then propagation, 3D clicks, or 3D clicks that "
                           "correct slices of a propagated object")
    evaluate3d.add_argument("dataset", type=Path, help="a folder of <name>_image.nii.gz|tif and <name>_labels.* (or masks/)")
    evaluate3d.add_argument("--mode", choices=["propagate", "clicks", "corrections", "each"], default="propagate",
                            help="propagate: clicks on the largest slice, then propagation; clicks: 3D clicks "
                                 "(a 3D engine); corrections: 3D clicks, each correcting its slice with a 2D "
                                 "engine and propagating again with the corrected slices kept; each: one 3D click "
                                 "on every object of a volume, all into one label volume")
    evaluate3d.add_argument("--engine", default=None, choices=available_engines(),
                            help=f"default: {DEFAULT_ENGINE} to propagate and for corrections, {DEFAULT_VOLUME_ENGINE} for 3D clicks")
    evaluate3d.add_argument("--propagation-engine", default=None, choices=slice_engines(),
                            help="propagate, corrections: the 2D engine that carries the object from slice to slice "
                                 "(default: --engine)")
    evaluate3d.add_argument("--max-slice-clicks", type=int, default=5, help="propagate: clicks on the largest slice")
    evaluate3d.add_argument("--start", choices=["clicks", "truth"], default="clicks",
                            help="propagate: from those clicks, or from the true mask on the largest slice "
                                 "(propagation alone)")
    evaluate3d.add_argument("--max-clicks", type=int, default=10, help="clicks, corrections: 3D clicks per object")
    evaluate3d.add_argument("--min-voxels", type=int, default=100)
    evaluate3d.add_argument("--max-objects", type=int, default=None, help="per volume, in name order")
    evaluate3d.add_argument("--split", type=Path, default=None,
                            help="file listing the volume names to use (e.g. splits/val_3d.txt)")
    evaluate3d.add_argument("--window", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                            help="intensity window, e.g. -160 240 (CT soft tissue, HU); default: percentiles")
    evaluate3d.add_argument("--json", type=Path, default=None)
    evaluate3d.add_argument("--weights", type=Path, default=None,
                            help="a network engine's weights instead of the packaged ones (2D ones to propagate)")
    evaluate3d.set_defaults(run=_run_evaluate3d)

    segment = commands.add_parser(
        "segment", help="segment an image file from a CSV of clicks, boxes or lassos (e.g. a napari Points or "
                        "Shapes layer saved as CSV) and save the labels")
    segment.add_argument("image", type=Path, help="NIfTI, DICOM series folder, TIFF, PNG, JPEG, …")
    segment.add_argument("prompts", type=Path,
                         help="CSV: napari's saved Points (index,axis-0,axis-1[,axis-2][,positive]) or Shapes layer, "
                              "or columns y,x / z,y,x; an 'object' column groups prompts into objects (label ids), "
                              "else each row (shape) is its own object")
    segment.add_argument("--out", "-o", type=Path, required=True, help="labels file: .nii.gz, .tif, .png (2D) or .npy")
    segment.add_argument("--engine", default=None, choices=available_engines(),
                         help=f"default: {DEFAULT_ENGINE} for 2D images and --propagate, {DEFAULT_VOLUME_ENGINE} "
                              "for volumes (choose network3d for nuclei and cells)")
    segment.add_argument("--propagate", action="store_true",
                         help="volumes: each object's prompts segment their slice, then the object is carried "
                              "through the slices")
    segment.add_argument("--propagate-with", default="auto", choices=["auto", *slice_engines()],
                         help=f"the engine that carries objects from slice to slice; auto: {MICROSCOPY_PROPAGATION_ENGINE} "
                              "for a microscope's stack, the clicking engine for CT and MRI (axes in mm or values "
                              "in HU), as measured best (docs/benchmarks.md)")
    segment.add_argument("--physical", action="store_true",
                         help="the coordinates are in the image's units (index × voxel size, e.g. mm or µm, from "
                              "its corner) instead of pixel indices")
    segment.add_argument("--overwrite", action="store_true", help="a later object may take an earlier one's pixels")
    segment.add_argument("--window", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                         help="intensity window (e.g. -160 240 for CT soft tissue); default: the one napari-iis "
                              "opens the file with (CT: soft tissue), else percentiles")
    segment.add_argument("--channel-axis", type=int, default=None,
                         help="the axis holding channels (e.g. 0 for (C, Y, X)); default: RGB files' colour axis")
    segment.add_argument("--overlay", type=Path, default=None, help="also write a PNG of the labels over the image")
    segment.add_argument("--frame", type=int, default=None, metavar="T",
                         help="a (T, Z, Y, X) series: segment its volume T (the labels saved are that volume's)")
    segment.add_argument("--weights", type=Path, default=None, help="a network engine's weights instead of the packaged ones")
    segment.set_defaults(run=_run_segment)

    plot = commands.add_parser("plot", help="mIoU (2D) or 3D Dice versus clicks, from evaluation reports (needs matplotlib)")
    plot.add_argument("reports", type=Path, nargs="+", help="JSON files written by evaluate --json or evaluate3d --mode clicks --json")
    plot.add_argument("--out", type=Path, default=Path("miou_curves.png"))
    plot.add_argument("--title", default=None)
    plot.set_defaults(run=_run_plot)

    pack = commands.add_parser("pack", help="write the training data, normalised, into one folder (for another machine)")
    pack.add_argument("out", type=Path)
    pack.add_argument("--data", type=Path, default=Path("../shared/data"), help="the data root (with 2d/ and 3d/)")
    pack.add_argument("--splits", type=Path, default=Path("splits"), help="folder of val_SET.txt files to exclude")
    pack.add_argument("--dims", type=int, default=2, choices=[2, 3])
    pack.add_argument("--sets", nargs="+", default=None, help="as for train")
    pack.add_argument("--max-side", type=int, default=0, help="shrink photos longer than this (0: keep their size)")
    pack.add_argument("--quality", type=int, default=90, help="JPEG quality of the photos and nuclei images")
    pack.add_argument("--max-photos", type=int, default=None, help="keep a fixed random sample of this many photos")
    pack.add_argument("--propagation-volumes", action="store_true",
                      help="2D: add the training volumes, for train --propagation-share")
    pack.set_defaults(run=_run_pack)

    train = commands.add_parser("train", help="train the interactive network (resumes from OUT/checkpoint.pt)")
    train.add_argument("--data", type=Path, default=Path("../shared/data"),
                       help="the data root (with 2d/ and 3d/), or a folder written by napari-iis pack")
    train.add_argument("--splits", type=Path, default=Path("splits"), help="folder of val_SET.txt files to exclude")
    train.add_argument("--out", type=Path, default=Path("runs/iisnet"))
    train.add_argument("--steps", type=int, default=20000, help="total optimisation steps")
    train.add_argument("--dims", type=int, default=2, choices=[2, 3], help="train the 2D or the 3D network")
    train.add_argument("--batch", type=int, default=None, help="crops per step (default 16 in 2D, 8 in 3D)")
    train.add_argument("--size", type=int, default=None, help="training crop side (default 160 in 2D, 48 in 3D)")
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--perturbed-previous", type=float, default=0.2,
                       help="share of samples whose previous mask is the object grown or shrunk by 1-3 samples")
    train.add_argument("--widened-prior", type=float, default=0.0,
                       help="share of propagation samples whose prior is the neighbouring slice's object grown by 1-3 "
                            "samples (a propagation drifting outward; measured: docs/experiments.md)")
    train.add_argument("--max-corrections", type=int, default=3,
                       help="each step simulates 0 to this many corrective clicks before the trained one")
    train.add_argument("--first-click-share", type=float, default=None,
                       help="share of steps trained on the first click alone, the others simulating 1 to "
                            "--max-corrections corrections (default: 0 to --max-corrections, equally often)")
    train.add_argument("--propagation-share", type=float, default=0.0,
                       help="2D: share of crops that are slice-propagation samples (a volume's slice with the "
                            "object's mask on the neighbouring slice as the prior, no click; the training "
                            "volumes of --dims 3 or those in a pack)")
    train.add_argument("--noisy-share", type=float, default=0.0,
                       help="2D: share of crops given gray noise of a 1-3 sample grain (helps noisy stacks, "
                            "hurt CT slices: docs/model_card.md)")
    train.add_argument("--threads", type=int, default=2)
    train.add_argument("--workers", type=int, default=0,
                       help="processes drawing batches ahead, and as many for the click maps and simulated "
                            "corrections (0: none)")
    train.add_argument("--minutes", type=float, default=0.0,
                       help="train this long (the learning rate warms up and decays over it) instead of to --steps")
    train.add_argument("--init", type=Path, default=None,
                       help="start from these weights (e.g. the shipped ones) when OUT has no checkpoint")
    train.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    train.add_argument("--sets", nargs="+", default=None,
                       help=f"data sets to train on (2D: {' '.join(TRAIN_SETS + SLICED_SETS)}, the last as axial "
                            "slices; 3D: ct_abdomen synthetic_spheres); "
                            "procedural objects are always added")
    train.set_defaults(run=_run_train)

    engines = commands.add_parser("engines", help="list the available engines")
    engines.set_defaults(run=_run_engines)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ValueError as error:
        print(f"napari-iis {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
