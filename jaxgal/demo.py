"""``make demo``: the MW–LMC forward model end to end, on the embedded mock observation.

What it runs (embedded default, a few minutes on a laptop CPU, most of it compilation):

1. loads the embedded default observation — a **mock** H3+SEGUE+MagE-like catalogue of
   1,296 halo stars made by jaxgal at a known θ (``jaxgal.observables.default_observation``)
   — with its 52 summaries and bootstrap errors;
2. runs two MW–LMC simulations (``jaxgal.simulation.simulate``, 20,000 stars each, 2.2 Gyr,
   a different random halo from the mock's) at the mock's θ: one with its LMC
   (1.95×10¹¹ Msun) and one with M_LMC = 10⁶ Msun (no LMC);
3. observes each simulation like the catalogue (``selection_matched_mock``: for every
   observed star the particle nearest in (l, b, d), given that star's errors), computes the
   52 summaries, and the χ² of the observation against each (both sides carry the
   observation's bootstrap errors): the model with the LMC must fit, the one without must
   not;
4. fits the 18-parameter (linear) reflex-motion model to the mock catalogue and to a mock
   drawn the same way from the no-LMC simulation: v_travel, apex and (v_x, v_y, v_z) at 40,
   100 and 120 kpc — the first must show the LMC's reflex, the second none.

5. computes the posterior of the mock catalogue with the neural posterior estimator that
   ships with jaxgal (``jaxgal.inference.posterior``, ``jaxgal/data/npe``: an ensemble of
   masked autoregressive flows trained on a suite of simulations observed like this
   catalogue; docs/inference.md) and prints the table — M_MW(<50 kpc), M_LMC(<50 kpc),
   v_travel(100 kpc), β0, log10 M200 — beside the θ that made the mock; the reflex
   estimator (``jaxgal/data/npe_reflex``), when shipped, gives v_travel and the apex against
   radius.

It writes ``demo.json`` (every number) and ``demo.png`` (the LMC's orbit; v_GSR means per
quadrant against r for the observation and for all the stars of both models; the reflex
fit), and the posterior's figures ``posterior_table``, ``posterior_corner``,
``mass_profiles`` and ``reflex_profile`` (PNG and PDF) to the output folder.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

#: Embedded default of the demo.
DEFAULT = dict(n=20_000, seed=1, n_mock=1296, no_lmc_mass=1e6)


def _stage(msg: str):
    print(f"[jaxgal demo] {msg}", flush=True)
    return time.perf_counter()


def _chi2(obs, model):
    """χ² of the observation's unflagged summaries against those of a selection-matched
    mock of a model (same stars' positions, same errors): each side has the observation's
    bootstrap error, so the variance of the difference is 2σ²."""
    use = ~obs.flags & ~np.asarray(model.flags)
    z = (obs.values - np.asarray(model.values))[use] / (np.sqrt(2.0) * obs.errors[use])
    return float(np.sum(z**2)), int(use.sum())


def _reflex_record(fit):
    out = {}
    for name in ("radii", "v_travel", "v_travel_err", "l_apex", "l_apex_err", "b_apex", "b_apex_err",
                 "vx", "vx_err", "vy", "vy_err", "vz", "vz_err"):
        out[name] = np.asarray(getattr(fit, name)).tolist()
    out["converged"] = bool(fit.converged)
    return out


def _print_reflex(label, fit):
    print(f"    {label}:")
    for i, r in enumerate(np.asarray(fit.radii)):
        print(
            f"      r = {r:5.0f} kpc: v_travel = {float(fit.v_travel[i]):5.1f} ± {float(fit.v_travel_err[i]):4.1f} km/s, "
            f"apex (l, b) = ({float(fit.l_apex[i]):6.1f}, {float(fit.b_apex[i]):6.1f}) deg, "
            f"(vx, vy, vz) = ({float(fit.vx[i]):+5.1f}, {float(fit.vy[i]):+5.1f}, {float(fit.vz[i]):+5.1f}) km/s"
        )


def add_arguments(parser) -> None:
    """The demo's command-line options (shared by ``jaxgal demo`` and ``python -m jaxgal.demo``)."""
    parser.add_argument("--n", type=int, default=None, help="number of halo stars")
    parser.add_argument("--out", default="demo_output", help="folder for the figure and JSON")
    parser.add_argument("--devices", type=int, default=None, help="host CPU devices to shard over")


def main(n: int | None = None, out: str = "demo_output") -> int:
    import jax

    import jaxgal as jg

    O, S = jg.observables, jg.simulation
    cfg = dict(DEFAULT)
    if n is not None:
        if n < 2000:
            raise ValueError(f"--n must be at least 2000 stars (the mock draws 1,296 at 30–160 kpc); got {n}")
        cfg["n"] = int(n)
    os.makedirs(out, exist_ok=True)
    results: dict = {"config": cfg, "devices": [str(d) for d in jax.devices()]}
    tic0 = time.perf_counter()

    _stage("loading the embedded default observation (a MOCK catalogue made by jaxgal)")
    obs = O.default_observation()
    theta = dict(obs.meta["theta"])
    print(f"    {obs.catalogue.n_stars} stars; simulated at θ = {theta}")
    results["observation"] = dict(theta=theta, n_stars=int(obs.catalogue.n_stars), values=obs.values.tolist(),
                                  errors=obs.errors.tolist(), names=list(obs.names))

    sims = {}
    for label, m_lmc in (("with LMC", theta["m_lmc"]), ("no LMC", cfg["no_lmc_mass"])):
        t = _stage(f"simulating the MW–LMC system, {label} (M_LMC = {m_lmc:.3g} Msun), {cfg['n']} stars, 2.2 Gyr")
        th = dict(theta, m_lmc=m_lmc)
        res = S.simulate(th, jax.random.PRNGKey(cfg["seed"]), cfg["n"])
        p = np.asarray(jax.block_until_ready(res.particles))
        dt = time.perf_counter() - t
        d = {k: float(v) for k, v in res.derived.items()}
        print(f"    {dt:.1f} s (first call includes compilation); LMC pericentre {d['lmc_pericentre']:.1f} kpc "
              f"{-d['lmc_pericentre_time']:.0f} Myr ago; M_MW(<50) = {d['m_mw_50']:.3e}, "
              f"M_LMC(<50) = {d['m_lmc_50']:.3e} Msun")
        matched = O.selection_matched_mock(jax.random.PRNGKey(cfg["seed"] + 2), p, obs.catalogue)
        summ = O.summaries(matched)
        sims[label] = dict(result=res, particles=p, summaries=summ, all_stars=O.summaries(p))
        chi2, dof = _chi2(obs, summ)
        print(f"    χ² of the observation's summaries against this model, observed like the catalogue: "
              f"{chi2:.1f} for {dof} bins")
        results[label] = dict(wall_s=dt, derived=d, summaries=np.asarray(summ.values).tolist(), chi2=chi2, dof=dof)

    t = _stage("reflex-motion fits (18-parameter linear model, values at 40 and 120 kpc)")
    fit_obs = O.fit_reflex(obs.catalogue, "linear")
    mock_no_lmc = O.mock_catalogue(jax.random.PRNGKey(cfg["seed"] + 1), sims["no LMC"]["particles"], cfg["n_mock"])
    fit_null = O.fit_reflex(mock_no_lmc, "linear")
    print(f"    {time.perf_counter() - t:.1f} s (including compilation)")
    _print_reflex("the observation (mock with the LMC)", fit_obs)
    _print_reflex("a mock drawn from the no-LMC simulation", fit_null)
    results["reflex_observation"] = _reflex_record(fit_obs)
    results["reflex_no_lmc"] = _reflex_record(fit_null)

    _figure(obs, sims, fit_obs, fit_null, os.path.join(out, "demo.png"))
    results["posterior"] = _posterior_stage(obs, fit_obs, out)
    results["total_s"] = time.perf_counter() - tic0
    with open(os.path.join(out, "demo.json"), "w") as f:
        json.dump(results, f, indent=1)
    _stage(f"wrote {out}/demo.json and {out}/demo.png ({results['total_s']:.0f} s in all)")
    return 0


def _posterior_stage(obs, fit_obs, out):
    """Stage 5: the posterior of the mock with the shipped estimator(s); table and figures."""
    import jax

    from . import inference as inf
    from .inference import (
        format_posterior_table,
        mock_truth,
        plot_mass_profiles,
        plot_posterior_table,
        plot_reflex_profile,
        posterior_table,
    )

    t = _stage("posterior of the mock catalogue with the shipped neural posterior estimator (jaxgal/data/npe)")
    est = inf.load_shipped_estimator()
    draws = inf.posterior(jax.random.key(0), obs.catalogue, 10_000, est)
    truth = mock_truth(obs.meta)
    order = ["m_mw_50", "m_lmc_50", "v_travel_100", "beta0", "log10_m200", "m_lmc"]
    draws = {k: draws[k] for k in order if k in draws} | {k: v for k, v in draws.items() if k not in order}
    table = posterior_table(draws, truth)
    n_sims = est.metadata.get("n_train_used", est.info.n_train + est.info.n_val)
    n_mocks = est.metadata.get("mocks_per_simulation")
    print(f"    {time.perf_counter() - t:.1f} s; {est.n_ensemble} flows trained on {n_sims} simulations"
          + (f" x {n_mocks} selection-matched mocks of this catalogue" if n_mocks else " observed like this catalogue")
          + " (docs/inference.md, section 6)")
    print("    THE OBSERVATION IS A MOCK made by jaxgal (not real data) at θ = "
          + ", ".join(f"{k} = {v:.4g}" for k, v in obs.meta["theta"].items()))
    print("    ('truth' below: that θ and its simulation's derived M(<50 kpc); v_travel(100 kpc) of the mock's own "
          f"reflex fit: {float(fit_obs.at(np.array([100.0])).v_travel[0]):.1f} km/s)")
    print("\n".join("    " + line for line in format_posterior_table(table).splitlines()))
    title = "Posterior of the embedded MOCK observation (jaxgal/data/npe); truth = the θ that made the mock"
    plot_posterior_table(table, title=title, path=os.path.join(out, "posterior_table"))
    inf.plot_corner(draws, truths=truth, path=os.path.join(out, "posterior_corner"))
    plot_mass_profiles(draws, truth=truth, title=title, path=os.path.join(out, "mass_profiles"))
    rec = {"table": table, "truth": truth, "n_draws": 10_000, "estimator": inf.shipped_estimator_path()}
    reflex_path = os.path.join(os.path.dirname(inf.shipped_estimator_path()), "npe_reflex")
    if os.path.exists(os.path.join(reflex_path, "metadata.json")):
        dr = inf.posterior(jax.random.key(1), obs.catalogue, 10_000, inf.load_npe(reflex_path))
        plot_reflex_profile(dr, fit=fit_obs, title="Reflex motion of the MOCK observation: posterior (jaxgal/data/"
                            "npe_reflex) and the catalogue's own linear fit", path=os.path.join(out, "reflex_profile"))
        rec["reflex_table"] = posterior_table(dr)
    _stage(f"wrote {out}/posterior_table, posterior_corner, mass_profiles"
           + (", reflex_profile" if "reflex_table" in rec else "") + " (.png, .pdf)")
    return rec


def _figure(obs, sims, fit_obs, fit_null, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(obs.names)
    fig, ax = plt.subplots(2, 3, figsize=(15, 8))
    orbit = sims["with LMC"]["result"].orbit
    t = np.asarray(orbit.t)
    ax[0, 0].plot(t / 1000, np.linalg.norm(np.asarray(orbit.separation), axis=1), "k")
    ax[0, 0].set(xlabel="t [Gyr]", ylabel="MW–LMC separation [kpc]", title="LMC orbit (two-body, with friction)")
    styles = {"with LMC": ("C3", "-"), "no LMC": ("0.5", "--")}
    for q, axq in zip(("Q1", "Q2", "Q3", "Q4"), (ax[0, 1], ax[0, 2], ax[1, 0], ax[1, 1])):
        idx = [i for i, nm in enumerate(names) if nm.startswith(f"vgsr_mean_{q}_")]
        rc = [np.mean([float(x) for x in names[i].split("_r")[-1].split("-")]) for i in idx]
        good = ~obs.flags[idx]
        axq.errorbar(np.array(rc)[good], obs.values[idx][good], obs.errors[idx][good], fmt="o", color="k",
                     label="observation (mock)")
        for label, (c, ls) in styles.items():
            axq.plot(rc, np.asarray(sims[label]["all_stars"].values)[idx], color=c, ls=ls,
                     label=f"{label} (all {len(sims[label]['particles'])} stars)")
        axq.axhline(0, color="0.8", lw=0.8)
        axq.set(xlabel="r_gal [kpc]", ylabel="⟨v_GSR⟩ [km/s]", title=f"{q} ({'north' if q in ('Q1', 'Q2') else 'south'})")
    ax[0, 1].legend(fontsize=8)
    r = np.linspace(40, 120, 41)
    for fit, c, label in ((fit_obs, "C3", "observation (mock)"), (fit_null, "0.5", "no-LMC mock")):
        at = fit.at(r)
        v, e = np.asarray(at.v_travel), np.asarray(at.v_travel_err)
        ax[1, 2].plot(r, v, color=c, label=label)
        ax[1, 2].fill_between(r, v - e, v + e, color=c, alpha=0.25)
    ax[1, 2].set(xlabel="r_gal [kpc]", ylabel="v_travel [km/s]", title="reflex motion (linear model, 1σ)")
    ax[1, 2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # pragma: no cover
    import argparse

    from ._hostdevices import set_host_device_count

    _parser = argparse.ArgumentParser(prog="python -m jaxgal.demo", description=__doc__.splitlines()[0])
    add_arguments(_parser)
    _args = _parser.parse_args()
    set_host_device_count(_args.devices)  # before anything imports JAX
    raise SystemExit(main(n=_args.n, out=_args.out))
