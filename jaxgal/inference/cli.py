"""The inference commands: ``jaxgal train``, ``jaxgal infer``, ``jaxgal diagnose``,
``jaxgal plot`` (docs/inference.md).

- ``jaxgal train CONFIG.toml [--out PATH]``: train an NPE ensemble on a simulation suite
  (``jaxgal.simulation.load_suite``); targets and inputs are chosen by name in the TOML file
  (``jaxgal train --example`` prints a complete one, :data:`EXAMPLE_CONFIG`).
- ``jaxgal infer CATALOGUE [--estimator PATH] [--n N] [--seed S] [--out DIR]
  [--set NAME=VALUE ...]``: the posterior of an observed catalogue; writes
  ``posterior.npz`` (draws), ``posterior.json`` (median, 16th and 84th percentiles) and
  ``corner.png``/``.pdf``, and prints the table.
- ``jaxgal diagnose ESTIMATOR [--suite DIR] [--n-test N] [--n-samples L] [--seed S]
  [--out DIR]``: TARP coverage and SBC on the suite rows held out from training; writes
  ``diagnostics.json``, ``diagnostics.npz`` and ``tarp``/``sbc`` figures.
  ``jaxgal diagnose CONFIG.toml --crossfit [--folds K]``: the same on every suite row,
  each from an ensemble trained (as configured) on the other folds (:func:`run_crossfit`).
- ``jaxgal plot {corner,tarp,sbc,ppc} INPUT [--out PATH]``: the figures from those files
  (``ppc`` from :meth:`jaxgal.inference.PPCResult.save`).

:func:`add_subcommands` adds the four to an ``argparse`` sub-parser set (each sets
``args.run``, a function of the parsed arguments returning the exit status); :func:`main`
runs them standalone (``python -m jaxgal.inference.cli train CONFIG.toml``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys

import numpy as np

__all__ = [
    "EXAMPLE_CONFIG",
    "TRAIN_DEFAULTS",
    "validate_train_config",
    "load_train_config",
    "suite_columns",
    "run_train",
    "run_infer",
    "run_diagnose",
    "run_crossfit",
    "load_suite_any",
    "run_plot",
    "add_subcommands",
    "main",
]

class _Required:
    """Marks a configuration key without a default (survives ``copy.deepcopy``)."""

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return "<required>"


_REQUIRED = _Required()

#: Every key of a training configuration and its default (``_REQUIRED``: must be given).
TRAIN_DEFAULTS: dict = {
    "suite": {"dir": _REQUIRED, "summaries": "summaries", "flags": "flags", "holdout": 0, "partial": False,
              "require": [], "mocks": 0},
    "targets": {"names": ["log10_m200", "m_mw_50", "m_lmc_50", "beta0"], "transforms": {}, "bounds": {}},
    "inputs": {"summaries": "all", "drop": [], "extra": []},
    "flow": {"layers": 5, "width": 50, "depth": 1, "activation": "tanh", "dtype": "float64"},
    "training": {"n_ensemble": 5, "seed": 0, "batch_size": 200, "learning_rate": 5e-4, "val_fraction": 0.1,
                 "patience": 20, "max_epochs": 1000, "lr_reductions": 0, "weighting": "validation",
                 "split": "per_member"},
    "output": {"path": "npe_estimator"},
}

#: A complete training configuration (the paper's set-up: 5 flows of 5 MAF transforms × 50
#: units; masses learned in log10; β0 inside its prior box).
EXAMPLE_CONFIG = """\
[suite]
dir = "suite"                 # a folder written by jaxgal.simulation.run_suite, or a compact suite .npz
                              # (relative paths are relative to this file's folder)
summaries = "summaries"       # key of the (n, 52) summaries (e.g. "observed_summaries" of load_suite(dir, observation="default"))
flags = "flags"               # key of the (n, 52) flags (bins with too few stars -> NaN input); "" = none
holdout = 500                 # last rows kept out of training, for `jaxgal diagnose`
partial = false               # accept a suite folder with chunks still missing (the rows present)
require = []                  # boolean columns that must be true for a row to be used, e.g. ["reflex_converged"]
mocks = 0                     # with a (n, R, 52) summaries column (R mocks per simulation): train on the first
                              # `mocks` of each simulation (0 = all R)

[targets]
names = ["log10_m200", "m_mw_50", "m_lmc_50", "beta0"]   # θ entries and derived_* / reflex_* columns
transforms = { m_mw_50 = "log10", m_lmc_50 = "log10", beta0 = "logit" }
bounds = { beta0 = [0.0, 0.85] }

[inputs]
summaries = "all"             # "means" (the 26 mean velocities), or a list of summary names (jaxgal.observables.summary_names())
drop = []                     # summaries to leave out, e.g. bins flagged by a predictive check
extra = []                    # other conditioning columns, e.g. ["ra_lmc", "dec_lmc", "d_lmc", "vlos_lmc", "pmra_lmc", "pmdec_lmc", "gamma"]

[flow]
layers = 5
width = 50
depth = 1
activation = "tanh"
dtype = "float64"

