#!/usr/bin/env bash
# One click on every object of each held-out image (the widget's one-click-per-object mode
# and `segment_each`): nuclei and EM cells, network and watershed.
#   bash benchmarks/one_click_each.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/results}
DATA=${NAPARI_IIS_DATA:-../shared/data}
mkdir -p "$OUT"
for engine in network watershed; do
  for set in dsb2018_nuclei isbi2012_em; do
    napari-iis evaluate "$DATA/2d/$set" --mode each --engine "$engine" --split "splits/val_$set.txt" \
      --json "$OUT/each_${set}_$engine.json"
  done
done
