"""Jeans-equation bias of the Milky Way mass over the training suite (Brooks et al. §6.3).

    python scripts/inference/jeans_bias.py [--n-lmc 200] [--n-pairs 12]

For a simulation of the suite, the maximum-likelihood log10 M200 from the 26 dispersion
summaries alone (``jaxgal.observables.jeans_mass_mle``: the equilibrium spherical Jeans model
of the summary bins, clipped like the summaries, at the simulation's true β0, r_dens, γ),
fitted to

- **with the LMC**: the simulation's noise-free summaries of its 20,000 present-day stars
  (the suite's ``summaries``), geometry from those stars (``JeansGeometry.from_stars``);
- **without the LMC**: the same θ and the same random key (so the same initial halo) but
  M_LMC = 10⁶ Msun, re-simulated here (``--n-pairs`` of them): the halo stays in the
  equilibrium the Jeans model assumes, so this isolates the LMC's effect.

The likelihood uses the embedded observation's bootstrap errors of the dispersions. The bias
is the MLE minus the truth, in dex of M200 and as M_MW(<50 kpc) ratios. Writes
``docs/inference/jeans_bias.json`` and ``figures/inference/jeans_bias.png/.pdf``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _fit(O, values, errors, particles, th, names):
    geom = O.JeansGeometry.from_stars(particles)
    f = O.jeans_mass_mle(values, errors, geom, th[names.index("beta0")], th[names.index("r_dens")],
                         th[names.index("gamma")])
    return float(f.log10_m200), float(f.m_mw_50), bool(f.at_edge)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--suite", default="/work/suites/train")
    p.add_argument("--n-lmc", type=int, default=200, help="suite simulations fitted with their LMC")
    p.add_argument("--n-pairs", type=int, default=12, help="of those, re-simulated without the LMC")
    a = p.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    from jaxgal import observables as O
    from jaxgal import simulation as S

    suite = json.load(open(os.path.join(a.suite, "suite.json")))
    cs = suite["chunk_size"]
    names = list(suite["theta_names"])
    obs = O.default_observation()
    data = S.load_suite(a.suite, allow_partial=True)
    n = min(a.n_lmc, data["theta"].shape[0])
    n -= n % cs
    rows = []
    t0 = time.time()
    for c in range(n // cs):
        parts = np.load(os.path.join(a.suite, f"particles_{c:05d}.npy")).astype(float)
        for j in range(cs):
            i = c * cs + j
            th = data["theta"][i]
            lm, m50, edge = _fit(O, data["summaries"][i], obs.errors, parts[j], th, names)
            rows.append({"index": int(data["index"][i]), "true_log10_m200": float(th[0]),
                         "true_m_mw_50": float(data["derived_m_mw_50"][i]), "lmc_log10_m200": lm,
                         "lmc_m_mw_50": m50, "lmc_at_edge": edge, "m_lmc": float(th[names.index("m_lmc")])})
        print(f"\r[jeans] with LMC: {len(rows)}/{n} ({time.time() - t0:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    base_key = jax.random.PRNGKey(suite["seed"] + 1)
    for k in range(min(a.n_pairs, len(rows))):
        i = rows[k]["index"]
        th = dict(zip(names, data["theta"][k].tolist()))
        th["m_lmc"] = 1e6
        res = S.simulate(th, jax.random.fold_in(base_key, i), suite["n_particles"])
        pp = np.asarray(res.particles)
        s = O.summaries(pp)
        lm, m50, edge = _fit(O, np.asarray(s.values), obs.errors, pp, data["theta"][k], names)
        rows[k].update({"nolmc_log10_m200": lm, "nolmc_m_mw_50": m50, "nolmc_at_edge": edge})
        print(f"\r[jeans] without LMC: {k + 1}/{a.n_pairs} ({time.time() - t0:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)

    d_lmc = np.array([r["lmc_log10_m200"] - r["true_log10_m200"] for r in rows])
    r_lmc = np.array([r["lmc_m_mw_50"] / r["true_m_mw_50"] for r in rows])
    pairs = [r for r in rows if "nolmc_log10_m200" in r]
    d_no = np.array([r["nolmc_log10_m200"] - r["true_log10_m200"] for r in pairs])
    d_pair_lmc = np.array([r["lmc_log10_m200"] - r["true_log10_m200"] for r in pairs])
    edge = np.array([r["lmc_at_edge"] for r in rows])

    def stats(x):
        x = np.asarray(x)
        if x.size == 0:
            return {}
        return {"n": int(x.size), "mean": float(np.mean(x)), "median": float(np.median(x)), "std": float(np.std(x)),
                "sem": float(np.std(x) / np.sqrt(max(x.size, 1)))}

    ml = np.array([r["m_lmc"] for r in rows])
    heavy = ml > np.median(ml)
    out = {
        "command": "python scripts/inference/jeans_bias.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "with_lmc_dlog10_m200": stats(d_lmc),
        "with_lmc_dlog10_m200_not_at_edge": stats(d_lmc[~edge]),
        "with_lmc_m_mw_50_ratio": stats(r_lmc),
        "with_lmc_dlog10_m200_heavier_half": stats(d_lmc[heavy]),
        "with_lmc_dlog10_m200_lighter_half": stats(d_lmc[~heavy]),
        "pairs_without_lmc_dlog10_m200": stats(d_no),
        "pairs_with_lmc_dlog10_m200": stats(d_pair_lmc),
        "rows": rows,
    }
    os.makedirs(os.path.join(ROOT, "docs", "inference"), exist_ok=True)
    with open(os.path.join(ROOT, "docs", "inference", "jeans_bias.json"), "w") as fh:
        json.dump(out, fh, indent=1)
    for k, v in out.items():
        if k not in ("rows", "command"):
            print(k, {kk: round(vv, 4) if isinstance(vv, float) else vv for kk, vv in v.items()})

    from jaxgal.inference._plots import _figure, save_figure

    fig = _figure((11, 4))
    ax1, ax2 = fig.add_subplot(121), fig.add_subplot(122)
    tl = np.array([r["true_log10_m200"] for r in rows])
    sc = ax1.scatter(tl, d_lmc, c=ml / 1e11, s=10, cmap="viridis", label="with the LMC (suite)")
    fig.colorbar(sc, ax=ax1, label="M_LMC [1e11 Msun]")
    if pairs:
        ax1.scatter([r["true_log10_m200"] for r in pairs], d_no, marker="x", color="C3", s=30,
                    label="same halo, no LMC")
    ax1.axhline(0, color="0.5", lw=0.8)
    ax1.set(xlabel="true log10 M200", ylabel="Jeans MLE − truth [dex]",
            title="Jeans mass from dispersions vs truth")
    ax1.legend(fontsize=8)
    ax2.hist(d_lmc, bins=30, color="C0", alpha=0.6, label=f"with LMC: median {np.median(d_lmc):+.3f} dex")
    if pairs:
        ax2.hist(d_no, bins=10, color="C3", alpha=0.6, label=f"no LMC: median {np.median(d_no):+.3f} dex")
    ax2.axvline(0, color="0.5", lw=0.8)
    ax2.set(xlabel="Jeans MLE − truth [dex]", ylabel="simulations")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, os.path.join(ROOT, "figures", "inference", "jeans_bias"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