[training]
n_ensemble = 5
seed = 0
batch_size = 200
learning_rate = 5e-4
val_fraction = 0.1
patience = 20
max_epochs = 1000
lr_reductions = 0
weighting = "validation"      # or "equal"
split = "per_member"          # or "shared"

[output]
path = "npe_estimator"
"""


def _log(msg: str) -> None:
    print(f"[jaxgal] {msg}", file=sys.stderr, flush=True)


def _type_check(section: str, key: str, value, default):
    where = f"[{section}] {key}"
    if default is _REQUIRED:
        if not isinstance(value, str) or not value:
            raise ValueError(f"train config: {where} must be a non-empty string; got {value!r}")
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str) or (key == "summaries" and section == "inputs" and isinstance(value, list))
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    else:  # pragma: no cover
        ok = True
    if not ok:
        raise ValueError(f"train config: {where} must be {type(default).__name__}-valued like {default!r}; got {value!r}")
    return value


def validate_train_config(config: dict) -> dict:
    """Merge a training configuration with :data:`TRAIN_DEFAULTS` and check every key.

    Raises ``ValueError`` naming the section and key of anything unknown, missing or of
    the wrong type or range.
    """
    if not isinstance(config, dict):
        raise ValueError("train config: expected a mapping of sections")
    out = copy.deepcopy(TRAIN_DEFAULTS)
    for sec, vals in config.items():
        if sec not in out:
            raise ValueError(f"train config: unknown section [{sec}]; known: {sorted(out)}")
        if not isinstance(vals, dict):
            raise ValueError(f"train config: [{sec}] must be a table")
        for key, v in vals.items():
            if key not in out[sec]:
                raise ValueError(f"train config: unknown key {key!r} in [{sec}]; known: {sorted(out[sec])}")
            out[sec][key] = _type_check(sec, key, v, TRAIN_DEFAULTS[sec][key])
    for sec, vals in out.items():
        for key, v in vals.items():
            if v is _REQUIRED:
                raise ValueError(f"train config: [{sec}] {key} is required")
    t = out["training"]
    for key, lo in (("n_ensemble", 1), ("batch_size", 1), ("patience", 1), ("max_epochs", 1), ("holdout", 0),
                    ("mocks", 0)):
        sec = "suite" if key in ("holdout", "mocks") else "training"
        if out[sec][key] < lo:
            raise ValueError(f"train config: [{sec}] {key} must be >= {lo}; got {out[sec][key]}")
    if not 0 < t["val_fraction"] < 1:
        raise ValueError(f"train config: [training] val_fraction must be in (0, 1); got {t['val_fraction']}")
    if not t["learning_rate"] > 0:
        raise ValueError(f"train config: [training] learning_rate must be > 0; got {t['learning_rate']}")
    if not out["targets"]["names"]:
        raise ValueError("train config: [targets] names must list at least one target")
    for name, tr in out["targets"]["transforms"].items():
        if name not in out["targets"]["names"]:
            raise ValueError(f"train config: [targets] transforms names {name!r}, which is not a target")
        if not isinstance(tr, str):
            raise ValueError(f"train config: [targets] transforms.{name} must be a string; got {tr!r}")
    for name, b in out["targets"]["bounds"].items():
        if name not in out["targets"]["names"]:
            raise ValueError(f"train config: [targets] bounds names {name!r}, which is not a target")
        if not (isinstance(b, list) and len(b) == 2 and all(isinstance(v, (int, float)) for v in b) and b[0] < b[1]):
            raise ValueError(f"train config: [targets] bounds.{name} must be [lo, hi] with lo < hi; got {b!r}")
    s = out["inputs"]["summaries"]
    if isinstance(s, str) and s not in ("all", "means"):
        raise ValueError(f"train config: [inputs] summaries must be \"all\", \"means\" or a list of names; got {s!r}")
    try:
        _npe_config(out, show_progress=False)
    except ValueError as e:
        raise ValueError(f"train config: {e} (sections [flow], [training], [targets])") from None
    return out


def load_train_config(path: str) -> dict:
    """Read and validate a TOML training configuration."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    if not os.path.exists(path):
        raise FileNotFoundError(f"train config: no such file {path!r}")
    with open(path, "rb") as fh:
        try:
            raw = tomllib.load(fh)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"train config: {path} is not valid TOML ({e})") from None
    cfg = validate_train_config(raw)
    base = os.path.dirname(os.path.abspath(path))
    for sec, key in (("suite", "dir"), ("output", "path")):
        if not os.path.isabs(cfg[sec][key]):
            cfg[sec][key] = os.path.normpath(os.path.join(base, cfg[sec][key]))
    return cfg


def load_suite_any(path: str, *, allow_partial: bool = False) -> dict:
    """A suite as a mapping of arrays: a folder of chunks
    (:func:`jaxgal.simulation.load_suite`) or a compact ``.npz`` (one array per column, e.g.
    ``jaxgal/data/suite/train_suite.npz``; a JSON ``manifest`` text is decoded)."""
    if os.path.isfile(path):
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
        if "theta" not in out:
            raise ValueError(f"{path} is not a suite file (no 'theta' array)")
        if "manifest" in out:
            out["manifest"] = json.loads(str(out["manifest"]))
        return out
    from ..simulation import load_suite

    return load_suite(path, allow_partial=allow_partial)


