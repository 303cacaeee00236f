#!/usr/bin/env bash
# The validation table of docs/benchmarks.md: every engine on the held-out split.
#   bash benchmarks/validation.sh "network watershed random_walker" [OUT] [MAX_OBJECTS] [click|box|lasso]
# Objects per set are a fixed random sample (seed 0) of at most MAX_OBJECTS (default 150);
# with "box" or "lasso" each object's first prompt is its bounding box or a simulated lasso
# around it (reports SET_ENGINE_box.json, SET_ENGINE_lasso.json).
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINES=${1:-"network watershed"}
OUT=${2:-docs/results}
MAX_OBJECTS=${3:-150}
FIRST=${4:-click}
SUFFIX=$([ "$FIRST" = click ] || echo "_$FIRST")
DATA=${NAPARI_IIS_DATA:-../shared/data}
mkdir -p "$OUT"
for engine in $ENGINES; do
  napari-iis evaluate "$DATA/2d/duts_te" --engine "$engine" --max-objects "$MAX_OBJECTS" --first-prompt "$FIRST" \
    --json "$OUT/duts_te_$engine$SUFFIX.json"
  for set in coco_mval dsb2018_nuclei isbi2012_em; do
    napari-iis evaluate "$DATA/2d/$set" --engine "$engine" --split "splits/val_$set.txt" --first-prompt "$FIRST" \
      --max-objects "$MAX_OBJECTS" --json "$OUT/${set}_$engine$SUFFIX.json"
  done
done
