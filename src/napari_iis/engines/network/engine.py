"""The trained interactive network as an engine; weights ship inside the package."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import numpy as np
from scipy import ndimage

from ...core.prompts import Click
from ..base import EngineCapabilities, EngineRequest
from .inputs import as_rgb, prompt_channels

WEIGHTS_2D = "iisnet_2d.pt"
# The second 2D network of the packaged pair: it sees the mirror image of each window
# (docs/model_card.md)
WEIGHTS_2D_MIRROR = "iisnet_2d_mirror.pt"
WEIGHTS_3D = "iisnet_3d.pt"
# The weights' "propagation" entry when they were trained on propagation samples: the
# prior of the neighbouring slice alone, without a click.
PRIOR_ONLY = "prior"


def packaged_weights(name: str = WEIGHTS_2D) -> Path:
    return Path(str(files(__package__).joinpath("weights", name)))


def load_model(path: Path):
    """The model from a weights file written by ``napari-iis train`` (weights only)."""
    return load_network(path)[0]


def load_network(path: Path) -> tuple:
    """The model and whether it propagates from the prior alone (``PRIOR_ONLY``)."""
    import torch

    from .model import IISNet, ModelConfig
    from .model3d import IISNet3D, ModelConfig3D

    if not Path(path).is_file():
        raise ValueError(
            f"no network weights at {path}; reinstall napari-iis, or train them with `napari-iis train`"
        )
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("architecture") == "IISNet3D":
        model = IISNet3D(ModelConfig3D.from_dict(payload["config"]))
    else:
        model = IISNet(ModelConfig.from_dict(payload["config"]))
    model.load_state_dict({k: v.float() for k, v in payload["state_dict"].items()})
    return fold_batchnorm(model.eval()), payload.get("propagation") == PRIOR_ONLY


def fold_batchnorm(model):
    """Fold every BatchNorm that follows a convolution into it (inference only: ~10% faster)."""
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    pairs = ((nn.Conv2d, nn.BatchNorm2d), (nn.Conv3d, nn.BatchNorm3d))
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        for index in range(len(module) - 1):
            conv, norm = module[index], module[index + 1]
            if any(isinstance(conv, c) and isinstance(norm, n) for c, n in pairs):
                module[index] = fuse_conv_bn_eval(conv, norm)
                module[index + 1] = nn.Identity()
    return model


def with_prior_click(request: EngineRequest, prior_only: bool = False) -> tuple:
    """A prior without a positive prompt gets a positive click at its deepest point, the
    prompt the network was trained with, except a prior alone (propagation) for weights
    trained to take it that way (``prior_only``). The user's negative clicks overrule it:
    on a slice's mask carried there by propagation they get no positive click beside them
    (that mask is a guess they contradict); elsewhere the prior within a negative click's
    depth there is not the object, so the click goes to the deepest point outside those
    disks (a negative click on a stray lobe keeps the body), or is left out where only
    slivers half as deep are outside them."""
    prior = request.previous_mask > 0.5
    if any(getattr(p, "positive", False) for p in request.prompts) or not prior.any():
        return request.prompts
    if prior_only and not request.prompts:
        return ()
    negatives = _negative_points(request.prompts, prior.shape)
    if negatives and request.carried_prior:
        return request.prompts
    depth = ndimage.distance_transform_edt(prior)
    allowed = np.ones_like(prior)
    grid = np.ogrid[tuple(slice(0, n) for n in prior.shape)]
    for point in negatives:
        radius = depth[point] + 1.0
        allowed &= sum((g - c) ** 2 for g, c in zip(grid, point)) > radius**2
    rejected_depth = max((depth[p] for p in negatives), default=0.0)
    depth = np.where(allowed, depth, 0.0)
    if not depth.any() or depth.max() < 0.5 * rejected_depth:  # only slivers of it are left
        return request.prompts
    centre = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return (*request.prompts, Click(tuple(float(c) for c in centre), True))


def _negative_points(prompts: tuple, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    points = []
    for prompt in prompts:
        if getattr(prompt, "positive", True):
            continue
        for coordinate in prompt.coordinates():
            point = tuple(int(round(c)) for c in coordinate)
            if all(0 <= p < n for p, n in zip(point, shape)):
                points.append(point)
    return points


class _TorchEngine:
    """A trained network on the CPU: torch's pool sized by ``threads`` (default
    ``$NAPARI_IIS_THREADS``, else every core), weights loaded once.

    ``flip_average``: the logits are the mean of the window's and of its mirror image's
    (along the last axis, one batch of two), mirrored back: fewer clicks on the held-out
    2D sets and higher Dice after 5 clicks on the held-out volumes (docs/experiments.md).
    ``pair_model`` (a 2D engine's, with ``flip_average``): the network and a second
    training of it that sees the mirror image, as one network (``model.MirroredPair``).
    """

    def __init__(self, weights: Path, threads: int | None = None, flip_average: bool = True) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import torch

        available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = threads or int(os.environ.get("NAPARI_IIS_THREADS", available))
        torch.set_num_threads(max(1, threads))
        self._torch = torch
        self.model, self.prior_only = load_network(weights)
        self.flip_average = flip_average
        self.pair_model = None

    def _run(self, *inputs, pair: bool = True):
        """The model's outputs for (1, C, ...) ``inputs``, each the mean over the window and
        its mirror image where ``flip_average`` (the mirror image through the second
        network of ``pair_model`` where there is one and ``pair``)."""
        if not self.flip_average:
            return self.model(*inputs)
        if self.pair_model is not None and pair:
            return self.pair_model(*inputs)
        both = self.model(*(self._torch.cat([x, x.flip(-1)]) for x in inputs))
        return tuple((out[:1] + out[1:].flip(-1)) / 2 for out in both)


class NetworkEngine(_TorchEngine):
    """IISNet on the zoom-in crop: image + click maps + previous mask to object logits.

    ``refine=False`` returns the decoder's coarse logits upsampled, without the
    full-resolution boundary refinement (an ablation: ``network_coarse``).
    """

    name = "network"
    capabilities = EngineCapabilities(
        ndims=frozenset({2}), input_size_2d=256, crop_expansion=1.4, magnify_2d=True, zoom_in_first=True,
        propagation_growth_penalty=2.0)

    def __init__(self, weights: Path | None = None, threads: int | None = None, refine: bool = True,
                 flip_average: bool = True, pair: bool = True) -> None:
        """``weights``: default, the packaged ones. ``pair``: where ``WEIGHTS_2D_MIRROR``
        lies beside ``weights`` (as in the package), that network sees each 2D image's
        mirror image; a volume's slices go to ``weights`` alone, mirrored by itself."""
        weights = Path(weights) if weights is not None else packaged_weights()
        super().__init__(weights, threads, flip_average)
        # the CPU's convolutions run about twice as fast on channels-last tensors
        self.model = self.model.to(memory_format=self._torch.channels_last)
        mirror = weights.parent / WEIGHTS_2D_MIRROR
        if pair and flip_average and weights.name == WEIGHTS_2D and mirror.is_file():
            from .model import MirroredPair

            pair_model = MirroredPair(self.model, load_network(mirror)[0]).eval()
            self.pair_model = pair_model.to(memory_format=self._torch.channels_last)
        self.refine = refine
        if not refine:
            self.name = "network_coarse"

    def predict(self, request: EngineRequest) -> np.ndarray:
        torch = self._torch
        image = torch.from_numpy(np.ascontiguousarray(as_rgb(request.image)))[None]
        prompts = torch.from_numpy(prompt_channels(with_prior_click(request, self.prior_only), request.previous_mask))[None]
        with torch.inference_mode():
            # the pair on 2D images only: on a volume's slices it made worse start slices
            # for propagation on CT (docs/experiments.md), so they go to the main network alone
            logits, coarse = self._run(image.contiguous(memory_format=torch.channels_last),
                                       prompts.contiguous(memory_format=torch.channels_last),
                                       pair=not request.carried_prior)
            if not self.refine:
                logits = torch.nn.functional.interpolate(coarse, size=logits.shape[-2:], mode="bilinear")
        return logits[0, 0].numpy().astype(np.float32)


def _padding(shape: tuple[int, ...], multiple: int) -> list[tuple[int, int]]:
    return [(0, -n % multiple) for n in shape]


class NetworkEngine3D(_TorchEngine):
    """IISNet3D on the 3D zoom-in crop (at most 64 voxels a side, isotropic working
    spacing): a click on any slice updates the whole object. Gray input: channels are averaged."""

    name = "network3d"
    # inside the 1.2-2.2 × the object it trained on (1.4 lost Dice at 3-5 clicks on CT), and
    # magnified to its 48³ training crops where smaller (docs/experiments.md)
    capabilities = EngineCapabilities(ndims=frozenset({3}), input_size_3d=64, crop_expansion=1.8,
                                      min_window=16, magnify_3d_to=48)

    def __init__(self, weights: Path | None = None, threads: int | None = None, flip_average: bool = True) -> None:
        super().__init__(weights or packaged_weights(WEIGHTS_3D), threads, flip_average)

    def predict(self, request: EngineRequest) -> np.ndarray:
        torch = self._torch
        shape = request.spatial_shape
        pad = _padding(shape, self.model.multiple)
        image = np.pad(request.image.mean(axis=0), pad, mode="edge")
        prompts = np.pad(prompt_channels(with_prior_click(request, self.prior_only), request.previous_mask), [(0, 0), *pad])
        with torch.inference_mode():
            logits, _ = self._run(torch.from_numpy(image[None, None]), torch.from_numpy(prompts[None]))
        return logits[0, 0].numpy()[tuple(slice(0, n) for n in shape)].astype(np.float32)
