#!/usr/bin/env bash
# On the volumes held out from 3D training (splits/val_3d.txt), by simulated 3D clicks:
# 3D engines in 3D (--mode clicks), and 2D engines slice by slice, each click correcting
# its slice before the object is propagated again (--mode corrections).
#   bash benchmarks/volumes_val.sh [OUT] ["3D ENGINES"] ["2D ENGINES"]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/results}
ENGINES_3D=${2-network3d watershed}
ENGINES_2D=${3-network}
DATA=${NAPARI_IIS_DATA:-../shared/data}/3d
SPLIT="--split splits/val_3d.txt"
mkdir -p "$OUT"

held_out() {  # MODE ENGINE
  local mode=$1 engine=$2 name
  name=$([[ $mode == clicks ]] && echo clicks || echo corrections)
  napari-iis evaluate3d "$DATA/ct_abdomen" --mode "$mode" --engine "$engine" --window -160 240 $SPLIT --json "$OUT/3d_val_ct_abdomen_${name}_$engine.json"
  napari-iis evaluate3d "$DATA/ct_aorta" --mode "$mode" --engine "$engine" --window -160 240 $SPLIT --json "$OUT/3d_val_ct_aorta_${name}_$engine.json"
  napari-iis evaluate3d "$DATA/synthetic_spheres" --mode "$mode" --engine "$engine" $SPLIT --json "$OUT/3d_val_synthetic_spheres_${name}_$engine.json"
  napari-iis evaluate3d "$DATA/synthetic_nuclei" --mode "$mode" --engine "$engine" --max-objects 30 $SPLIT --json "$OUT/3d_val_synthetic_nuclei_${name}_$engine.json"
}

for engine in $ENGINES_3D; do held_out clicks "$engine"; done
for engine in $ENGINES_2D; do held_out corrections "$engine"; done
