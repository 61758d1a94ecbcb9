"""Observables benchmarks and studies: the numbers quoted in docs/observables.md.

    python benchmarks/observables.py observe     # observation model, selection-matched mocks: ms per 20,000-particle call
    python benchmarks/observables.py validate    # the default observation's dispersions reproduced
    python benchmarks/observables.py targets     # reflex targets: s per simulation vs n_stars
    python benchmarks/observables.py kgiants     # reflex fits of the real K giants vs published
    python benchmarks/observables.py coverage    # Hessian-interval coverage: Gaussian and simulation mocks
    python benchmarks/observables.py distance-bias  # the simulation mocks' v_y bias: which errors cause it
    python benchmarks/observables.py jeans       # Jeans clipping and mass fit on DF samples

Run from the repository root with the package on the path (``PYTHONPATH=$PWD``). The real
catalogues are read from ../shared/reference/reflex_kgiants (not redistributed); the
simulation sample is tests/data/sim_mock_theta_r30-160.npz. Each command prints the load
average beside its timings: on a shared machine the wall times are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jaxgal as jg  # noqa: E402
import jaxgal.observables as obs  # noqa: E402

REFLEX_DIR = os.path.join(ROOT, "..", "shared", "reference", "reflex_kgiants")
REFLEX_FRAME = jg.frames.GalactocentricFrame(8.3, 0.02, (11.1, 244.24, 7.25))
FIXTURE = os.path.join(ROOT, "tests", "data", "sim_mock_theta_r30-160.npz")


def load():
    return os.getloadavg()


def sim_particles(n_total=None):
    with np.load(FIXTURE, allow_pickle=False) as f:
        p = np.asarray(f["particles"], dtype=float)
    if n_total is not None and n_total > p.shape[0]:
        p = np.concatenate([p, np.full((n_total - p.shape[0], 6), np.nan)])
    return jnp.asarray(p)


def timed(fn, *args, repeats=5):
    """(first-call seconds, best steady-state seconds) of fn(*args)."""
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t)
    return first, best


# ----------------------------------------------------------------------------- observe


def cmd_observe(a):
    """Per-call cost of observing 20,000 particles and summarising them (jit), against the
    error-free summaries of the same particles measured in the same run."""
    rng = np.random.default_rng(0)
    # 20,000 particles: the simulation sample (30–160 kpc) plus isotropic particles at 5–300 kpc
    base = np.asarray(sim_particles())
    n_extra = 20_000 - base.shape[0]
    r = np.exp(rng.uniform(np.log(5), np.log(300), n_extra))
    d = rng.normal(size=(n_extra, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    extra = np.c_[r[:, None] * d, rng.normal(0, 120, (n_extra, 3))]
    p = jnp.asarray(np.r_[base, extra])
    cat = obs.default_observation().catalogue
    models = {
        "CatalogueErrorModel(default observation)": obs.CatalogueErrorModel.from_catalogue(cat),
        "ErrorModel()": obs.ErrorModel(),
    }
    key = jax.random.key(0)
    rows = []
    f0 = jax.jit(lambda p: obs.summaries(p).values)
    c0, s0 = timed(f0, p, repeats=a.repeats)
    rows.append(("summaries, error-free (peer)", c0, s0, 1.0))
    for name, m in models.items():
        fo = jax.jit(lambda k, p, m=m: m.observe(k, p).catalogue.pm_b)
        c, s = timed(fo, key, p, repeats=a.repeats)
        rows.append((f"observe only, {name}", c, s, s / s0))
        fs = jax.jit(lambda k, p, m=m: obs.observed_summaries(k, p, m).values)
        c, s = timed(fs, key, p, repeats=a.repeats)
        rows.append((f"observed_summaries, {name}", c, s, s / s0))
    for kn, how in ((1, "argmin"), (2, "top_k")):  # the nearest star by an argmin; k > 1 sorts (top_k)
        fm = jax.jit(lambda k, p, kn=kn: obs.summaries(obs.selection_matched_mock(k, p, cat, k_nearest=kn)).values)
        c, s = timed(fm, key, p, repeats=a.repeats)
        rows.append((f"selection_matched_mock (1,296 stars) + summaries, k_nearest={kn} ({how})", c, s, s / s0))
    m = models["CatalogueErrorModel(default observation)"]
    batch = jnp.stack([p] * 8)
    fb = jax.jit(jax.vmap(lambda k, p: obs.observed_summaries(k, p, m).values))
    c, s = timed(fb, jax.random.split(key, 8), batch, repeats=max(1, a.repeats // 2))
    rows.append(("observed_summaries, vmap over 8 simulations (per simulation)", c, s / 8, s / 8 / s0))
    print(f"load average {load()}; 20,000 particles per call; seconds")
    print(f"{'what':65s} {'first call':>10s} {'steady':>10s} {'÷ peer':>8s}")
    for name, c, s, ratio in rows:
        print(f"{name:65s} {c:10.3f} {s * 1e3:8.2f}ms {ratio:8.2f}")


def cmd_validate(a):
    """The embedded mock's dispersions against a simulation at its θ (independent particles)
    observed through the catalogue's errors, and error-free."""
    d = obs.default_observation()
    p = sim_particles()
    m = obs.CatalogueErrorModel.from_catalogue(d.catalogue)
    s_o = obs.observed_summaries(jax.random.key(0), p, m)
    s_f = obs.summaries(p)

    def z(s):
        sig = d.errors * np.sqrt(1.0 + d.counts / np.maximum(np.asarray(s.counts), 1.0))
        return (np.asarray(s.values) - d.values) / sig

    zo, zf = z(s_o), z(s_f)
    disp = np.r_[20:40, 46:52]
    means = np.r_[0:20, 40:46]
    print("| summary | catalogue | observed through its errors | error-free |")
    print("|---|---|---|---|")
    for i in range(46, 52):
        print(f"| {d.names[i]} | {d.values[i]:.0f} ± {d.errors[i]:.0f} | {float(s_o.values[i]):.0f} ({zo[i]:+.1f}σ) | "
              f"{float(s_f.values[i]):.0f} ({zf[i]:+.1f}σ) |")
    print(f"χ² of the 26 dispersions: observed {np.sum(zo[disp] ** 2):.1f}, error-free {np.sum(zf[disp] ** 2):.1f}; "
          f"of the 26 means: {np.sum(zo[means] ** 2):.1f}, {np.sum(zf[means] ** 2):.1f} "
          "(σ = bootstrap error ⊕ the simulation's own sampling error σ_boot √(n_obs/n_sim))")
    print("linear reflex fit of the embedded mock (astropy's Sun, Galactocentric dispersions):")
    for de in ("observed", "model"):
        f = obs.fit_reflex(d.catalogue, "linear", distance_error=de)
        cells = ", ".join(f"{r}: {float(f.v_travel[j]):.1f} ± {float(f.v_travel_err[j]):.1f} km/s "
                          f"(b = {float(f.b_apex[j]):.0f}°)" for j, r in enumerate((40, 100, 120)))
        print(f"  distance_error={de!r}: {cells}; converged {bool(f.converged)}")


