#!/usr/bin/env bash
# The 3D network against the 3D watershed, by 3D clicks, on the volumes held out from
# 3D training (splits/val_3d.txt).   bash benchmarks/volumes_val.sh [OUT] ["ENGINES"]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/results}
ENGINES=${2:-network3d watershed}
DATA=${NAPARI_IIS_DATA:-../shared/data}/3d
CT_WINDOW="--window -160 240"
SPLIT="--split splits/val_3d.txt"
mkdir -p "$OUT"
for engine in $ENGINES; do
  napari-iis evaluate3d "$DATA/ct_abdomen" --mode clicks --engine $engine $CT_WINDOW $SPLIT --json "$OUT/3d_val_ct_abdomen_clicks_$engine.json"
  napari-iis evaluate3d "$DATA/ct_aorta" --mode clicks --engine $engine $CT_WINDOW $SPLIT --json "$OUT/3d_val_ct_aorta_clicks_$engine.json"
  napari-iis evaluate3d "$DATA/synthetic_spheres" --mode clicks --engine $engine $SPLIT --json "$OUT/3d_val_synthetic_spheres_clicks_$engine.json"
  napari-iis evaluate3d "$DATA/synthetic_nuclei" --mode clicks --engine $engine --max-objects 30 $SPLIT --json "$OUT/3d_val_synthetic_nuclei_clicks_$engine.json"
done
