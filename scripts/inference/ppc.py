"""Posterior predictive checks by re-simulation, and the "spurious bins removed" estimator
(Brooks et al., appendix A; docs/inference.md, "Posterior predictive check").

    python scripts/inference/ppc.py embedded       # the embedded observation
    python scripts/inference/ppc.py contaminated   # the same catalogue with a cold substructure
                                                   # injected into one bin, then the retraining

Both run on two host CPU devices (``--devices``) and take ~5–10 min here.

**The check** (the paper's procedure). θ is drawn from the posterior of the observation and the
MW–LMC simulation is re-run at each draw; each re-simulated halo is observed exactly like the
training suite (a selection-matched mock of the embedded catalogue: its 1,296 stars' nearest
simulated stars observed with their errors, then the 3σ-clipped summaries) and the observed summaries are compared with the predictive distribution,
z_j = (x_obs,j − mean_j) / std_j; |z_j| ≥ 3 flags summary j as "spurious"
(:class:`jaxgal.inference.PPCResult`).

The shipped estimator learns only log10 M200, M_LMC, v_travel(100) and β0; a simulation also
needs λ_DF and r_dens (the LMC's coordinates and γ are conditioned on, as in the paper). So the
θ draws come from a second estimator with the five θ entries the data constrain as targets
(``log10_m200``, ``m_lmc``, ``log10_lambda_df``, ``beta0``, ``r_dens``) and the shipped
estimator's inputs, trained on the same rows (2 flows; cached in ``build/ppc/npe_theta``,
configuration ``docs/inference/ppc/train_theta.toml`` written here).

``embedded``: the check of the embedded observation (a mock made by the model itself, so
about 52 × 0.27 % ≈ 0.1 bins are expected to be flagged). Writes
``docs/inference/ppc/embedded.npz``/``.json`` and ``figures/inference/ppc_embedded.png/.pdf``.

``contaminated``: a known misspecification. In the embedded catalogue, 50 of the 91 stars of
the bin Q2, 56–82 kpc are replaced by a cold group (unresolved substructure, e.g. a stream
crossing the bin with a bulk velocity): their v_GSR is set to the bin's mean + 60 km/s with
10 km/s Gaussian scatter (the line-of-sight velocity changed accordingly, positions and proper
motions kept). The bin's mean rises and its dispersion drops, which a Jeans-like inference
reads as a lower mass (the paper's spurious dispersions biased M_MW(<50) low by ~10 %). Its posterior (shipped estimator, all 52 summaries), the
predictive check at that posterior (which should flag the contaminated summaries), and an
estimator retrained without the flagged summaries (:func:`jaxgal.inference.retrain_without`,
same training rows and settings) and its posterior are written to
``docs/inference/ppc/contaminated_posteriors.json`` (the check itself to
``contaminated.json``/``.npz``) and ``figures/inference/ppc_contaminated.png/.pdf``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "docs", "inference", "ppc")
FIG = os.path.join(ROOT, "figures", "inference")
CACHE = os.path.join(ROOT, "build", "ppc")
PPC_SEED = 4242
THETA_TARGETS = ["log10_m200", "m_lmc", "log10_lambda_df", "beta0", "r_dens"]
CONTAMINATED_BIN = ("Q2", 56.0, 82.0)
N_COLD, V_COLD, SIGMA_COLD = 50, 60.0, 10.0  # stars, km/s, km/s
REPORT = ["m_mw_50", "m_lmc_50", "log10_m200", "m_lmc", "v_travel_100", "beta0"]


def _log(msg: str) -> None:
    print(f"[ppc] {msg}", file=sys.stderr, flush=True)


def theta_estimator(n_ensemble: int = 2):
    """The estimator of the five θ entries (module docstring): loaded from the cache when it
    was trained on the current compact suite, else trained."""
    from jaxgal.inference import load_npe
    from jaxgal.inference.cli import load_train_config, run_train
    from jaxgal.simulation import PRIOR

    toml = os.path.join(OUT, "train_theta.toml")
    base = open(os.path.join(ROOT, "jaxgal", "data", "npe", "train.toml")).read()
    bounds = ", ".join(f"{n} = [{PRIOR[n][1]!r}, {PRIOR[n][2]!r}]" for n in THETA_TARGETS)
    transforms = ", ".join(f'{n} = "logit"' for n in THETA_TARGETS)
    lines = []
    section = None
    for line in base.splitlines():
        s = line.strip()
        if s.startswith("["):
            section = s
        if section == "[targets]" and s.startswith("names"):
            line = "names = " + json.dumps(THETA_TARGETS)
        elif section == "[targets]" and s.startswith("transforms"):
            line = "transforms = { " + transforms + " }"
        elif section == "[targets]" and s.startswith("bounds"):
            line = "bounds = { " + bounds + " }"
        elif section == "[suite]" and s.startswith("dir"):
            line = 'dir = "../../../jaxgal/data/suite/train_suite.npz"'
        elif section == "[suite]" and s.startswith("require"):
            line = "require = []"
        elif section == "[training]" and s.startswith("n_ensemble"):
            line = f"n_ensemble = {n_ensemble}"
        elif section == "[output]" and s.startswith("path"):
            line = 'path = "../../../build/ppc/npe_theta"'
        elif s.startswith("#") and section is None:
            continue
        lines.append(line)
    os.makedirs(OUT, exist_ok=True)
    text = ("# The θ estimator of scripts/inference/ppc.py (written by it): the shipped estimator's inputs and\n"
            "# settings, with the five θ entries a re-simulation needs beyond the conditioned ones as targets.\n"
            + "\n".join(lines) + "\n")
    with open(toml, "w") as fh:
        fh.write(text)
    cfg = load_train_config(toml)
    path = cfg["output"]["path"]
    suite_npz = cfg["suite"]["dir"]
    stamp = os.path.join(path, "suite_mtime.txt")
    if os.path.exists(os.path.join(path, "metadata.json")) and os.path.exists(stamp) and \
            open(stamp).read() == str(os.path.getmtime(suite_npz)):
        return load_npe(path)
    _log("training the θ estimator (" + ", ".join(THETA_TARGETS) + ")")
    est = run_train(cfg, show_progress=False)
    with open(stamp, "w") as fh:
        fh.write(str(os.path.getmtime(suite_npz)))
    return est


def full_theta(draws: dict, conditions: dict) -> np.ndarray:
    """(n, 12) θ in THETA_NAMES order: the drawn entries and the conditioned values."""
    from jaxgal.simulation import THETA_NAMES

    n = len(next(iter(draws.values())))
    cols = []
    for name in THETA_NAMES:
        cols.append(np.asarray(draws[name], float) if name in draws else np.full(n, float(conditions[name])))
    return np.stack(cols, axis=1)


def predictive_summaries(thetas: np.ndarray, key, *, n_particles: int = 20_000, batch: int = 8) -> np.ndarray:
    """Re-simulate at each θ row and observe like the training suite: a selection-matched mock
    of the embedded catalogue (``selection_matched_mock``, then ``summaries``): (n, 52)
    summaries, NaN where a bin has fewer than 5 mock stars."""
    import jax

    from jaxgal import observables as O
    from jaxgal import simulation as S
    from tqdm.auto import tqdm

    cat = O.default_observation().catalogue
    n = thetas.shape[0]
    k_sim, k_obs = jax.random.split(key)
    observe = jax.jit(jax.vmap(lambda k, p: O.summaries(O.selection_matched_mock(k, p, cat)).values_or_nan()))
    vals = []
    for st in tqdm(range(0, n, batch), desc="predictive simulations", unit="batch"):
        idx = np.arange(st, min(st + batch, n))
        pad = np.concatenate([idx, np.full(batch - idx.size, idx[-1])])
        keys = jax.vmap(lambda i: jax.random.fold_in(k_sim, i))(pad)
        res = S.simulate_batch(thetas[pad], keys, n_particles)
        okeys = jax.vmap(lambda i: jax.random.fold_in(k_obs, i))(pad)
        vals.append(np.asarray(observe(okeys, res.particles))[: idx.size])
    return np.concatenate(vals)


def check(key, summaries_obs, conditions: dict, n_draws: int, label: str):
    """Posterior θ draws of the θ estimator → predictive summaries → PPCResult."""
    import jax

    from jaxgal import observables as O
    from jaxgal.inference import PPCResult, posterior_from_summaries

    est = theta_estimator()
    k_draw, k_sim = jax.random.split(key)
    draws = posterior_from_summaries(k_draw, summaries_obs, n_draws, est, **conditions)
    th = full_theta(draws, _conditions(conditions))
    t0 = time.time()
    pred = predictive_summaries(th, k_sim)
    _log(f"{label}: {n_draws} re-simulations in {time.time() - t0:.0f} s")
    vals = np.where(np.asarray(summaries_obs.flags), np.nan, np.asarray(summaries_obs.values, float))
    res = PPCResult.from_predictive(O.summary_names(), vals, pred)
    return res, th


def _conditions(conditions: dict) -> dict:
    from jaxgal.inference import DEFAULT_CONDITIONS

    return {**DEFAULT_CONDITIONS, **conditions}


def _save(res, th, name: str, extra: dict | None = None) -> dict:
    from jaxgal.inference import plot_ppc, save_figure
    from jaxgal.simulation import THETA_NAMES

    os.makedirs(OUT, exist_ok=True)
    res.save(os.path.join(OUT, f"{name}.npz"))
    d = res.to_dict()
    d["theta_draws_median"] = dict(zip(THETA_NAMES, np.median(th, axis=0).tolist()))
    d.update(extra or {})
    with open(os.path.join(OUT, f"{name}.json"), "w") as fh:
        json.dump(d, fh, indent=1)
    fig = plot_ppc(res)
    save_figure(fig, os.path.join(FIG, f"ppc_{name}"))
    worst = np.argsort(-np.abs(np.nan_to_num(res.z)))[:5]
    _log(f"{name}: flagged {list(res.flagged_names)}; largest |z|: "
         + ", ".join(f"{res.names[i]} {res.z[i]:+.2f}" for i in worst))
    return d


def _table(draws: dict, truth: dict | None = None) -> dict:
    """The posterior table of the REPORT quantities (``posterior_table``)."""
    from jaxgal.inference import posterior_table

    return posterior_table({k: draws[k] for k in REPORT if k in draws}, truth)


def _truth() -> dict:
    from jaxgal import observables as O
    from jaxgal.inference import mock_truth

    return mock_truth(O.default_observation().meta)


def embedded(n_draws: int) -> dict:
    import jax

    from jaxgal import observables as O

    obs = O.default_observation()
    s = O.summaries(obs.catalogue)
    res, th = check(jax.random.PRNGKey(PPC_SEED), s, {}, n_draws, "embedded")
    return _save(res, th, "embedded", {"n_expected_flagged_if_well_specified": 52 * 0.0027})


def contaminate(cat):
    """The embedded catalogue with N_COLD stars of CONTAMINATED_BIN turned into a cold group:
    v_GSR = the bin's mean v_GSR + V_COLD + SIGMA_COLD × N(0, 1) (v_los shifted by the same amount)."""
    import equinox as eqx
    import jax.numpy as jnp

    from jaxgal import observables as O

    c = O.SummaryConfig()
    qname, r_lo, r_hi = CONTAMINATED_BIN
    q = c.quadrants[c.quadrant_names.index(qname)]
    r, l, b, vgsr, _ = (np.asarray(a) for a in O.star_velocities(cat))
    l = np.mod(l, 360.0)
    inside = (r >= r_lo) & (r < r_hi) & (l >= q[0]) & (l <= q[1]) & (b >= q[2]) & (b <= q[3]) & np.isfinite(vgsr)
    idx = np.flatnonzero(inside)
    rng = np.random.default_rng(PPC_SEED)
    pick = rng.choice(idx, size=min(N_COLD, idx.size), replace=False)
    target = vgsr[idx].mean() + V_COLD + SIGMA_COLD * rng.normal(size=pick.size)
    v = np.asarray(cat.v_los).copy()
    v[pick] += target - vgsr[pick]  # v_GSR − v_los depends on the position only
    return eqx.tree_at(lambda k: k.v_los, cat, jnp.asarray(v)), int(idx.size), pick


