"""Training the interactive network with simulated clicks (``napari-iis train``)."""
