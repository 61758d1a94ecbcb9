"""Train and compare variants of the shipped estimator on the same suite (docs/inference.md,
"Variants").

    python scripts/inference/variants.py [--reuse] docs/inference/variants/*.toml

For each training configuration: train it (estimator written where its ``[output] path``
says, under build/), then on the simulations it held out

- the mean held-out log q(θ | x) over all the selection-matched mocks of the held-out
  simulations stored in the suite (``summaries_mock``; the same inputs for every variant,
  so differences are paired; higher is better),
- TARP (ATC, KS p) and the 68 % coverage with three reference seeds (``jaxgal diagnose``,
  first mock of each held-out simulation, 1,000 draws),
- the 68 % intervals of the twelve end-to-end mocks (docs/inference/e2e) that hold the truth,
- the posterior of the embedded mock observation (``embedded_posterior`` in the JSON).

Writes ``<name>.json`` beside each configuration and the table ``README.md`` in its folder.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # e2e_mocks
TARGETS = ["m_mw_50", "m_lmc_50", "v_travel_100", "beta0"]


def heldout_log_prob(est, suite) -> float:
    """Mean log q(θ|x) over every stored mock of the held-out simulations (rows whose inputs
    the estimator can take: no input missing that training never saw missing)."""
    from jaxgal.inference import cli

    meta = est.metadata
    x = cli.estimator_inputs(est, suite)
    theta = cli.suite_columns(suite, est.theta_names)
    lo, hi = meta["holdout_rows"]
    use = cli._usable_rows(suite, {"suite": {"require": meta.get("require", [])}})[lo:hi]
    never = np.array([n not in est.missing_inputs for n in est.x_names])
    lps = []
    for r in range(x.shape[1]):
        xr = x[lo:hi, r]
        ok = use & ~np.any(np.isnan(xr[:, never]), axis=1)
        lps.append(np.asarray(est.log_prob(theta[lo:hi][ok], xr[ok])))
    return float(np.mean(np.concatenate(lps)))


def e2e_hits(est) -> dict:
    """How many of the end-to-end mocks' 68 % intervals hold the truth, per target."""
    from e2e_mocks import mock_posteriors

    hits = {k: 0 for k in TARGETS}
    n_mocks = 0
    for _, t, _, _, dr in mock_posteriors(est):
        n_mocks += 1
        for k in hits:
            lo, hi = np.percentile(dr[k], [16, 84])
            hits[k] += int(lo <= t[k] <= hi)
    return hits | {"n_mocks": n_mocks}


def embedded_posterior(est) -> dict:
    """The posterior table (median, 16th/84th percentiles, truth) of the embedded mock
    observation, 10,000 draws with key 0."""
    import jax

    from jaxgal import inference as inf
    from jaxgal import observables as O

    obs = O.default_observation()
    draws = inf.posterior(jax.random.key(0), obs.catalogue, 10_000, est)
    return inf.posterior_table({k: draws[k] for k in TARGETS if k in draws}, inf.mock_truth(obs.meta))


def run(path: str, reuse: bool = False) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    from jaxgal.inference import cli, load_npe

    name = os.path.splitext(os.path.basename(path))[0]
    cfg = cli.load_train_config(path)
    out = cfg["output"]["path"]
    if reuse and os.path.exists(os.path.join(out, "metadata.json")):
        est = load_npe(out)  # trained by an earlier run of this configuration
    else:
        est = cli.run_train(cfg, show_progress=False)
    res = {"name": name, "config": os.path.relpath(path, ROOT),
           "n_train_simulations": est.metadata.get("n_train_used"),
           "mocks_per_simulation": est.metadata.get("mocks_per_simulation"),
           "n_inputs": len(est.x_names), "best_val_loss": [h.best_val_loss for h in est.history]}
    suite = cli.load_suite_any(cfg["suite"]["dir"])
    res["heldout_mean_log_prob"] = heldout_log_prob(est, suite)
    for seed in (0, 1, 2):
        d = cli.run_diagnose(out, n_samples=1000, seed=seed, out=os.path.join(out, f"diagnose_seed{seed}"),
                             plot=False, progress=False)
        res[f"tarp_seed{seed}"] = {"atc": d["tarp"]["atc"], "ks_pvalue": d["tarp"]["ks_pvalue"],
                                   "coverage_68": d["coverage_68"]}
    res["e2e_in_68"] = e2e_hits(est)
    res["embedded_posterior"] = embedded_posterior(est)
    with open(os.path.splitext(path)[0] + ".json", "w") as fh:
        json.dump(res, fh, indent=1)
    return res


def table(results: list[dict]) -> str:
    lines = ["| variant | mocks/sim | inputs | held-out log q | ATC (seeds 0/1/2) | TARP KS p (0/1/2) | "
             "68 % coverage, seed 0 (M200, M_LMC, v_t, β0) | e2e in 68 % (M_MW50, M_LMC50, v_t, β0) |",
             "|---|---:|---:|---:|---|---|---|---|"]
    for r in results:
        t = [r[f"tarp_seed{s}"] for s in range(3)]
        c = t[0]["coverage_68"]
        e = r["e2e_in_68"]
        lines.append(
            f"| {r['name']} | {r['mocks_per_simulation']} | {r['n_inputs']} | {r['heldout_mean_log_prob']:.3f} | "
            + " / ".join(f"{x['atc']:+.3f}" for x in t) + " | "
            + " / ".join(f"{x['ks_pvalue']:.2g}" for x in t) + " | "
            + ", ".join(f"{v:.2f}" for v in c.values()) + " | "
            + ", ".join(str(e[k]) for k in TARGETS) + f" = {sum(e[k] for k in TARGETS)}/{4 * e['n_mocks']} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    reuse = "--reuse" in argv
    paths = [a for a in argv if a != "--reuse"]
    if not paths:
        raise SystemExit("usage: variants.py [--reuse] CONFIG.toml [CONFIG.toml ...]\n"
                         "  --reuse: load an estimator its [output] path already holds instead of training it")
    results = [run(p, reuse) for p in paths]
    folder = os.path.dirname(os.path.abspath(paths[0]))
    text = ("# Variants of the shipped estimator, on the same suite and held-out simulations\n\n"
            "Made by `python scripts/inference/variants.py " + " ".join(os.path.relpath(p, ROOT) for p in paths)
            + "` (module docstring: what each column is). Held-out log q: mean over every stored mock of the "
            "held-out simulations, in the targets' physical units (paired across variants; higher is better).\n\n"
            + table(results) + "\n")
    open(os.path.join(folder, "README.md"), "w").write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
