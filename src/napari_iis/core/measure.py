"""An object's size in physical units: millilitres for a CT organ, µm³ for a cell."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# a length unit's name (as files and napari's pint units spell it) -> (base unit, factor to it)
_LENGTH_UNITS: dict[str, tuple[str, float]] = {
    "mm": ("mm", 1.0), "millimeter": ("mm", 1.0), "millimetre": ("mm", 1.0),
    "cm": ("mm", 10.0), "centimeter": ("mm", 10.0), "centimetre": ("mm", 10.0),
    "m": ("mm", 1000.0), "meter": ("mm", 1000.0), "metre": ("mm", 1000.0),
    "µm": ("µm", 1.0), "μm": ("µm", 1.0), "um": ("µm", 1.0), "micron": ("µm", 1.0),
    "micrometer": ("µm", 1.0), "micrometre": ("µm", 1.0),
    "nm": ("µm", 1e-3), "nanometer": ("µm", 1e-3), "nanometre": ("µm", 1e-3),
}


def length_unit(name: str | None) -> tuple[str, float] | None:
    """``name``'s base unit ("mm" or "µm") and its factor to it; None for pixels, unknown
    units or no unit."""
    if name is None:
        return None
    return _LENGTH_UNITS.get(str(name).strip().lower())


def physical_size(count: int, spacing: Sequence[float], unit: str | None) -> str | None:
    """The size of ``count`` pixels or voxels of ``spacing`` (in ``unit``), as a reader would
    say it: "152.3 mL" for a volume in mm (1 mL = 1,000 mm³), "1,234 µm³", "12.5 mm²" (three
    significant digits below 100); None where the unit is not a known length (e.g.
    napari's "pixel")."""
    base = length_unit(unit)
    if base is None:
        return None
    name, factor = base
    ndim = len(spacing)
    amount = float(count) * float(np.prod([float(s) * factor for s in spacing]))
    if ndim == 3 and name == "mm":
        millilitres = amount / 1000.0
        return f"{millilitres:,.1f} mL" if millilitres >= 1 else f"{millilitres:.3g} mL"
    power = {2: "²", 3: "³"}.get(ndim, "")
    return f"{amount:.3g} {name}{power}" if amount < 100 else f"{amount:,.0f} {name}{power}"