def _npe_config(cfg: dict, show_progress: bool = True):
    from ._npe import NPEConfig

    f, t, tg = cfg["flow"], cfg["training"], cfg["targets"]
    return NPEConfig(
        flow_layers=f["layers"], nn_width=f["width"], nn_depth=f["depth"], nn_activation=f["activation"],
        dtype=f["dtype"], learning_rate=t["learning_rate"], batch_size=t["batch_size"],
        val_fraction=t["val_fraction"], patience=t["patience"], max_epochs=t["max_epochs"],
        lr_reductions=t["lr_reductions"], weighting=t["weighting"], split=t["split"],
        transforms=dict(tg["transforms"]), bounds={k: tuple(v) for k, v in tg["bounds"].items()},
        show_progress=show_progress,
    )


def _summary_names_of(suite: dict, key: str):
    from ..observables import summary_names

    if "summary_names" in suite:
        return tuple(str(s) for s in suite["summary_names"])
    names = summary_names()
    if suite[key].shape[-1] != len(names):
        raise ValueError(
            f"suite column {key!r} has {suite[key].shape[-1]} summaries but the default summary "
            f"configuration has {len(names)}, and the suite stores no 'summary_names'"
        )
    return names


def suite_columns(suite: dict, names, *, summaries_key: str = "summaries", what: str = "column") -> np.ndarray:
    """(n, len(names)) columns of a suite mapping found by name: a 1-D key of the suite
    itself, a θ entry (``theta_names``), ``derived_<name>``, ``reflex_<name>``, or a summary
    name (a column of ``suite[summaries_key]``). Raises ``ValueError`` naming an unknown name."""
    theta_names = [str(s) for s in suite.get("theta_names", [])]
    cols = []
    snames = None
    for nm in names:
        if nm in suite and np.ndim(suite[nm]) == 1:
            cols.append(np.asarray(suite[nm], dtype=float))
        elif nm in theta_names:
            cols.append(np.asarray(suite["theta"][:, theta_names.index(nm)], dtype=float))
        elif f"derived_{nm}" in suite:
            cols.append(np.asarray(suite[f"derived_{nm}"], dtype=float))
        elif f"reflex_{nm}" in suite:
            cols.append(np.asarray(suite[f"reflex_{nm}"], dtype=float))
        else:
            if snames is None and summaries_key in suite:
                snames = _summary_names_of(suite, summaries_key)
            if snames is not None and nm in snames:
                cols.append(np.asarray(suite[summaries_key][:, snames.index(nm)], dtype=float))
            else:
                known = sorted(k for k in suite if np.ndim(suite[k]) == 1) + theta_names
                raise ValueError(f"{what} {nm!r} is not in the suite; known 1-D columns and θ names: {known}")
    return np.stack(cols, axis=1)


def _suite_inputs(suite: dict, cfg: dict):
    """(x, names) of the configured inputs: summaries (flagged -> NaN) then extras. x is
    (n, k), or (n, R, k) when the summaries column holds R mocks per simulation
    (``summaries_mock`` of a compact suite; the extras are repeated over the mocks)."""
    skey, fkey = cfg["suite"]["summaries"], cfg["suite"]["flags"]
    if skey not in suite:
        raise ValueError(f"[suite] summaries = {skey!r} is not a column of the suite; columns: {sorted(suite)}")
    snames = _summary_names_of(suite, skey)
    want = cfg["inputs"]["summaries"]
    if want == "all":
        want = list(snames)
    elif want == "means":  # the paper's "means only" variant
        want = [n for n in snames if "_mean_" in n]
    else:
        want = list(want)
    unknown = [n for n in want if n not in snames]
    if unknown:
        raise ValueError(f"[inputs] summaries: unknown summary names {unknown}")
    drop = cfg["inputs"]["drop"]
    bad = [n for n in drop if n not in want]
    if bad:
        raise ValueError(f"[inputs] drop: {bad} are not among the inputs")
    names = [n for n in want if n not in drop]
    idx = [snames.index(n) for n in names]
    s_all = np.asarray(suite[skey], dtype=float)
    if s_all.ndim not in (2, 3):
        raise ValueError(f"[suite] summaries = {skey!r} has shape {s_all.shape}; expected (n, 52) or (n, mocks, 52)")
    n_mocks = cfg["suite"].get("mocks", 0)
    if n_mocks:
        if s_all.ndim != 3:
            raise ValueError(f"[suite] mocks = {n_mocks} needs a (n, mocks, 52) summaries column; {skey!r} is {s_all.shape}")
        if n_mocks > s_all.shape[1]:
            raise ValueError(f"[suite] mocks = {n_mocks}, but {skey!r} holds {s_all.shape[1]} mocks per simulation")
    sl = (slice(None), slice(0, n_mocks)) if n_mocks else (slice(None),)
    x = s_all[sl][..., idx]
    if fkey:
        if fkey not in suite:
            raise ValueError(f"[suite] flags = {fkey!r} is not a column of the suite (use \"\" for none)")
        flags = np.asarray(suite[fkey], dtype=bool)
        if flags.shape != suite[skey].shape:
            raise ValueError(f"[suite] flags {fkey!r} has shape {flags.shape}, summaries {suite[skey].shape}")
        x = np.where(flags[sl][..., idx], np.nan, x)
    extra = cfg["inputs"]["extra"]
    if extra:
        cols = suite_columns(suite, extra, summaries_key=skey, what="[inputs] extra")
        if x.ndim == 3:
            cols = np.broadcast_to(cols[:, None, :], (x.shape[0], x.shape[1], cols.shape[1]))
        x = np.concatenate([x, cols], axis=-1)
    return x, names + list(extra)


