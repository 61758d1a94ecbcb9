"""Stream-acceleration benchmark: NUTS wall time per chain and per effective sample.

Four samplers, each run twice with the same shapes so that the second call reuses the
compilation (compile time = first call − second call):

1. the paper's spline track model on the GD-1 pseudo-members (910 stars, 245 RVs following
   GD-1-I24; K = 5 for φ2 and v_GSR, 4 for |v|);
2. jaxgal's previous (n22) model on the same stars (K = 5, 4 for v_r; 25 coordinates);
3. the flattened-NFW halo fit (4 parameters) and
4. the tilted triaxial-NFW halo fit (6 parameters; ellipsoidal integral) of accelerations at
   15 points along the GD-1 track (φ1 = −75°…−12°) computed from a known model (flattened:
   q_z = 0.8; triaxial: 1 : 0.75 : 0.7, pitch 25°, yaw 225°) with the paper's precision,
   σ = 0.1 km/s/Myr per component.

For each: chains, warm-up and kept draws, compile seconds, steady sampling seconds (warm-up +
draws, all chains in one vmapped call; the halo fits' start-point optimisations are timed
separately as the whole ``fit_halo`` call), seconds per chain, minimum and median bulk ESS over
parameters, and seconds per effective sample (steady wall / minimum ESS summed over chains, the
conservative figure; ``ESS_w``: within-chain ESS summed over chains, the figure that stays
meaningful when chains sit in different modes). The halo fits are diagnosed on their physical
parameters, the triaxial one on its symmetry-free shape features (``shape_features``). Chains run vmapped on one device, so
"per chain" = wall / n_chains.

    python benchmarks/streams.py [--chains 4] [--warmup 300] [--samples 500] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time


def _record(name, res_first_wall, res, n_warmup, n_samples, samples=None):
    """``samples``: (n_chains, n_draws, P) draws to diagnose instead of the sampler's
    coordinates (the halo fits: physical parameters, the triaxial one as its symmetry-free
    shape features — its sampling coordinates hold each orientation twice, ±axis)."""
    import numpy as np
    import jax

    import blackjax

    rhat = res.max_rhat()
    if samples is None:
        ess = np.concatenate([np.ravel(np.asarray(e)) for e in jax.tree_util.tree_leaves(res.ess)])
        leaves = jax.tree_util.tree_leaves(res.samples)
    else:
        ess = np.ravel(np.asarray(blackjax.diagnostics.effective_sample_size(samples)))
        rhat = float(np.max(np.asarray(blackjax.diagnostics.potential_scale_reduction(samples))))
        leaves = [samples]
    # within-chain ESS summed over chains (meaningful also when chains sit in different modes)
    within = []
    for leaf in leaves:
        leaf = np.asarray(leaf)
        per = [np.ravel(np.asarray(blackjax.diagnostics.effective_sample_size(leaf[i:i + 1])))
               for i in range(leaf.shape[0])]
        within.append(np.sum(per, axis=0))
    within = np.concatenate(within)
    return {
        "sampler": name,
        "n_chains": res.n_chains,
        "n_warmup": n_warmup,
        "n_samples": n_samples,
        "compile_s": max(res_first_wall - res.wall_time, 0.0),
        "wall_s": res.wall_time,
        "s_per_chain": res.wall_time / res.n_chains,
        "min_ess": float(ess.min()),
        "median_ess": float(np.median(ess)),
        "s_per_ess": res.wall_time / float(ess.min()),
        "min_within_chain_ess": float(within.min()),
        "s_per_within_chain_ess": res.wall_time / float(within.min()),
        "max_rhat": rhat,
        "divergences": int(np.sum(res.divergences)),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--json", type=str, default=None)
    args = p.parse_args(argv)

    import jax
    import numpy as np

    import jaxgal  # (x64)
    from jaxgal import streams as st
    from jaxgal.streams import _halo

    records = []
    data = st.gd1_track_members(seed=0, rv_phi1_range=(-85.0, -5.0), rv_track="i24")
    dist = st.gd1_distance_track(scale_sigma=0.05)
    for model, label in (("paper", "track fit: paper (K=5, 15 dims)"), ("n22", "track fit: n22 (K=5, 25 dims)")):
        runs = []
        for rep in range(2):
            post = st.fit_track(jax.random.key(rep), data, n_knots=(5,), model=model, n_knots_rv=4 if model == "n22"
                                else None, distance_track=dist if model == "paper" else None, n_chains=args.chains,
                                n_warmup=args.warmup, n_samples=args.samples)
            runs.append(post.fits[0].nuts)
        records.append(_record(label, runs[0].wall_time, runs[1], args.warmup, args.samples))

    phi1 = np.linspace(-75, -12, 15)
    tr = st.load_gd1_track("i21")
    x = np.asarray(jaxgal.frames.gd1_to_galactocentric(
        phi1, *[np.interp(phi1, tr["phi1"], tr[c]) for c in st.COMPONENTS]))[:, :3]
    lm = float(np.log10(jaxgal.potentials.MWPotential2014()["halo"].m_s))
    truths = {"flattened": np.array([lm, 16.0, 0.8, 1.0]), "triaxial": np.array([lm, 16.0, 0.75, 0.7, 25.0, 225.0])}
    for model in ("flattened", "triaxial"):
        a = np.asarray(_halo.model_accelerations(model, truths[model], x))
        ad = _halo.AccelerationData(x=x, mean=a, std=np.full_like(a, 0.1), phi1=phi1)
        runs, totals = [], []
        for rep in range(2):
            t0 = time.perf_counter()
            fit = _halo.fit_halo(jax.random.key(10 + rep), ad, model, n_chains=args.chains, n_warmup=args.warmup,
                                 n_samples=args.samples)
            totals.append(time.perf_counter() - t0)
            runs.append(fit.nuts)
        diag = st.shape_features(fit.samples) if model == "triaxial" else fit.samples
        rec = _record(f"halo fit: {model}", runs[0].wall_time, runs[1], args.warmup, args.samples, samples=diag)
        rec["fit_halo_s"] = totals  # whole fit_halo calls (32 optimisations + NUTS + summaries): first, second
        rec["max_mode_rhat"] = fit.max_mode_rhat()
        records.append(rec)

    hdr = f"{'sampler':28s} {'chains':>6s} {'compile s':>9s} {'wall s':>8s} {'s/chain':>8s} {'min ESS':>8s} " \
          f"{'med ESS':>8s} {'ms/ESS':>9s} {'ESS_w':>7s} {'ms/ESS_w':>9s} {'R-hat':>6s}"
    print(hdr)
    for r in records:
        print(f"{r['sampler']:28s} {r['n_chains']:6d} {r['compile_s']:9.1f} {r['wall_s']:8.2f} {r['s_per_chain']:8.2f} "
              f"{r['min_ess']:8.0f} {r['median_ess']:8.0f} {1e3 * r['s_per_ess']:9.2f} "
              f"{r['min_within_chain_ess']:7.0f} {1e3 * r['s_per_within_chain_ess']:9.2f} {r['max_rhat']:6.3f}")
    for r in records:
        if "fit_halo_s" in r:
            print(f"{r['sampler']}: whole fit_halo call {r['fit_halo_s'][0]:.1f} s first, "
                  f"{r['fit_halo_s'][1]:.1f} s second; within-mode R-hat {r['max_mode_rhat']:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
    return records


if __name__ == "__main__":
    main()
