"""Reading and writing medical and microscopy volumes (headless)."""
