#!/usr/bin/env bash
# One prompt on every object of each held-out image (the widget's one-click-per-object mode
# and `segment_each`): nuclei and EM cells, network and watershed.
#   bash benchmarks/one_click_each.sh [OUT] [click|box|lasso]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/results}
FIRST=${2:-click}
SUFFIX=$([ "$FIRST" = click ] || echo "_$FIRST")
DATA=${NAPARI_IIS_DATA:-../shared/data}
mkdir -p "$OUT"
for engine in network watershed; do
  for set in dsb2018_nuclei isbi2012_em; do
    napari-iis evaluate "$DATA/2d/$set" --mode each --engine "$engine" --split "splits/val_$set.txt" \
      --first-prompt "$FIRST" --json "$OUT/each_${set}_$engine$SUFFIX.json"
  done
done