# ----------------------------------------------------------------------------- targets


def cmd_targets(a):
    """reflex_targets cost per 20,000-particle simulation and its precision against the fit
    of all stars at 40–120 kpc, for several n_stars."""
    p = sim_particles(20_000)
    em = obs.ErrorModel()
    print(f"load average {load()}; simulation sample at the default observation's θ padded to 20,000 rows")
    print(f"{'n_stars':>8s} {'first s':>8s} {'steady s':>9s} {'n used':>7s} {'v100':>7s} {'σ(v100)':>8s} {'sd over keys':>12s} {'vz100':>7s}")
    for n in [int(x) if x != "all" else None for x in a.n_stars.split(",")]:
        f = lambda k, n=n: obs.reflex_targets(k, p, em, n_stars=n)  # noqa: E731
        c, s = timed(f, jax.random.key(0), repeats=2)
        outs = [f(jax.random.key(i)) for i in range(1, a.keys + 1)]
        v = np.array([float(o.v_travel[1]) for o in outs])
        vz = np.array([float(o.vz[1]) for o in outs])
        e = np.mean([float(o.v_travel_err[1]) for o in outs])
        print(f"{str(n):>8s} {c:8.1f} {s:9.2f} {float(outs[0].n_stars):7.0f} {v.mean():7.1f} {e:8.1f} {v.std(ddof=1):12.1f} {vz.mean():7.1f}")
    # vmapped over simulations
    keys = jax.random.split(jax.random.key(9), 4)
    fb = jax.jit(jax.vmap(lambda k: obs.reflex_targets(k, p, em, n_stars=2000)))
    c, s = timed(fb, keys, repeats=1)
    print(f"vmap over 4 simulations, n_stars=2000: first {c:.1f} s, steady {s / 4:.2f} s per simulation")


