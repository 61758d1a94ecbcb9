#!/usr/bin/env bash
# Every number and figure of docs/inference.md "The shipped estimator", from suite folders.
#   scripts/inference/run_all.sh /path/to/suite [/path/to/another/suite ...]
# (run from the repository root; the suites must have been run with keep_particles=True).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 SUITE [SUITE ...]" >&2; exit 2; }
PY=${PYTHON:-python}
$PY scripts/inference/compact_suite.py "$@" jaxgal/data/suite/train_suite.npz --mocks 4
$PY -m jaxgal.cli train jaxgal/data/npe/train.toml
$PY -m jaxgal.cli train jaxgal/data/npe_reflex/train.toml
for SEED in 0 1 2; do
  OUT=docs/inference/holdout; [ "$SEED" = 0 ] || OUT=docs/inference/holdout_seed$SEED
  $PY -m jaxgal.cli diagnose jaxgal/data/npe --n-samples 1000 --seed $SEED --out $OUT
done
$PY -m jaxgal.cli diagnose jaxgal/data/npe_reflex --n-samples 1000 --out docs/inference/holdout_reflex
# optional, slower: the training procedure cross-fitted on every row
# $PY -m jaxgal.cli diagnose jaxgal/data/npe/train.toml --crossfit --folds 5 --out docs/inference/crossfit
$PY scripts/inference/e2e_mocks.py infer
$PY scripts/inference/variants.py docs/inference/variants/shipped.toml docs/inference/variants/mocks1.toml docs/inference/variants/mocks2.toml docs/inference/variants/means_only.toml
$PY scripts/inference/ppc.py embedded
$PY scripts/inference/ppc.py contaminated
$PY scripts/inference/figures.py
