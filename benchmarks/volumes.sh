#!/usr/bin/env bash
# The 3D tables of docs/benchmarks.md: propagation (from clicks and from the true start
# slice) and 3D clicks on the shared volumes.
#   bash benchmarks/volumes.sh [OUT] ["ENGINES"]   (the 3D-click rows come with the watershed)
#   PROPAGATE_WITH=watershed bash benchmarks/volumes.sh OUT network   (clicks by the network,
#   propagation by the watershed; files *_network_watershed.json; no 3D-click rows)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/results}
ENGINES=${2:-watershed network}
DATA=${NAPARI_IIS_DATA:-../shared/data}/3d
CT_WINDOW="--window -160 240"
mkdir -p "$OUT"

# every set, in one mode: evaluate3d MODE ENGINE NAME [options...] (NAME tags the JSON files)
every_set() {
  local mode=$1 engine=$2 name=$3 tag=$2
  shift 3
  if [[ $mode != clicks && -n ${PROPAGATE_WITH:-} ]]; then
    set -- "$@" --propagation-engine "$PROPAGATE_WITH"
    tag=${engine}_$PROPAGATE_WITH
  fi
  napari-iis evaluate3d "$DATA/ct_abdomen" --mode $mode --engine $engine $CT_WINDOW "$@" --json "$OUT/3d_ct_abdomen_${name}_$tag.json"
  napari-iis evaluate3d "$DATA/ct_aorta" --mode $mode --engine $engine $CT_WINDOW "$@" --json "$OUT/3d_ct_aorta_${name}_$tag.json"
  napari-iis evaluate3d "$DATA/synthetic_spheres" --mode $mode --engine $engine "$@" --json "$OUT/3d_synthetic_spheres_${name}_$tag.json"
  napari-iis evaluate3d "$DATA/synthetic_nuclei" --mode $mode --engine $engine --max-objects 30 "$@" --json "$OUT/3d_synthetic_nuclei_${name}_$tag.json"
}

for engine in $ENGINES; do
  every_set propagate $engine propagate
  every_set propagate $engine propagate_truth --start truth
done
[[ -z ${PROPAGATE_WITH:-} && " $ENGINES " == *" watershed "* ]] || exit 0
every_set clicks watershed clicks