# ----------------------------------------------------------------------------- kgiants

PUBLISHED = {
    "KGiant_YPP24sgr_50+.txt": (40, -36, 40, -5, -30, 19, 88, 61, 70),
    "KGiant_YPP24sgr_40+.txt": (61, -50, 30, -15, -23, 26, 94, 77, 84),
}
PUBLISHED_ERR = {
    "KGiant_YPP24sgr_50+.txt": (11, 13, 7, 7, 6, 8, 5, 5, 5),
    "KGiant_YPP24sgr_40+.txt": (15, 12, 6, 5, 5, 6, 3, 4, 4),
}


def cmd_kgiants(a):
    names = ("l_apex", "b_apex", "v_travel", "<v_r>", "<v_phi>", "<v_theta>", "sigma_vlos", "sigma_l", "sigma_b")
    print("constant model, dispersions on the observables, Sun (8.3, 0.02, (11.1, 244.24, 7.25)), n_starts=8")
    print("| catalogue | fit | " + " | ".join(names) + " | converged |")
    print("|---|---|" + "---|" * len(names) + "---|")
    for fname in PUBLISHED:
        path = os.path.join(REFLEX_DIR, fname)
        if not os.path.exists(path):
            print(f"absent: {path}")
            continue
        arr = np.loadtxt(path)
        cat = obs.make_catalogue(*arr[6:17])
        pub = " | ".join(f"{v} ± {e}" for v, e in zip(PUBLISHED[fname], PUBLISHED_ERR[fname]))
        print(f"| {fname[:-4]} ({cat.n_stars}) | published | {pub} | |")
        for de in ("observed", "model"):
            f = obs.fit_reflex(cat, "constant", dispersion="observables", distance_error=de, frame=REFLEX_FRAME)
            p, e = np.asarray(f.params), np.sqrt(np.diag(np.asarray(f.cov)))
            vals = [(float(f.l_apex[0]), float(f.l_apex_err[0])), (float(f.b_apex[0]), float(f.b_apex_err[0])),
                    (float(f.v_travel[0]), float(f.v_travel_err[0]))]
            vals += [(p[i], e[i]) for i in range(3, 6)] + [(abs(p[i]), e[i]) for i in range(6, 9)]
            cells = " | ".join(f"{v:.1f} ± {s:.1f}" for v, s in vals)
            print(f"| {fname[:-4]} | jaxgal, distance_error=\"{de}\" | {cells} | {bool(f.converged)} |")
    print("\nlinear model (anchors 40, 120 kpc), distance_error=\"observed\": v_travel, l_apex, b_apex at 40/100/120 kpc")
    for fname in PUBLISHED:
        path = os.path.join(REFLEX_DIR, fname)
        if not os.path.exists(path):
            continue
        cat = obs.make_catalogue(*np.loadtxt(path)[6:17])
        f = obs.fit_reflex(cat, "linear", dispersion="observables", frame=REFLEX_FRAME)
        for j, r in enumerate((40, 100, 120)):
            print(f"  {fname[:-4]} r={r}: v = {float(f.v_travel[j]):.1f} ± {float(f.v_travel_err[j]):.1f}, "
                  f"l = {float(f.l_apex[j]):.0f} ± {float(f.l_apex_err[j]):.0f}, b = {float(f.b_apex[j]):.0f} ± "
                  f"{float(f.b_apex_err[j]):.0f}  (converged {bool(f.converged)})")


