#!/usr/bin/env bash
# The 3D tables of docs/benchmarks.md: propagation and 3D clicks on the shared volumes.
#   bash benchmarks/volumes.sh [OUT] ["ENGINES"]   (the 3D-click rows come with the watershed)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/results}
ENGINES=${2:-watershed network}
DATA=${NAPARI_IIS_DATA:-../shared/data}/3d
CT_WINDOW="--window -160 240"
mkdir -p "$OUT"
for engine in $ENGINES; do
  napari-iis evaluate3d "$DATA/ct_abdomen" --mode propagate --engine $engine $CT_WINDOW --json "$OUT/3d_ct_abdomen_propagate_$engine.json"
  napari-iis evaluate3d "$DATA/ct_aorta" --mode propagate --engine $engine $CT_WINDOW --json "$OUT/3d_ct_aorta_propagate_$engine.json"
  napari-iis evaluate3d "$DATA/synthetic_spheres" --mode propagate --engine $engine --json "$OUT/3d_synthetic_spheres_propagate_$engine.json"
  napari-iis evaluate3d "$DATA/synthetic_nuclei" --mode propagate --engine $engine --max-objects 30 --json "$OUT/3d_synthetic_nuclei_propagate_$engine.json"
done
[[ " $ENGINES " == *" watershed "* ]] || exit 0
napari-iis evaluate3d "$DATA/ct_abdomen" --mode clicks --engine watershed $CT_WINDOW --json "$OUT/3d_ct_abdomen_clicks_watershed.json"
napari-iis evaluate3d "$DATA/ct_aorta" --mode clicks --engine watershed $CT_WINDOW --json "$OUT/3d_ct_aorta_clicks_watershed.json"
napari-iis evaluate3d "$DATA/synthetic_spheres" --mode clicks --engine watershed --json "$OUT/3d_synthetic_spheres_clicks_watershed.json"
napari-iis evaluate3d "$DATA/synthetic_nuclei" --mode clicks --engine watershed --max-objects 30 --json "$OUT/3d_synthetic_nuclei_clicks_watershed.json"
