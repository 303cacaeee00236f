"""napari-iis: interactive image segmentation for napari, with a headless core."""

import os

# Before torch is ever imported: idle OpenMP threads must sleep, not spin, or they starve
# the Qt thread and any other process on a small CPU.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .core import Box, Click, CropPolicy, InteractiveSession, Lasso, Scribble  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Box", "Click", "CropPolicy", "InteractiveSession", "Lasso", "Scribble", "__version__"]