def estimator_suite_path(estimator_dir: str, meta: dict, suite: str | None = None) -> str:
    """The suite an estimator was trained on: `suite` when given, else the path its metadata
    records, else (a moved checkout) that path relative to the estimator folder."""
    suite_dir = suite or meta.get("suite")
    if not suite_dir:
        raise ValueError("the estimator records no suite; pass --suite DIR")
    if not os.path.exists(suite_dir) and meta.get("suite_relative"):
        suite_dir = os.path.normpath(os.path.join(estimator_dir, meta["suite_relative"]))
    return suite_dir


def estimator_inputs(est, suite: dict) -> np.ndarray:
    """An estimator's inputs read from a suite mapping as it was trained on them (its
    summaries and flags columns, its summaries and extra inputs in its order): (n, k), or
    (n, R, k) with R mocks per simulation."""
    meta = est.metadata
    extra = meta.get("extra_inputs", [])
    cfg = {"suite": {"summaries": meta.get("summaries_key", "summaries"), "flags": meta.get("flags_key", "flags")},
           "inputs": {"summaries": [n for n in est.x_names if n not in extra], "drop": [], "extra": extra}}
    x, names = _suite_inputs(suite, cfg)
    if tuple(names) != est.x_names:
        raise ValueError("the suite's inputs do not reproduce the estimator's inputs")
    return x


def _expand_mocks(theta: np.ndarray, x: np.ndarray, rows: np.ndarray):
    """Training pairs of the simulations `rows`: with (n, R, k) inputs (R mocks per
    simulation) each simulation gives R rows (θ repeated) and its index as the group of the
    validation split (:func:`~jaxgal.inference.train_npe`'s ``groups``); with (n, k) inputs
    one row each and no groups."""
    if x.ndim == 2:
        return theta[rows], x[rows], None
    r = x.shape[1]
    return np.repeat(theta[rows], r, axis=0), x[rows].reshape(-1, x.shape[2]), np.repeat(rows, r)


def _first_mock(x: np.ndarray) -> np.ndarray:
    """The test inputs of held-out simulations: the first mock of each when there are several
    (one independent observation per simulation, as the coverage tests assume)."""
    return x[:, 0] if x.ndim == 3 else x


def _usable_rows(suite: dict, cfg: dict) -> np.ndarray:
    """(n,) booleans: the rows whose ``[suite] require`` columns are all true."""
    n = np.asarray(suite["theta"]).shape[0]
    ok = np.ones(n, dtype=bool)
    for name in cfg["suite"].get("require", []):
        col = suite_columns(suite, [name], what="[suite] require")[:, 0]
        ok &= np.isfinite(col) & (col != 0)
    return ok


def run_train(cfg: dict, *, out: str | None = None, show_progress: bool = True):
    """Train and save the estimator described by a validated configuration; returns it."""
    import jax

    from ._npe import train_npe

    suite_dir = cfg["suite"]["dir"]
    suite = load_suite_any(suite_dir, allow_partial=cfg["suite"].get("partial", False))
    n = suite["theta"].shape[0]
    hold = cfg["suite"]["holdout"]
    if hold >= n:
        raise ValueError(f"[suite] holdout = {hold} leaves no training rows of {n}")
    targets = cfg["targets"]["names"]
    theta = suite_columns(suite, targets, summaries_key=cfg["suite"]["summaries"], what="[targets] name")
    x, x_names = _suite_inputs(suite, cfg)
    use = _usable_rows(suite, cfg)
    keep = np.flatnonzero(use[: n - hold])
    if keep.size < 10:
        raise ValueError(f"only {keep.size} usable training rows (of {n - hold}); check [suite] require")
    path = out or cfg["output"]["path"]
    meta = {"suite": os.path.abspath(suite_dir),
            "suite_relative": os.path.relpath(os.path.abspath(suite_dir), os.path.abspath(path)),
            "suite_manifest": suite.get("manifest") if isinstance(suite.get("manifest"), dict) else None,
            "observation_counts": (np.asarray(suite["observation_counts"]).tolist()
                                   if "observation_counts" in suite else None),
            "summaries_key": cfg["suite"]["summaries"],
            "flags_key": cfg["suite"]["flags"], "extra_inputs": list(cfg["inputs"]["extra"]),
            "n_rows": int(n), "train_rows": [0, int(n - hold)], "holdout_rows": [int(n - hold), int(n)],
            "n_train_used": int(keep.size), "require": list(cfg["suite"].get("require", [])),
            "mocks_per_simulation": int(x.shape[1]) if x.ndim == 3 else None,
            "config": {k: v for k, v in cfg.items()}}
    if "log10_m200" in targets and "m_mw_50" not in targets:
        from ._posterior import mw_mass_table

        meta["mw_mass_table"] = mw_mass_table()  # posterior() derives M_MW(<50 kpc) from it
    th_tr, x_tr, groups = _expand_mocks(theta, x, keep)
    _log(f"training {cfg['training']['n_ensemble']} flows on {keep.size} simulations "
         + (f"x {x.shape[1]} mocks " if groups is not None else "")
         + f"({len(targets)} targets, {len(x_names)} inputs; {hold} held out)")
    est = train_npe(jax.random.key(cfg["training"]["seed"]), th_tr, x_tr, cfg["training"]["n_ensemble"],
                    theta_names=targets, x_names=x_names, config=_npe_config(cfg, show_progress), metadata=meta,
                    groups=groups)
    est.save(path)
    for j, h in enumerate(est.history):
        _log(f"member {j + 1}: {h.n_epochs} epochs (best {h.best_epoch}, val loss {h.best_val_loss:.4f}, "
             f"{h.stop_reason}), {h.seconds:.1f} s, weight {est.weights[j]:.3f}")
    _log(f"wrote {path}")
    return est


