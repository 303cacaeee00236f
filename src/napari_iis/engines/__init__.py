"""Predictors behind one interface, created by name."""

from __future__ import annotations

from collections.abc import Callable

from .base import Engine, EngineCapabilities, EngineRequest
from .network.engine import packaged_weights
from .random_walker import RandomWalkerEngine
from .watershed import WatershedEngine

DEFAULT_ENGINE = "watershed"


def _network_engine(refine: bool = True) -> Engine:
    from .network.engine import NetworkEngine

    return NetworkEngine(refine=refine)


_FACTORIES: dict[str, Callable[[], Engine]] = {
    "random_walker": RandomWalkerEngine,
    "watershed": WatershedEngine,
}
if packaged_weights().is_file():
    _FACTORIES["network"] = _network_engine
    _FACTORIES["network_coarse"] = lambda: _network_engine(refine=False)


def available_engines() -> tuple[str, ...]:
    return tuple(_FACTORIES)


def create_engine(name: str = DEFAULT_ENGINE) -> Engine:
    """A new engine instance by name (see ``available_engines()``)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown engine {name!r}; choose one of: {', '.join(available_engines())}"
        ) from None
    return factory()


def resolve_engine(engine: str | Engine | None) -> Engine:
    if engine is None:
        return create_engine(DEFAULT_ENGINE)
    if isinstance(engine, str):
        return create_engine(engine)
    if not isinstance(engine, Engine):
        raise TypeError(f"engine must be a name or an Engine, got {type(engine).__name__}")
    return engine


__all__ = [
    "DEFAULT_ENGINE",
    "Engine",
    "EngineCapabilities",
    "EngineRequest",
    "available_engines",
    "create_engine",
    "resolve_engine",
]
