"""The headless core: sessions, prompts, crops, metrics and evaluation (no Qt, no napari)."""

from .crop import CropPolicy, CropWindow
from .mask import SparseMask
from .prompts import Box, Click, Lasso, Prompt, Scribble
from .session import InteractiveSession

__all__ = ["Box", "Click", "CropPolicy", "CropWindow", "InteractiveSession", "Lasso", "Prompt", "Scribble", "SparseMask"]