def _table(draws: dict) -> dict:
    return {k: {"median": float(np.median(v)), "p16": float(np.percentile(v, 16)), "p84": float(np.percentile(v, 84))}
            for k, v in draws.items()}


def _print_table(table: dict) -> None:
    w = max(len(k) for k in table)
    print(f"{'parameter':<{w}}  {'median':>12}  {'-1σ (16 %)':>12}  {'+1σ (84 %)':>12}")
    for k, r in table.items():
        print(f"{k:<{w}}  {r['median']:>12.5g}  {r['p16'] - r['median']:>12.4g}  {r['p84'] - r['median']:>+12.4g}")


def _parse_sets(items) -> dict:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise ValueError(f"--set expects NAME=VALUE; got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise ValueError(f"--set {k}: {v!r} is not a number") from None
    return out


def run_infer(catalogue: str, *, estimator: str | None = None, n: int = 10_000, seed: int = 0,
              out: str = "posterior_output", conditions: dict | None = None, plot: bool = True) -> dict:
    """Posterior of a catalogue file; writes the draws, the table and the corner plot."""
    import jax

    from ._npe import load_npe
    from ._posterior import posterior, shipped_estimator_path

    est = load_npe(estimator) if estimator else None
    draws = posterior(jax.random.key(seed), catalogue, n, est, **(conditions or {}))
    os.makedirs(out, exist_ok=True)
    np.savez(os.path.join(out, "posterior.npz"), names=np.asarray(list(draws)),
             draws=np.stack([draws[k] for k in draws], axis=1))
    table = _table(draws)
    with open(os.path.join(out, "posterior.json"), "w") as fh:
        json.dump({"catalogue": os.path.abspath(catalogue), "estimator": estimator or shipped_estimator_path(),
                   "n": int(n), "seed": int(seed), "conditions": conditions or {}, "table": table}, fh, indent=1)
    _print_table(table)
    if plot:
        from ._plots import plot_corner

        plot_corner(draws, path=os.path.join(out, "corner"))
    _log(f"wrote {out}/posterior.npz, posterior.json" + (", corner.png/.pdf" if plot else ""))
    return draws


def run_diagnose(estimator: str, *, suite: str | None = None, n_test: int | None = None, n_samples: int = 1000,
                 seed: int = 0, out: str = "diagnostics", plot: bool = True, progress: bool = True) -> dict:
    """TARP and SBC of a saved estimator on the suite rows it held out from training."""
    import jax

    from ._diagnostics import posterior_draws, sbc_ranks, sbc_test, tarp_coverage
    from ._npe import load_npe

    est = load_npe(estimator)
    meta = est.metadata
    suite_dir = estimator_suite_path(estimator, meta, suite)
    data = load_suite_any(suite_dir, allow_partial=True)
    lo, hi = meta.get("holdout_rows", [data["theta"].shape[0], data["theta"].shape[0]])
    if hi - lo < 2:
        raise ValueError(
            "diagnose: the estimator was trained with no held-out simulations; retrain with "
            "[suite] holdout = N (e.g. 500)"
        )
    if n_test is not None:
        hi = min(hi, lo + int(n_test))
    rows = slice(lo, hi)
    x = _first_mock(estimator_inputs(est, data))
    theta = suite_columns(data, est.theta_names, summaries_key=meta.get("summaries_key", "summaries"), what="target")
    use = np.zeros(theta.shape[0], dtype=bool)
    use[rows] = True
    use &= _usable_rows(data, {"suite": {"require": meta.get("require", [])}})
    # a held-out row with an input missing (a bin with too few observed stars) that no training
    # row had missing cannot be evaluated (posterior() would raise MissingInputError for such a
    # catalogue); the selection depends on x only, so coverage on the rest is still a fair test
    never_missing = np.array([nm not in est.missing_inputs for nm in est.x_names])
    unseen = use & np.any(np.isnan(x[:, never_missing]), axis=1)
    use &= ~unseen
    if unseen.any():
        _log(f"diagnose: {int(unseen.sum())} held-out simulation(s) left out: an input missing that no "
             "training simulation had missing")
    x, theta = x[use], theta[use]
    _log(f"diagnose: {theta.shape[0]} held-out simulations x {n_samples} draws")
    k_draw, k_tarp = jax.random.split(jax.random.key(seed))
    draws = posterior_draws(k_draw, est, x, n_samples, progress=progress)
    tarp = tarp_coverage(draws, theta, key=k_tarp)
    sbc = sbc_test(sbc_ranks(draws, theta), n_samples, names=est.theta_names)
    result = {"estimator": os.path.abspath(estimator), "suite": os.path.abspath(suite_dir), "rows": [lo, hi],
              "n_samples": n_samples, "n_test": int(theta.shape[0]), "left_out_unseen_missing": int(unseen.sum()), "tarp": tarp.to_dict(), "sbc": sbc.to_dict(),
              **_tarp_package_check(draws, theta, k_tarp)}
    lo16, hi84 = np.percentile(draws, [16, 84], axis=1)
    result["coverage_68"] = {nm: float(np.mean((theta[:, i] >= lo16[:, i]) & (theta[:, i] <= hi84[:, i])))
                             for i, nm in enumerate(est.theta_names)}
    _write_diagnostics(out, result, tarp, sbc, est.theta_names, plot)
    _log(f"TARP ATC = {tarp.atc:+.4f}, KS p = {tarp.ks_pvalue:.3g}; SBC χ² p-values "
         + ", ".join(f"{k} {v:.2g}" for k, v in zip(est.theta_names, sbc.pvalues)))
    _log(f"wrote {out}/diagnostics.json, diagnostics.npz" + (", tarp.png/.pdf, sbc.png/.pdf" if plot else ""))
    return result


def _tarp_package_check(draws, theta, key) -> dict:
    """ECP of the ``tarp`` package on the same draws and references as
    :func:`~jaxgal.inference.tarp_coverage` (its maximum absolute difference), or a note
    when the package is not installed."""
    import jax

    from ._diagnostics import tarp_coverage

    try:
        import tarp
    except ImportError:
        return {"tarp_package": "not installed"}
    res = tarp_coverage(draws, theta, key=key, n_bootstrap=0)
    k_ref = jax.random.split(key)[0]
    refs = np.asarray(jax.random.uniform(k_ref, theta.shape))
    ecp, alpha = tarp.get_tarp_coverage(np.swapaxes(np.asarray(draws), 0, 1).copy(), np.asarray(theta).copy(),
                                        references=refs, norm=True)
    return {"tarp_package": getattr(tarp, "__version__", "installed"),
            "tarp_package_max_abs_diff_ecp": float(np.max(np.abs(np.asarray(ecp) - res.ecp))),
            "tarp_package_max_abs_diff_alpha": float(np.max(np.abs(np.asarray(alpha) - res.alpha)))}


def _write_diagnostics(out, result, tarp, sbc, theta_names, plot, extra_arrays=None):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "diagnostics.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    np.savez(os.path.join(out, "diagnostics.npz"), alpha=tarp.alpha, ecp=tarp.ecp, f=tarp.f,
             ecp_band=tarp.ecp_band, atc=tarp.atc, ks_pvalue=tarp.ks_pvalue, ks_pvalue_curves=tarp.ks_pvalue_curves,
             ranks=sbc.ranks, n_samples=sbc.n_samples, names=np.asarray(theta_names), **(extra_arrays or {}))
    if plot:
        from ._plots import plot_sbc, plot_tarp

        plot_tarp(tarp, path=os.path.join(out, "tarp"))
        plot_sbc(sbc, path=os.path.join(out, "sbc"))


