import pytest

from napari_iis.core.measure import physical_size
from napari_iis.sample_data import load_ct


def test_a_ct_organ_is_measured_in_millilitres():
    image, labels, spacing = load_ct()
    organ = int(labels.max())
    voxels = int((labels == organ).sum())
    millilitres = voxels * 27 / 1000  # 3 mm voxels: 27 mm³ each
    assert spacing == (3.0, 3.0, 3.0)
    assert physical_size(voxels, spacing, "millimeter") == f"{millilitres:,.1f} mL"
    assert physical_size(voxels, spacing, "cm") == f"{millilitres * 1000:,.1f} mL"


@pytest.mark.parametrize(("count", "spacing", "unit", "said"), [
    (10, (1.0, 1.0, 1.0), "mm", "0.01 mL"),
    (1000, (3.0, 0.5, 0.5), "micrometer", "750 µm³"),
    (50, (0.5, 0.5), "µm", "12.5 µm²"),
    (2000, (0.1, 0.1), "mm", "20 mm²"),
    (1000, (1.0, 1.0), "nm", "0.001 µm²"),
])
def test_sizes_in_the_units_readers_use(count, spacing, unit, said):
    assert physical_size(count, spacing, unit) == said


@pytest.mark.parametrize("unit", ["pixel", None, "second", ""])
def test_no_size_without_a_length_unit(unit):
    assert physical_size(100, (1.0, 1.0), unit) is None
