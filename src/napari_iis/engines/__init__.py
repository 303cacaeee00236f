"""Predictors behind one interface, created by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from .base import Engine, EngineCapabilities, EngineRequest
from .network.engine import WEIGHTS_3D, NetworkEngine, NetworkEngine3D, packaged_weights
from .random_walker import RandomWalkerEngine
from .watershed import WatershedEngine


_FACTORIES: dict[str, Callable[[], Engine]] = {
    "random_walker": RandomWalkerEngine,
    "watershed": WatershedEngine,
}
# The network engines, given their weights (None: the packaged ones), where those ship.
_WEIGHTED_FACTORIES: dict[str, Callable[[Path | None], Engine]] = {}
if packaged_weights().is_file():
    _WEIGHTED_FACTORIES["network"] = NetworkEngine
    _WEIGHTED_FACTORIES["network_coarse"] = partial(NetworkEngine, refine=False)
if packaged_weights(WEIGHTS_3D).is_file():
    _WEIGHTED_FACTORIES["network3d"] = NetworkEngine3D

DEFAULT_ENGINE = "network" if "network" in _WEIGHTED_FACTORIES else "watershed"
"""The engine for 2D images."""
DEFAULT_VOLUME_ENGINE = "watershed"
"""The engine for volumes. Not the 3D network: its first click fails on objects wider
than about 40% of its window (a clean 44 mm ball in a 64 mm volume: IoU 0.01, the
watershed 0.99; docs/model_card.md), though it is better on the held-out stacks."""
MICROSCOPY_PROPAGATION_ENGINE = "watershed"
"""The engine that carries an object from slice to slice in a cell or nuclei stack (the
network's clicks stay): held-out 3D Dice from clicks, nuclei 0.680 → 0.775, spheres 0.525 →
0.539 (docs/benchmarks.md). On CT the network propagates better (0.542 against 0.439)."""


def default_engine(ndim: int) -> str:
    return DEFAULT_VOLUME_ENGINE if ndim == 3 else DEFAULT_ENGINE


def available_engines() -> tuple[str, ...]:
    return tuple(_FACTORIES) + tuple(_WEIGHTED_FACTORIES)


def slice_engines() -> tuple[str, ...]:
    """The engines that segment 2D images and single slices of a volume."""
    factories = {**_FACTORIES, **_WEIGHTED_FACTORIES}
    return tuple(name for name, factory in factories.items()
                 if 2 in getattr(factory, "func", factory).capabilities.ndims)


def create_engine(name: str = DEFAULT_ENGINE, weights: Path | None = None) -> Engine:
    """A new engine instance by name (see ``available_engines()``); ``weights`` replaces
    a network engine's packaged weights (a file ``napari-iis train`` wrote)."""
    if name in _WEIGHTED_FACTORIES:
        return _WEIGHTED_FACTORIES[name](None if weights is None else Path(weights))
    if name not in _FACTORIES:
        raise ValueError(f"unknown engine {name!r}; choose one of: {', '.join(available_engines())}")
    if weights is not None:
        raise ValueError(f"engine {name!r} has no weights; --weights goes with {', '.join(_WEIGHTED_FACTORIES)}")
    return _FACTORIES[name]()


def resolve_engine(engine: str | Engine | None, ndim: int = 2) -> Engine:
    """``engine`` itself, the engine of that name, or the default for ``ndim``-D images."""
    if engine is None:
        return create_engine(default_engine(ndim))
    if isinstance(engine, str):
        return create_engine(engine)
    if not isinstance(engine, Engine):
        raise TypeError(f"engine must be a name or an Engine, got {type(engine).__name__}")
    return engine


__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_VOLUME_ENGINE",
    "Engine",
    "EngineCapabilities",
    "EngineRequest",
    "available_engines",
    "create_engine",
    "default_engine",
    "resolve_engine",
    "slice_engines",
]