def run_crossfit(cfg: dict, *, n_folds: int = 5, n_samples: int = 1000, seed: int = 0, out: str = "crossfit",
                 plot: bool = True, progress: bool = True) -> dict:
    """Cross-fitted coverage of a training configuration: the suite's rows (all of them,
    ``[suite] holdout`` ignored) are cut into `n_folds` contiguous blocks; for each block an
    ensemble is trained with the configuration on the other blocks and draws `n_samples`
    posterior samples for every simulation of the block. TARP and SBC are computed on the
    union, so every simulation is a held-out test of an estimator trained exactly as
    configured (on (n_folds − 1)/n_folds of the rows). The mean held-out log q(θ_i | x_i)
    (``heldout_mean_log_prob``; higher is better) compares configurations on the same
    suite and targets. Writes the files of
    :func:`run_diagnose` (plus ``folds``) to `out`; returns the JSON record."""
    import jax

    from ._diagnostics import posterior_draws, sbc_ranks, sbc_test, tarp_coverage
    from ._npe import train_npe

    if n_folds < 2:
        raise ValueError(f"crossfit: n_folds must be >= 2; got {n_folds}")
    suite = load_suite_any(cfg["suite"]["dir"], allow_partial=cfg["suite"].get("partial", False))
    targets = cfg["targets"]["names"]
    theta = suite_columns(suite, targets, summaries_key=cfg["suite"]["summaries"], what="[targets] name")
    x, x_names = _suite_inputs(suite, cfg)
    use = _usable_rows(suite, cfg)
    theta, x = theta[use], x[use]
    x_test = _first_mock(x)
    n = theta.shape[0]
    edges = np.linspace(0, n, n_folds + 1).round().astype(int)
    draws = np.zeros((n, n_samples, len(targets)))
    evaluable = np.ones(n, dtype=bool)
    folds = []
    log_q = []
    key = jax.random.key(seed)
    for j in range(n_folds):
        lo, hi = edges[j], edges[j + 1]
        train = np.r_[0:lo, hi:n]
        _log(f"crossfit fold {j + 1}/{n_folds}: training on {train.size} simulations, testing on rows {lo}-{hi}")
        th_tr, x_tr, groups = _expand_mocks(theta, x, train)
        est = train_npe(jax.random.fold_in(jax.random.key(cfg["training"]["seed"]), j), th_tr, x_tr,
                        cfg["training"]["n_ensemble"], theta_names=targets, x_names=x_names,
                        config=_npe_config(cfg, progress), groups=groups)
        # test rows with an input missing that no training row of this fold had missing cannot
        # be evaluated (as in run_diagnose); they are left out of the coverage
        never_missing = np.array([nm not in est.missing_inputs for nm in x_names])
        ok = ~np.any(np.isnan(x_test[lo:hi][:, never_missing]), axis=1)
        evaluable[lo:hi] = ok
        test = np.arange(lo, hi)[ok]
        draws[test] = posterior_draws(jax.random.fold_in(key, j), est, x_test[test], n_samples, progress=progress)
        lp = np.asarray(est.log_prob(theta[test], x_test[test]))
        log_q.append(lp)
        folds.append({"rows": [int(lo), int(hi)], "n_train": int(train.size), "n_left_out": int((~ok).sum()),
                      "heldout_mean_log_prob": float(np.mean(lp)),
                      "epochs": [h.n_epochs for h in est.history], "weights": est.weights.tolist()})
    if not evaluable.all():
        _log(f"crossfit: {int((~evaluable).sum())} simulation(s) left out: an input missing that no training "
             "simulation of its fold had missing")
    draws, theta = draws[evaluable], theta[evaluable]
    n = theta.shape[0]
    k_tarp = jax.random.fold_in(key, 10_000)
    tarp = tarp_coverage(draws, theta, key=k_tarp)
    sbc = sbc_test(sbc_ranks(draws, theta), n_samples, names=targets)
    result = {"kind": "crossfit", "suite": os.path.abspath(cfg["suite"]["dir"]), "n_sims": int(n),
              "n_rows_unusable": int((~use).sum()), "n_left_out_unseen_missing": int((~evaluable).sum()),
              "require": list(cfg["suite"].get("require", [])),
              "n_folds": n_folds, "n_samples": n_samples, "seed": seed, "targets": list(targets), "folds": folds,
              "heldout_mean_log_prob": float(np.mean(np.concatenate(log_q))),
              "heldout_log_prob_sem": float(np.std(np.concatenate(log_q)) / np.sqrt(n)),
              "tarp": tarp.to_dict(), "sbc": sbc.to_dict(), **_tarp_package_check(draws, theta, k_tarp)}
    med = np.median(draws, axis=1)
    lo16, hi84 = np.percentile(draws, [16, 84], axis=1)
    result["coverage_68"] = {nm: float(np.mean((theta[:, i] >= lo16[:, i]) & (theta[:, i] <= hi84[:, i])))
                             for i, nm in enumerate(targets)}
    _write_diagnostics(out, result, tarp, sbc, targets, plot,
                       {"theta": theta, "median": med, "p16": lo16, "p84": hi84})
    _log(f"crossfit TARP ATC = {tarp.atc:+.4f}, KS p = {tarp.ks_pvalue:.3g}; SBC χ² p-values "
         + ", ".join(f"{k} {v:.2g}" for k, v in zip(targets, sbc.pvalues)))
    return result


