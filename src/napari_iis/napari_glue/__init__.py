"""Thin glue between napari and the headless core: layers, mouse, keys, worker thread."""
