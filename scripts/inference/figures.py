"""The result figures of the shipped estimator on the embedded (mock) observation.

    python scripts/inference/figures.py

Writes to ``figures/inference/`` (PNG and PDF): ``posterior_table``, ``posterior_corner``,
``mass_profiles`` (MW and LMC enclosed mass with 68/95 % bands), ``reflex_profile``
(v_travel and apex against radius, from ``jaxgal/data/npe_reflex``), ``summaries_comparison``
(the observation's 52 summaries against the training suite's: all of it — the prior
predictive — and the suite importance-weighted to the posterior, w_i ∝ q(t_i | x_obs) / p̂(t_i),
with p̂ a Gaussian KDE of the suite's targets t in the estimator's transformed space), and
``tarp``/``sbc`` (and ``*_reflex``) from the diagnostics on the 500 held-out simulations
(``docs/inference/holdout/diagnostics.npz``, made by
``jaxgal diagnose jaxgal/data/npe --n-samples 1000 --out docs/inference/holdout``).
Also ``docs/inference/posterior_default.json`` (the table).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIG = os.path.join(ROOT, "figures", "inference")


def _transformed(est, t):
    """Targets in the estimator's transformed space (log10 / logit as configured)."""
    out = []
    tr = est.config.transforms_dict
    b = est.config.bounds_dict
    for j, nm in enumerate(est.theta_names):
        x = np.asarray(t[:, j], float)
        k = tr.get(nm, "identity")
        if k == "log10":
            x = np.log10(x)
        elif k == "log":
            x = np.log(x)
        elif k == "logit":
            lo, hi = b[nm]
            p = np.clip((x - lo) / (hi - lo), 1e-6, 1 - 1e-6)
            x = np.log(p / (1 - p))
        out.append(x)
    return np.stack(out, 1)


def main() -> int:
    import jax

    from jaxgal import inference as inf
    from jaxgal import observables as O
    from jaxgal.inference._results import (
        format_posterior_table,
        mock_truth,
        plot_mass_profiles,
        plot_posterior_table,
        plot_reflex_profile,
        plot_summaries_comparison,
        posterior_table,
    )
    from jaxgal.inference.cli import _first_mock, estimator_inputs, estimator_suite_path, load_suite_any, suite_columns

    os.makedirs(FIG, exist_ok=True)
    obs = O.default_observation()
    est = inf.load_shipped_estimator()
    draws = inf.posterior(jax.random.key(0), obs.catalogue, 10_000, est)
    truth = mock_truth(obs.meta)
    order = ["m_mw_50", "m_lmc_50", "v_travel_100", "beta0", "log10_m200", "m_lmc"]
    draws = {k: draws[k] for k in order if k in draws}
    table = posterior_table(draws, truth)
    print(format_posterior_table(table, "Embedded MOCK observation, shipped estimator (truth: the mock's θ)"))
    json.dump({"table": table, "truth": truth, "n_draws": 10_000, "seed": 0},
              open(os.path.join(ROOT, "docs", "inference", "posterior_default.json"), "w"), indent=1)
    title = "Embedded MOCK observation (truth: the θ that made it)"
    plot_posterior_table(table, title=title, path=os.path.join(FIG, "posterior_table"))
    inf.plot_corner(draws, truths=truth, path=os.path.join(FIG, "posterior_corner"))
    plot_mass_profiles(draws, truth=truth, title=title, path=os.path.join(FIG, "mass_profiles"))
    reflex_path = os.path.join(os.path.dirname(inf.shipped_estimator_path()), "npe_reflex")
    if os.path.exists(os.path.join(reflex_path, "metadata.json")):
        dr = inf.posterior(jax.random.key(1), obs.catalogue, 10_000, inf.load_npe(reflex_path))
        fit = O.fit_reflex(obs.catalogue, "linear")
        plot_reflex_profile(dr, fit=fit, title="Reflex motion of the MOCK observation: posterior and the "
                            "catalogue's own linear fit (1σ)", path=os.path.join(FIG, "reflex_profile"))

    # observed vs simulated summaries
    meta = est.metadata
    suite = load_suite_any(estimator_suite_path(inf.shipped_estimator_path(), meta))
    t = suite_columns(suite, est.theta_names)
    x_names = list(est.x_names)
    xs = _first_mock(estimator_inputs(est, suite))  # (n, inputs): the first mock of each simulation
    snames = list(obs.names)
    x_obs = dict(zip(snames, obs.values_or_nan().tolist()))
    x_obs.update({k: v for k, v in inf.DEFAULT_CONDITIONS.items() if k in x_names})
    x_row = np.array([x_obs[k] for k in x_names])[None, :]
    lq = np.asarray(est.log_prob(t, np.repeat(x_row, t.shape[0], 0)))
    from scipy.stats import gaussian_kde

    u = _transformed(est, t)
    kde = gaussian_kde(u.T)
    # the density of the transformed targets, mapped back to the physical units as log_prob is
    tr = est.config.transforms_dict
    b = est.config.bounds_dict
    logjac = np.zeros(t.shape[0])
    for j, nm in enumerate(est.theta_names):
        k = tr.get(nm, "identity")
        if k == "log10":
            logjac += -np.log(t[:, j] * np.log(10))
        elif k == "log":
            logjac += -np.log(t[:, j])
        elif k == "logit":
            lo, hi = b[nm]
            p = np.clip((t[:, j] - lo) / (hi - lo), 1e-9, 1 - 1e-9)
            logjac += -np.log(hi - lo) - np.log(p) - np.log1p(-p)
    lp = np.log(kde(u.T)) - logjac
    lw = lq - lp
    w = np.exp(lw - np.max(lw))
    ess = float(np.sum(w) ** 2 / np.sum(w**2))
    sim = xs[:, :len(snames)]  # NaN where flagged
    plot_summaries_comparison(snames, obs.values_or_nan(), obs.errors, sim, weights=w,
                              sim_label=f"suite weighted to the posterior (ESS {ess:.0f} of {sim.shape[0]})",
                              title="Embedded MOCK observation vs the training suite's summaries (observed like it, "
                                    "selection-matched mocks of the catalogue)",
                              path=os.path.join(FIG, "summaries_comparison"))
    plot_summaries_comparison(snames, obs.values_or_nan(), obs.errors, sim,
                              sim_label=f"all {sim.shape[0]} suite simulations (prior predictive)",
                              title="Embedded MOCK observation vs the training suite (prior predictive)",
                              path=os.path.join(FIG, "summaries_prior_predictive"))
    print(f"[figures] posterior-weighted suite: effective sample size {ess:.1f}", file=sys.stderr)

    from jaxgal.inference.cli import run_plot

    for sub, suffix in (("holdout", ""), ("holdout_reflex", "_reflex"), ("crossfit", "_crossfit")):
        diag = os.path.join(ROOT, "docs", "inference", sub, "diagnostics.npz")
        if os.path.exists(diag):
            run_plot("tarp", diag, out=os.path.join(FIG, "tarp" + suffix))
            run_plot("sbc", diag, out=os.path.join(FIG, "sbc" + suffix))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