def run_plot(kind: str, path: str, *, out: str | None = None) -> list[str]:
    """Make one figure from a file written by ``infer`` (corner), ``diagnose`` (tarp, sbc)
    or :meth:`PPCResult.save` (ppc); returns the files written."""
    from ._diagnostics import TarpResult, sbc_test
    from ._plots import plot_corner, plot_ppc, plot_sbc, plot_tarp, save_figure
    from ._ppc import PPCResult

    if not os.path.exists(path):
        raise FileNotFoundError(f"plot: no such file {path!r}")
    base = out or os.path.join(os.path.dirname(os.path.abspath(path)), kind)
    if kind == "ppc":
        fig = plot_ppc(PPCResult.load(path))
        return save_figure(fig, base)
    with np.load(path, allow_pickle=False) as z:
        if kind == "corner":
            if "draws" not in z:
                raise ValueError(f"plot corner: {path} is not a posterior.npz (no 'draws')")
            names = [str(s) for s in z["names"]]
            fig = plot_corner(dict(zip(names, z["draws"].T)))
        elif kind == "tarp":
            if "ecp" not in z:
                raise ValueError(f"plot tarp: {path} is not a diagnostics.npz (no 'ecp')")
            band = z["ecp_band"] if z["ecp_band"].ndim == 2 else None
            res = TarpResult(z["alpha"], z["ecp"], z["f"], float(z["atc"]), float(z["ks_pvalue"]),
                             float(z["ks_pvalue_curves"]), band)
            fig = plot_tarp(res)
        elif kind == "sbc":
            if "ranks" not in z:
                raise ValueError(f"plot sbc: {path} is not a diagnostics.npz (no 'ranks')")
            fig = plot_sbc(sbc_test(z["ranks"], int(z["n_samples"]), names=[str(s) for s in z["names"]]))
        else:
            raise ValueError(f"plot: unknown kind {kind!r}; use corner, tarp, sbc or ppc")
    return save_figure(fig, base)


