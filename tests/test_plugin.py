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
    assert {s.key for s in contributions.sample_data} == {"nuclei", "histology", "abdomen_ct"}


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
    assert "random_walker" in result.stdout and "watershed  (default, volumes)" in result.stdout
    assert "network  (default, 2D)" in result.stdout


def test_the_built_wheel_carries_the_manifest_and_npe2_finds_it(tmp_path):
    """``pip install .`` (a wheel) must ship napari.yaml inside the package."""
    from conftest import REPO_ROOT

    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO_ROOT)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("napari_iis-*.whl")
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True,
    )
    assert install.returncode == 0, install.stderr
    assert (target / "napari_iis" / "napari.yaml").is_file()
    assert not (target / "napari_iis" / "napari.yaml").is_symlink()
    probe = (
        "import napari_iis, npe2; from npe2 import PluginManager; pm = PluginManager(); pm.discover();"
        "m = pm.get_manifest('napari-iis'); print(napari_iis.__file__); print(len(m.contributions.widgets))"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(target)}
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert found.returncode == 0, found.stderr
    module_file, widgets = found.stdout.split()
    assert module_file.startswith(str(target)) and widgets == "1"
    validate = subprocess.run([sys.executable, "-m", "npe2", "validate", "napari-iis"],
                              capture_output=True, text=True, env=env)
    assert validate.returncode == 0 and "valid" in validate.stdout, validate.stdout + validate.stderr


def test_ct_sample_has_its_spacing():
    from napari_iis.sample_data import abdomen_ct, load_ct

    (volume, meta, kind), = abdomen_ct()
    assert kind == "image" and volume.shape == (30, 101, 122) and volume.dtype == np.int16
    assert meta["scale"] == (3.0, 3.0, 3.0)
    _, labels, spacing = load_ct()
    assert labels.shape == volume.shape and labels.max() > 10 and spacing == (3.0, 3.0, 3.0)