# ----------------------------------------------------------------------------- coverage


def _halo(key, n, v_travel, sigma=100.0, r_min=20.0, r_max=200.0):
    k1, k2, k3 = jax.random.split(key, 3)
    u = jax.random.uniform(k1, (n,))
    r = (r_min**-0.5 + u * (r_max**-0.5 - r_min**-0.5)) ** -2.0
    d = jax.random.normal(k2, (n, 3))
    d = d / jnp.linalg.norm(d, axis=1, keepdims=True)
    return jnp.concatenate([r[:, None] * d, sigma * jax.random.normal(k3, (n, 3)) - v_travel], 1)


def _summary(z):
    cover = (np.abs(z) < 1).mean(0)
    return (f"coverage {np.round(cover, 3).tolist()} pooled {np.mean(np.abs(z) < 1):.3f}; "
            f"mean pull {np.round(z.mean(0), 2).tolist()}; sd {np.round(z.std(0), 2).tolist()}")


def cmd_coverage(a):
    v = jnp.asarray([-10.0, -20.0, -35.0])
    print(f"load average {load()}")
    print(f"Gaussian mocks: isotropic halo (ρ ∝ r^-3.5, σ = 100 km/s, v_travel = {v.tolist()}), "
          f"{a.seeds} seeds × {a.stars} stars, ErrorModel(), constant model, Galactocentric dispersions")

    @jax.jit
    def mocks(keys):
        def one(k):
            k1, k2 = jax.random.split(k)
            return obs.mock_catalogue(k2, _halo(k1, 5 * a.stars, v), n_stars=a.stars)

        return jax.vmap(one)(keys)

    cats = mocks(jax.random.split(jax.random.key(11), a.seeds))
    for de in ("model", "observed"):
        f = obs.fit_reflex(cats, n_starts=1, distance_error=de, batch_size=100)
        est = np.stack([f.vx[:, 0], f.vy[:, 0], f.vz[:, 0]], 1)
        err = np.stack([f.vx_err[:, 0], f.vy_err[:, 0], f.vz_err[:, 0]], 1)
        z = (est - np.asarray(v)) / err
        print(f"  distance_error={de!r}: {_summary(z)}; bias {np.round((est - np.asarray(v)).mean(0), 2).tolist()} km/s")
    p = sim_particles()
    truth = obs.reflex_targets(jax.random.key(0), p, None, n_stars=None, n_starts=8)
    print(f"Simulation mocks: {a.sim_mocks} draws of 600 stars at 40–120 kpc from the simulation sample "
          f"(LMC 1.95e11), ErrorModel(), linear model; truth = the same fit of all {float(truth.n_stars):.0f} "
          "particles without errors")
    print(f"  truth vx {np.round(truth.vx, 1).tolist()} vy {np.round(truth.vy, 1).tolist()} vz {np.round(truth.vz, 1).tolist()}")
    keys = jax.random.split(jax.random.key(5), a.sim_mocks)
    for de in ("model", "observed"):
        out = jax.jit(jax.vmap(lambda k: obs.reflex_targets(k, p, obs.ErrorModel(), n_stars=600, distance_error=de)))(keys)
        for j, r in enumerate((40, 100, 120)):
            est = np.stack([out.vx[:, j], out.vy[:, j], out.vz[:, j]], 1)
            err = np.stack([out.vx_err[:, j], out.vy_err[:, j], out.vz_err[:, j]], 1)
            tr = np.array([truth.vx[j], truth.vy[j], truth.vz[j]])
            print(f"  {de!r} r={r}: {_summary((est - tr) / err)}; bias {np.round((est - tr).mean(0), 1).tolist()} km/s")


