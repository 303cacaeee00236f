from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
from npe2 import PluginManager

from napari_iis.sample_data import histology, load_sample, nuclei


def test_npe2_discovers_the_installed_plugin():
    manager = PluginManager()
    manager.discover()
    manifest = manager.get_manifest("napari-iis")
    contributions = manifest.contributions
    assert [w.display_name for w in contributions.widgets] == ["Interactive segmentation"]
    assert {s.key for s in contributions.sample_data} == {"nuclei", "histology"}


def test_npe2_validates_the_manifest():
    npe2 = shutil.which("npe2") or f"{sys.executable} -m npe2"
    result = subprocess.run(f"{npe2} validate napari-iis", shell=True, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout


def test_sample_data():
    (image, meta, kind), = nuclei()
    assert kind == "image" and image.ndim == 2 and image.dtype == np.uint8
    (rgb, meta, _), = histology()
    assert rgb.shape[-1] == 3 and meta["rgb"]
    _, labels = load_sample("nuclei")
    assert labels.shape == image.shape and labels.max() > 100


def test_cli_lists_engines():
    result = subprocess.run([sys.executable, "-m", "napari_iis.cli", "engines"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "random_walker" in result.stdout and "watershed  (default)" in result.stdout