# --- argparse wiring


def _cmd_train(args) -> int:
    if args.example:
        print(EXAMPLE_CONFIG, end="")
        return 0
    if not args.config:
        raise SystemExit("jaxgal train: give CONFIG.toml (or --example)")
    run_train(load_train_config(args.config), out=args.out)
    return 0


def _cmd_infer(args) -> int:
    run_infer(args.catalogue, estimator=args.estimator, n=args.n, seed=args.seed, out=args.out,
              conditions=_parse_sets(args.set), plot=not args.no_plot)
    return 0


def _cmd_diagnose(args) -> int:
    if args.crossfit:
        run_crossfit(load_train_config(args.estimator), n_folds=args.folds, n_samples=args.n_samples,
                     seed=args.seed, out=args.out, plot=not args.no_plot)
        return 0
    run_diagnose(args.estimator, suite=args.suite, n_test=args.n_test, n_samples=args.n_samples, seed=args.seed,
                 out=args.out, plot=not args.no_plot)
    return 0


def _cmd_plot(args) -> int:
    for p in run_plot(args.kind, args.input, out=args.out):
        _log(f"wrote {p}")
    return 0


def add_subcommands(subparsers) -> None:
    """Add ``train``, ``infer``, ``diagnose`` and ``plot`` to an argparse sub-parser set;
    each sets ``args.run`` (call it with the parsed arguments; it returns the exit status)."""
    p = subparsers.add_parser("train", help="train a neural posterior estimator on a simulation suite (TOML config)")
    p.add_argument("config", nargs="?", help="TOML configuration (see --example)")
    p.add_argument("--out", default=None, help="estimator folder (overrides [output] path)")
    p.add_argument("--example", action="store_true", help="print a complete example configuration and exit")
    p.set_defaults(run=_cmd_train)
    p = subparsers.add_parser("infer", help="posterior of an observed catalogue")
    p.add_argument("catalogue", help="catalogue file (any astropy-readable table)")
    p.add_argument("--estimator", default=None, help="estimator folder (default: the shipped one)")
    p.add_argument("--n", type=int, default=10_000, help="posterior draws")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="posterior_output", help="output folder")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="an extra conditioning value (e.g. gamma=4.55); repeatable")
    p.add_argument("--no-plot", action="store_true", help="skip the corner plot")
    p.set_defaults(run=_cmd_infer)
    p = subparsers.add_parser("diagnose", help="TARP coverage and SBC on held-out simulations")
    p.add_argument("estimator", help="estimator folder (with --crossfit: a training CONFIG.toml)")
    p.add_argument("--crossfit", action="store_true",
                   help="cross-fitted coverage of a training configuration: retrain on all but one fold, test on it")
    p.add_argument("--folds", type=int, default=5, help="folds of --crossfit")
    p.add_argument("--suite", default=None, help="suite folder (default: the one the estimator was trained on)")
    p.add_argument("--n-test", type=int, default=None, help="use at most this many held-out simulations")
    p.add_argument("--n-samples", type=int, default=1000, help="posterior draws per simulation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="diagnostics", help="output folder")
    p.add_argument("--no-plot", action="store_true", help="skip the figures")
    p.set_defaults(run=_cmd_diagnose)
    p = subparsers.add_parser("plot", help="figures from infer/diagnose/PPC outputs")
    p.add_argument("kind", choices=["corner", "tarp", "sbc", "ppc"])
    p.add_argument("input", help="posterior.npz (corner), diagnostics.npz (tarp, sbc) or a PPC .npz (ppc)")
    p.add_argument("--out", default=None, help="output path without extension (default: next to the input)")
    p.set_defaults(run=_cmd_plot)


def main(argv: list[str] | None = None) -> int:
    """``python -m jaxgal.inference.cli {train,infer,diagnose,plot} ...``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="jaxgal", description="jaxgal inference commands")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommands(sub)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