def cmd_distance_bias(a):
    """Where the bias of the simulation mocks comes from: linear fits of all particles at
    40–120 kpc observed with all errors, distance errors only, or proper-motion and v_los
    errors only (mean over keys), against the error-free fit."""
    p = sim_particles()
    truth = obs.reflex_targets(jax.random.key(0), p, None, n_stars=None, n_starts=8)
    print(f"load average {load()}; truth (no errors): vy {np.round(truth.vy, 1).tolist()} "
          f"vx {np.round(truth.vx, 1).tolist()} vz {np.round(truth.vz, 1).tolist()} at 40/100/120 kpc")
    keys = jax.random.split(jax.random.key(9), a.keys)
    for lab, m, de in (
        ("all errors, 'model'", obs.ErrorModel(), "model"),
        ("all errors, 'observed'", obs.ErrorModel(), "observed"),
        ("distance errors only, 'model'", obs.ErrorModel(v_los_err=0.0, pm_scale=0.0), "model"),
        ("proper-motion and v_los errors only", obs.ErrorModel(frac_distance=0.0), "model"),
    ):
        out = jax.jit(jax.vmap(lambda k: obs.reflex_targets(k, p, m, n_stars=None, distance_error=de)))(keys)
        print(f"  {lab}: vy {np.round(out.vy.mean(0), 1).tolist()} (sd {np.round(out.vy.std(0), 1).tolist()}), "
              f"vx {np.round(out.vx.mean(0), 1).tolist()}, vz {np.round(out.vz.mean(0), 1).tolist()}")


# ----------------------------------------------------------------------------- jeans


