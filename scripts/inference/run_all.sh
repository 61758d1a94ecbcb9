#!/usr/bin/env bash
# Every number and figure of docs/inference.md "The shipped estimator", from a suite folder.
#   scripts/inference/run_all.sh /path/to/suite [FOLDS]
# (run from the repository root; the suite must have been run with keep_particles=True).
set -euo pipefail
SUITE=${1:?suite folder}
FOLDS=${2:-5}
PY=${PYTHON:-python}
$PY scripts/inference/compact_suite.py "$SUITE" jaxgal/data/suite/train_suite.npz
$PY -m jaxgal.cli train jaxgal/data/npe/train.toml
$PY -m jaxgal.cli train jaxgal/data/npe_reflex/train.toml
$PY -m jaxgal.cli diagnose jaxgal/data/npe --n-samples 1000 --out docs/inference/holdout
$PY -m jaxgal.cli diagnose jaxgal/data/npe_reflex --n-samples 1000 --out docs/inference/holdout_reflex
# optional, slower: the training procedure cross-fitted on every row
# $PY -m jaxgal.cli diagnose jaxgal/data/npe/train.toml --crossfit --folds "$FOLDS" --out docs/inference/crossfit
$PY scripts/inference/e2e_mocks.py infer
$PY scripts/inference/figures.py