def contaminated(n_draws: int) -> dict:
    import jax

    from jaxgal import observables as O
    from jaxgal.inference import (load_shipped_estimator, posterior_from_summaries, retrain_without,
                                  shipped_estimator_path)
    from jaxgal.inference.cli import (_expand_mocks, _suite_inputs, _usable_rows, estimator_suite_path,
                                      load_suite_any, suite_columns)

    obs = O.default_observation()
    cat, n_bin, pick = contaminate(obs.catalogue)
    s_clean = O.summaries(obs.catalogue)
    s = O.summaries(cat)
    changed = [n for n, a, b_ in zip(s.names, np.asarray(s_clean.values), np.asarray(s.values)) if abs(a - b_) > 1e-9]
    _log(f"contaminated {len(pick)} of {n_bin} stars of {CONTAMINATED_BIN}: summaries changed: "
         + ", ".join(f"{n} {s_clean.values[s.names.index(n)]:.1f} -> {s.values[s.names.index(n)]:.1f}" for n in changed))
    est = load_shipped_estimator()
    truth = _truth()
    key = jax.random.PRNGKey(PPC_SEED + 1)
    post_clean = posterior_from_summaries(key, s_clean, 10_000, est)
    post_all = posterior_from_summaries(key, s, 10_000, est)
    res, th = check(jax.random.PRNGKey(PPC_SEED + 2), s, {}, n_draws, "contaminated")
    flagged = list(res.flagged_names)
    out = {"bin": list(CONTAMINATED_BIN), "n_stars_in_bin": n_bin, "n_cold": len(pick), "v_cold_kms": V_COLD, "sigma_cold_kms": SIGMA_COLD,
           "summaries_changed": changed, "flagged": flagged, "truth": truth,
           "posterior_clean": _table(post_clean, truth), "posterior_all_summaries": _table(post_all, truth)}
    if flagged:
        meta = est.metadata
        data = load_suite_any(estimator_suite_path(shipped_estimator_path(), meta))
        cfg = meta["config"]
        x, names = _suite_inputs(data, cfg)
        theta = suite_columns(data, est.theta_names, summaries_key=cfg["suite"]["summaries"], what="target")
        lo, hi = meta["train_rows"]
        use = _usable_rows(data, cfg)
        keep = np.flatnonzero(use[lo:hi]) + lo
        t0 = time.time()
        th_tr, x_tr, groups = _expand_mocks(theta, x, keep)  # every mock of each training simulation
        new = retrain_without(jax.random.key(cfg["training"]["seed"]), est, th_tr, x_tr, flagged, groups=groups)
        _log(f"retrained without {flagged} in {time.time() - t0:.0f} s")
        post_drop = posterior_from_summaries(key, s, 10_000, new)
        out["posterior_dropped"] = _table(post_drop, truth)
    _save(res, th, "contaminated", {"bin": list(CONTAMINATED_BIN)})
    with open(os.path.join(OUT, "contaminated_posteriors.json"), "w") as fh:
        json.dump(out, fh, indent=1)
    for name in ("posterior_clean", "posterior_all_summaries", "posterior_dropped"):
        if name in out:
            _log(name + ": " + ", ".join(f"{k} {v['median']:.4g} [{v['p16']:.4g}, {v['p84']:.4g}]"
                                         + (f" / {v['truth']:.4g}" if "truth" in v else "")
                                         for k, v in out[name].items()))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=["embedded", "contaminated"])
    p.add_argument("--n-draws", type=int, default=64, help="posterior draws re-simulated (64)")
    p.add_argument("--devices", type=int, default=2, help="host CPU devices (2)")
    a = p.parse_args(argv)
    from jaxgal._hostdevices import set_host_device_count

    set_host_device_count(a.devices)
    import jax

    jax.config.update("jax_enable_x64", True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if a.what == "embedded":
        embedded(a.n_draws)
    else:
        contaminated(a.n_draws)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
