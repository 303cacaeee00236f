#!/usr/bin/env bash
# On the volumes held out from 3D training (splits/val_3d.txt), by simulated 3D clicks:
# 3D engines in 3D (--mode clicks), and 2D engines slice by slice, each click correcting
# its slice before the object is propagated again (--mode corrections).
#   bash benchmarks/volumes_val.sh [OUT] ["3D ENGINES"] ["2D ENGINES"]
#   PROPAGATE_WITH=watershed bash benchmarks/volumes_val.sh OUT "" network   (slice corrections
#   by the network, propagation by the watershed; files *_network_watershed.json)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/results}
ENGINES_3D=${2-network3d watershed}
ENGINES_2D=${3-network}
DATA=${NAPARI_IIS_DATA:-../shared/data}/3d
SPLIT="--split splits/val_3d.txt"
mkdir -p "$OUT"

held_out() {  # MODE ENGINE
  local mode=$1 engine=$2 name tag=$2 carrier=()
  name=$([[ $mode == clicks ]] && echo clicks || echo corrections)
  if [[ $mode != clicks && -n ${PROPAGATE_WITH:-} ]]; then
    carrier=(--propagation-engine "$PROPAGATE_WITH")
    tag=${engine}_$PROPAGATE_WITH
  fi
  napari-iis evaluate3d "$DATA/ct_abdomen" --mode "$mode" --engine "$engine" "${carrier[@]}" --window -160 240 $SPLIT --json "$OUT/3d_val_ct_abdomen_${name}_$tag.json"
  napari-iis evaluate3d "$DATA/ct_aorta" --mode "$mode" --engine "$engine" "${carrier[@]}" --window -160 240 $SPLIT --json "$OUT/3d_val_ct_aorta_${name}_$tag.json"
  napari-iis evaluate3d "$DATA/synthetic_spheres" --mode "$mode" --engine "$engine" "${carrier[@]}" $SPLIT --json "$OUT/3d_val_synthetic_spheres_${name}_$tag.json"
  napari-iis evaluate3d "$DATA/synthetic_nuclei" --mode "$mode" --engine "$engine" "${carrier[@]}" --max-objects 30 $SPLIT --json "$OUT/3d_val_synthetic_nuclei_${name}_$tag.json"
}

for engine in $ENGINES_3D; do held_out clicks "$engine"; done
for engine in $ENGINES_2D; do held_out corrections "$engine"; done