def cmd_jeans(a):

    print(f"load average {load()}")
    p = np.load(os.path.join(ROOT, "tests", "data", "agama_df_sample_beta0.6.npy"))
    r = np.linalg.norm(p[:, :3], axis=1)
    p = jnp.asarray(p[(r >= 30) & (r <= 160)])
    P = jg.potentials
    pot = P.CompositePotential((P.NFW.from_m200_c200(1e12, 10.0, h0=67.6), P.MiyamotoNagai(6.8e10, 3.0, 0.28), P.Hernquist(5e9, 1.0)))
    raw, clipped = obs.SummaryConfig(max_iters=0), obs.SummaryConfig()
    geom = obs.JeansGeometry.from_stars(p, raw)
    idx = np.asarray(geom.disp_index)
    s_raw = np.asarray(obs.summaries(p, raw).values)[idx]
    s_clip = np.asarray(obs.summaries(p, clipped).values)[idx]
    pr = np.asarray(obs.jeans_summary_dispersions(geom, 0.6, 15.0, 4.5, potential=pot, config=raw))
    pk = np.asarray(obs.jeans_summary_dispersions(geom, 0.6, 15.0, 4.5, potential=pot, config=clipped))
    pg = np.asarray(obs.jeans_summary_dispersions(geom, 0.6, 15.0, 4.5, potential=pot, config=clipped, clip_model="gaussian"))
    print("AGAMA β=0.6 sample (tests/data): unclipped sample/Jeans, clipped/unclipped ratio: sample, kurtosis model, Gaussian model")
    for lab, sl in (("v_GSR (20 bins)", slice(0, 20)), ("v_t,b (6 bins)", slice(20, 26))):
        print(f"  {lab}: sample/Jeans {np.mean(s_raw[sl] / pr[sl]):.3f} (rms {np.std(s_raw[sl] / pr[sl]):.3f}); "
              f"clip ratio sample {np.mean(s_clip[sl] / s_raw[sl]):.3f}, kurtosis {np.mean(pk[sl] / pr[sl]):.3f}, "
              f"gaussian {np.mean(pg[sl] / pr[sl]):.3f}")
    full = np.load(os.path.join(ROOT, "tests", "data", "agama_df_sample_beta0.6.npy"))
    rr = np.linalg.norm(full[:, :3], axis=1)
    vr = np.sum(full[:, :3] * full[:, 3:], 1) / rr
    g = np.geomspace(20, 300, 60)
    sg = np.asarray(jg.df.jeans_dispersions(jnp.asarray(g), pot, jg.df.stellar_halo_density(15.0, 4.5), 0.6)[0])
    cells = []
    for lo, hi in ((30, 45), (45, 60), (60, 90), (90, 160)):
        m = (rr >= lo) & (rr < hi)
        ratio = np.sqrt(np.mean(vr[m] ** 2) / np.mean(np.interp(rr[m], g, sg) ** 2))
        cells.append(f"{lo}-{hi} kpc: {ratio:.3f} ± {1 / np.sqrt(2 * m.sum()):.3f}")
    print("  AGAMA σ_r / Jeans σ_r in shells: " + "; ".join(cells))
    lm, b0, rd, ga = 11.82, 0.5, 15.0, 4.0
    t = time.time()
    sample = np.asarray(jg.df.sample_stellar_halo(jax.random.key(3), 40000, P.milky_way(10**lm), b0, rd, ga))
    r = np.linalg.norm(sample[:, :3], axis=1)
    sample = jnp.asarray(sample[(r >= 30) & (r <= 160)])
    print(f"jg.df sample, milky_way(10^{lm}), β0={b0}, r_dens={rd}, γ={ga}: {sample.shape[0]} stars at 30–160 kpc ({time.time() - t:.0f} s)")
    d = obs.default_observation()
    for lab, cfg, cm in (("unclipped", raw, "kurtosis"), ("clipped, kurtosis model", clipped, "kurtosis"),
                         ("clipped, Gaussian model", clipped, "gaussian")):
        s = obs.summaries(sample, cfg)
        g = obs.JeansGeometry.from_stars(sample, cfg)
        err = np.asarray(s.values) / np.sqrt(2 * np.maximum(d.counts, 1))
        t = time.time()
        fit = obs.jeans_mass_mle(s.values, err, g, b0, rd, ga, config=cfg, clip_model=cm)
        jax.block_until_ready(fit)
        print(f"  {lab}: log10 M200 = {float(fit.log10_m200):.3f} [{float(fit.log10_m200_lo):.3f}, "
              f"{float(fit.log10_m200_hi):.3f}] (truth {lm}), M(<50) = {float(fit.m_mw_50) / 1e11:.3f}e11, "
              f"χ² = {float(fit.chi2):.1f}/{int(fit.n_used)}  ({time.time() - t:.1f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("observe")
    o.add_argument("--repeats", type=int, default=5)
    t = sub.add_parser("targets")
    t.add_argument("--n-stars", default="1000,2000,4000,all")
    t.add_argument("--keys", type=int, default=5)
    sub.add_parser("kgiants")
    sub.add_parser("validate")
    c = sub.add_parser("coverage")
    c.add_argument("--seeds", type=int, default=400)
    c.add_argument("--stars", type=int, default=1000)
    c.add_argument("--sim-mocks", type=int, default=200)
    sub.add_parser("jeans")
    db = sub.add_parser("distance-bias")
    db.add_argument("--keys", type=int, default=6)
    a = ap.parse_args()
    {"observe": cmd_observe, "validate": cmd_validate, "targets": cmd_targets, "kgiants": cmd_kgiants, "coverage": cmd_coverage, "distance-bias": cmd_distance_bias,
     "jeans": cmd_jeans}[a.cmd](a)


if __name__ == "__main__":
    main()
