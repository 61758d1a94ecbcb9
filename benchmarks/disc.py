"""The exponential disc three ways — the tabulated exact disc (``ExponentialDisc``),
Smith et al.'s three-Miyamoto–Nagai fit (``MN3ExponentialDisc``, ``milky_way(disc="mn3")``)
and the mass-conserving three-Miyamoto–Nagai fit (``FittedExponentialDisc``,
``milky_way``'s default): cost, accuracy, and what each changes in ``milky_way``.

    python benchmarks/disc.py [--n 20000] [--repeats 5] [--single-thread] [--json out.json]

1. **Cost** (same run, interleaved, best of ``--repeats``): ns per force evaluation of the
   disc alone, vmapped over n points (log-uniform radii 0.1–150 kpc, isotropic) inside one
   jit with a ``fori_loop`` of 100 evaluations — MN3 and ``ExponentialDisc`` through
   ``grad_phi`` (what the integrators call) — and of the
   whole Milky Way (NFW + disc + bulge) with either disc; then ns per particle-step of a
   fixed-step leapfrog (n orbits, 200 steps) in each Milky Way, and ns per force evaluation
   of the production tracer engine (dopri5, rtol 1e-7, 256 lanes; ``--lanes-n`` bound halo
   orbits for ``--lanes-t`` Myr), the force inside the integrators. Also AGAMA's ``Disk`` force on the same points (1 thread), when importable.
   Ratios ExponentialDisc / MN3 are printed. ``--single-thread`` sets XLA's CPU backend to
   one thread (less noise from other jobs on a shared machine).
2. **Accuracy** against ``tests/data/expdisc_reference.json`` (the exact disc by scipy
   quadrature, inside 100 kpc): max relative force error of each disc, and where.
3. **milky_way**: the paper's Milky Way with the exact disc (``ExponentialDisc(5e10,
   2.5, 0.3)``) in place of MN3 — v_c(R☉) at today's c200, the c200 solved for v_c(R☉) =
   235 km/s at M200 = 1e12, and M_MW(<50 kpc) at M200 = 10^11, 10^11.5, 10^12, 10^12.5 (each
   with its own solved c200), for both discs.
4. **Build**: the one-off table build time (first construction of a shape).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=200, help="leapfrog steps in the in-integrator timing")
    p.add_argument("--lanes-n", type=int, default=4000, help="orbits in the lane-engine timing")
    p.add_argument("--lanes-t", type=float, default=300.0, help="integration time [Myr] of the lane-engine timing")
    p.add_argument("--single-thread", action="store_true", help="XLA CPU backend on one thread")
    p.add_argument("--forces-only", action="store_true", help="skip the leapfrog and lane-engine timings and AGAMA")
    p.add_argument("--json", type=str, default=None)
    return p.parse_args()


ARGS = _parse()
if ARGS.single_thread:
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    ).strip()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxgal as jg  # noqa: E402
import jaxgal.integrators as ji  # noqa: E402
from jaxgal import units as U  # noqa: E402
from jaxgal.potentials import CompositePotential, ExponentialDisc, FittedExponentialDisc, MN3ExponentialDisc  # noqa: E402
from jaxgal.potentials._presets import C200_RANGE, R_SUN, V_CIRC_SUN, _vc2_halo  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "tests", "data", "expdisc_reference.json")
N_REP = 100


def points(n, seed=0):
    rng = np.random.default_rng(seed)
    r = np.exp(rng.uniform(np.log(0.1), np.log(150.0), n))
    d = rng.normal(size=(n, 3))
    return jnp.asarray(r[:, None] * d / np.linalg.norm(d, axis=1, keepdims=True))


def _best(fn, repeats):
    """(best wall, best CPU) seconds of ``fn()`` over ``repeats`` calls after a warm-up. CPU
    time (all threads of this process) is the steadier figure on a shared machine; with
    ``--single-thread`` the two agree on an idle one."""
    fn()
    wall = cpu = np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu


def ns_per_force(grad, x, repeats):
    """(wall, CPU) ns per point of ``grad(q)`` vmapped over x, N_REP times inside one jit."""

    @jax.jit
    def loop(x0):
        def body(i, c):
            return c + jax.vmap(lambda q: grad(q + 1e-12 * c[0, 0]))(x0)

        return jax.lax.fori_loop(0, N_REP, body, jnp.zeros_like(x0))

    wall, cpu = _best(lambda: jax.block_until_ready(loop(x)), repeats)
    return wall / N_REP / x.shape[0] * 1e9, cpu / N_REP / x.shape[0] * 1e9


def ns_per_step(pot, w0, steps, repeats):
    """(wall, CPU) ns per particle-step of jaxgal's leapfrog (one force evaluation per step)."""

    def run():
        return ji.integrate_orbits(pot, w0, 0.0, float(steps), 1.0).w.block_until_ready()

    wall, cpu = _best(run, repeats)
    return wall / (w0.shape[0] * steps) * 1e9, cpu / (w0.shape[0] * steps) * 1e9


def ns_per_eval_lanes(pot, w0, t_end, repeats):
    """(wall, CPU) ns per force evaluation of the production tracer engine (dopri5, per-orbit
    error control at rtol 1e-7, 256 lanes): small force calls, where the number of XLA
    kernels per force evaluation matters as much as the arithmetic."""
    def run():
        r = ji.integrate_orbits(pot, w0, 0.0, t_end, solver=ji.ErrorControlledRK("dopri5", rtol=1e-7, lanes=256))
        r.w.block_until_ready()
        return r

    res = run()
    evals = float(np.sum(np.asarray(res.n_steps))) * 6
    wall, cpu = _best(run, repeats)
    return wall / evals * 1e9, cpu / evals * 1e9


def with_disc(mw, disc):
    return CompositePotential((mw["halo"], disc, mw["bulge"]), ("halo", "disc", "bulge"))


def solve_c200_with(disc, m200, h0=U.H0_DEFAULT):
    """c200 with v_c(R☉) = 235 km/s for NFW(M200, c200) + ``disc`` + the paper's bulge: the
    condition of ``jaxgal.potentials.solve_c200`` (SPEC §A), solved by scipy's brentq."""
    from scipy.optimize import brentq

    bulge = jg.potentials.milky_way(1e12, disc="mn3")["bulge"]
    x = jnp.asarray([R_SUN, 0.0, 0.0])
    g_bary = float(disc._gradient(x, 0.0)[0] + bulge._gradient(x, 0.0)[0])
    target = (V_CIRC_SUN * U.KMS_TO_KPC_MYR) ** 2 - R_SUN * g_bary
    f = lambda c: float(_vc2_halo(m200, c, R_SUN, h0)) - target  # noqa: E731
    lo, hi = C200_RANGE
    if f(lo) > 0:
        return lo
    if f(hi) < 0:
        return hi
    return brentq(f, lo, hi, xtol=1e-12, rtol=1e-12)


def main():
    args = ARGS
    load0 = os.getloadavg()
    print(f"jaxgal {jg.__version__}, JAX {jax.__version__}, {len(jax.devices())} CPU device(s); "
          f"XLA threads: {'1' if args.single_thread else 'default'}; load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    rec: dict = dict(load_before=load0, single_thread=args.single_thread, n=args.n)

    # ---------------------------------------------------------------- 4. build
    from jaxgal.potentials import _expdisc

    _expdisc._table.cache_clear()
    tic = time.perf_counter()
    ed = ExponentialDisc(5e10, 2.5, 0.3)
    t_build = time.perf_counter() - tic
    tic = time.perf_counter()
    ExponentialDisc(5e10, 2.5, 0.3)
    t_cached = time.perf_counter() - tic
    print(f"\nbuild: first ExponentialDisc(5e10, 2.5, 0.3) {t_build:.2f} s (one-off table), cached {t_cached * 1e3:.1f} ms; "
          f"table {ed.coefficients.size * 8 / 1e6:.2f} MB")
    rec["build_s"] = t_build

    # ---------------------------------------------------------------- 1. cost
    mn3 = MN3ExponentialDisc(5e10, 2.5, 0.3, sech2_z=False)
    fit = FittedExponentialDisc(5e10, 2.5, 0.3)
    mw = jg.potentials.milky_way(1e12, disc="mn3")
    mw_ed = with_disc(mw, ed)
    mw_fit = jg.potentials.milky_way(1e12)  # the default disc: FittedExponentialDisc
    x = points(args.n)
    g_mn3_fast, g_mw_fast, g_mwed_fast = mn3.grad_phi, mw.grad_phi, mw_ed.grad_phi
    g_fit, g_mwfit = fit.grad_phi, mw_fit.grad_phi
    g_halo, g_bulge = mw["halo"].grad_phi, mw["bulge"].grad_phi
    cands = {
        "MN3 (grad_phi, as integrated)": lambda q: g_mn3_fast(q, 0.0),
        "ExponentialDisc": lambda q: ed._gradient(q, 0.0),
        "FittedExponentialDisc": lambda q: g_fit(q, 0.0),
        "halo (NFW)": lambda q: g_halo(q, 0.0),
        "bulge (PowerLawCutoff, series)": lambda q: g_bulge(q, 0.0),
        "milky_way, MN3 disc (grad_phi)": lambda q: g_mw_fast(q, 0.0),
        "milky_way, exact disc (grad_phi)": lambda q: g_mwed_fast(q, 0.0),
        "milky_way, fitted disc (grad_phi)": lambda q: g_mwfit(q, 0.0),
    }
    res = {k: [] for k in cands}
    for _ in range(2):  # interleave, keep the best
        for k, g in cands.items():
            res[k].append(ns_per_force(g, x, args.repeats))
    cost = {k: (min(v[0] for v in vs), min(v[1] for v in vs)) for k, vs in res.items()}
    w0 = np.asarray(jnp.concatenate([x, 100.0 * jnp.asarray(np.random.default_rng(1).normal(size=(args.n, 3)))], axis=1))
    steps = {}
    mws = (("milky_way, MN3 disc", mw), ("milky_way, exact disc", mw_ed), ("milky_way, fitted disc", mw_fit))
    for _ in range(0 if args.forces_only else 2):
        for k, p in mws:
            steps.setdefault(k, []).append(ns_per_step(p, w0, args.steps, max(1, args.repeats // 2)))
    steps = {k: (min(v[0] for v in vs), min(v[1] for v in vs)) for k, vs in steps.items()}
    print(f"\n1. cost: ns per force evaluation, vmapped over {args.n} points (best of {args.repeats} × 2 interleaved rounds)")
    print(f"  {'':40s} {'wall':>8s} {'CPU':>8s}")
    for k, (w, c) in cost.items():
        print(f"  {k:40s} {w:8.2f} {c:8.2f}")
    ratio = lambda a, b, i: a[i] / b[i]  # noqa: E731
    r_disc = [ratio(cost["ExponentialDisc"], cost["MN3 (grad_phi, as integrated)"], i) for i in (0, 1)]
    r_mw = [ratio(cost["milky_way, exact disc (grad_phi)"], cost["milky_way, MN3 disc (grad_phi)"], i) for i in (0, 1)]
    r_fit = [ratio(cost["FittedExponentialDisc"], cost["MN3 (grad_phi, as integrated)"], i) for i in (0, 1)]
    r_mwfit = [ratio(cost["milky_way, fitted disc (grad_phi)"], cost["milky_way, MN3 disc (grad_phi)"], i) for i in (0, 1)]
    print(f"  ratio ExponentialDisc / MN3 (fast):           wall {r_disc[0]:5.2f}, CPU {r_disc[1]:5.2f}")
    print(f"  ratio FittedExponentialDisc / MN3:            wall {r_fit[0]:5.2f}, CPU {r_fit[1]:5.2f}")
    print(f"  ratio milky_way fitted disc / MN3 disc:       wall {r_mwfit[0]:5.2f}, CPU {r_mwfit[1]:5.2f}")
    print(f"  ratio milky_way exact disc / MN3 disc:         wall {r_mw[0]:5.2f}, CPU {r_mw[1]:5.2f}")
    for k, (w, c) in steps.items():
        print(f"  leapfrog, {k:30s} wall {w:7.2f}, CPU {c:7.2f} ns per particle-step ({args.steps} steps)")
    r_step = r_lane = None
    if steps:
        r_step = [ratio(steps["milky_way, exact disc"], steps["milky_way, MN3 disc"], i) for i in (0, 1)]
        r_step_fit = [ratio(steps["milky_way, fitted disc"], steps["milky_way, MN3 disc"], i) for i in (0, 1)]
        print(f"  ratio per leapfrog step, exact disc / MN3:     wall {r_step[0]:5.2f}, CPU {r_step[1]:5.2f}")
        print(f"  ratio per leapfrog step, fitted disc / MN3:    wall {r_step_fit[0]:5.2f}, CPU {r_step_fit[1]:5.2f}")
    # the production engine: bound halo orbits (as benchmarks/orbits.py), dopri5 + lanes
    rng = np.random.default_rng(2)
    nl = args.lanes_n
    rr = np.exp(rng.uniform(np.log(5.0), np.log(150.0), nl))
    dd = rng.normal(size=(nl, 3))
    xl = rr[:, None] * dd / np.linalg.norm(dd, axis=1, keepdims=True)
    vesc = np.sqrt(-2.0 * np.asarray(mw.potential(jnp.asarray(xl))))
    dv = rng.normal(size=(nl, 3))
    wl = np.concatenate([xl, (rng.uniform(0.2, 0.8, nl) * vesc)[:, None] * dv / np.linalg.norm(dv, axis=1, keepdims=True)], 1)
    lanes = {}
    for _ in range(0 if args.forces_only else 2):
        for k, p in mws:
            lanes.setdefault(k, []).append(ns_per_eval_lanes(p, wl, args.lanes_t, max(1, args.repeats // 2)))
    lanes = {k: (min(v[0] for v in vs), min(v[1] for v in vs)) for k, vs in lanes.items()}
    for k, (w, c) in lanes.items():
        print(f"  dopri5 + 256 lanes, {k:22s} wall {w:7.2f}, CPU {c:7.2f} ns per force evaluation ({nl} orbits, {args.lanes_t:g} Myr)")
    if lanes:
        r_lane = [ratio(lanes["milky_way, exact disc"], lanes["milky_way, MN3 disc"], i) for i in (0, 1)]
        r_lane_fit = [ratio(lanes["milky_way, fitted disc"], lanes["milky_way, MN3 disc"], i) for i in (0, 1)]
        print(f"  ratio per force evaluation in the lane engine, exact / MN3:  wall {r_lane[0]:5.2f}, CPU {r_lane[1]:5.2f}")
        print(f"  ratio per force evaluation in the lane engine, fitted / MN3: wall {r_lane_fit[0]:5.2f}, CPU {r_lane_fit[1]:5.2f}")
    rec["lanes_ns_per_eval_wall_cpu"] = lanes
    rec["cost_ns_wall_cpu"] = cost
    rec["leapfrog_ns_per_step_wall_cpu"] = steps
    rec["ratios_wall_cpu"] = dict(disc=r_disc, milky_way_force=r_mw, leapfrog_step=r_step, lane_engine=r_lane,
                                  fitted_disc=r_fit, milky_way_fitted=r_mwfit)
    try:
        if args.forces_only:
            raise ImportError("--forces-only")
        sys.path.insert(0, HERE)
        from _agama import require_agama

        agama = require_agama()
        dk = agama.Potential(type="Disk", mass=5e10, scaleRadius=2.5, scaleHeight=0.3)
        xa = np.asarray(x)
        with agama.setNumThreads(1):
            dk.force(xa)
            best = np.inf
            for _ in range(args.repeats):
                tic = time.perf_counter()
                dk.force(xa)
                best = min(best, time.perf_counter() - tic)
        print(f"  AGAMA Disk (DiskAnsatz + Multipole), 1 thread: {best / len(xa) * 1e9:7.2f} ns (Python call on {len(xa)} points)")
        rec["agama_disk_ns_1thread"] = best / len(xa) * 1e9
    except ImportError as err:
        print(f"  AGAMA skipped: {err}")

    # ---------------------------------------------------------------- 2. accuracy
    print("\n2. accuracy: |ΔF|/|F| against the exact disc (tests/data/expdisc_reference.json, scipy quadrature)")
    if os.path.exists(REFERENCE):
        with open(REFERENCE) as fh:
            ref = json.load(fh)["scipy"]
        for vertical in ("exp", "sech2"):
            if vertical not in ref:
                continue
            d = ref[vertical]
            R, z = np.asarray(d["R"]), np.asarray(d["z"])
            F = np.stack([d["F_R"], d["F_z"]], -1)
            inside = np.hypot(R, z) <= 100.0
            xx = jnp.asarray(np.stack([R, 0 * R, z], -1))
            discs = {"ExponentialDisc": ExponentialDisc(5e10, 2.5, 0.3, vertical)}
            discs["MN3 (positive-density fit)"] = MN3ExponentialDisc(5e10, 2.5, 0.3, sech2_z=vertical == "sech2")
            if vertical == "exp":
                discs["FittedExponentialDisc"] = fit
            for name, dpot in discs.items():
                a = np.asarray(dpot.acceleration(xx))[:, [0, 2]] / U.KMS_TO_KPC_MYR
                err = np.linalg.norm(a - F, axis=1) / np.linalg.norm(F, axis=1)
                i = np.argmax(np.where(inside, err, -1))
                out = err[~inside].max() if (~inside).any() else np.nan
                print(f"  {vertical:5s} {name:28s} max {err[inside].max():.2e} inside 100 kpc (at R = {R[i]:g}, z = {z[i]:g} kpc), "
                      f"median {np.median(err[inside]):.1e}; beyond 100 kpc max {out:.1e}")
                rec.setdefault("accuracy", {})[f"{vertical} {name}"] = dict(max=float(err[inside].max()), R=float(R[i]), z=float(z[i]))
    else:
        print(f"  skipped: {REFERENCE} not found (run tests/data/make_expdisc_reference.py)")

    # accuracy map of the fitted disc against the tabulated exact disc (within 1e-4 of it)
    print("\n2b. FittedExponentialDisc vs the exact disc (ExponentialDisc table) on a 60 × 60 log grid in (R, |z|) "
          "from 10 pc to 100 kpc plus the plane and the axis, r ≤ 100 kpc: max |ΔF| / |F_MW| (milky_way(1e12) total "
          "force) and, in brackets, max |ΔF| / |F_disc|, per (R, |z|) bin [kpc]")
    gg = np.concatenate([[0.0], np.geomspace(0.01, 100.0, 60)])
    RR, ZZ = np.meshgrid(gg, gg, indexing="ij")
    keep = (np.hypot(RR, ZZ) <= 100.0) & (np.hypot(RR, ZZ) > 0)
    Rg, Zg = RR[keep], ZZ[keep]
    xg = jnp.asarray(np.stack([Rg, 0 * Rg, Zg], -1))
    f_ex = np.asarray(ed.acceleration(xg))
    f_fit = np.asarray(fit.acceleration(xg))
    f_mn3 = np.asarray(mn3.acceleration(xg))
    f_hb = np.asarray(mw["halo"].acceleration(xg) + mw["bulge"].acceleration(xg))
    tot = np.linalg.norm(f_ex + f_hb, axis=1)
    e_tot = np.linalg.norm(f_fit - f_ex, axis=1) / tot
    e_disc = np.linalg.norm(f_fit - f_ex, axis=1) / np.linalg.norm(f_ex, axis=1)
    e_mn3 = np.linalg.norm(f_mn3 - f_ex, axis=1) / tot
    edges = [0.0, 1.0, 3.0, 10.0, 30.0, 100.01]
    print("  R \\ |z|    " + " ".join(f"{f'{a:g}–{b:.0f}':>16s}" for a, b in zip(edges[:-1], edges[1:])))
    for a, b in zip(edges[:-1], edges[1:]):
        row = []
        for c, d in zip(edges[:-1], edges[1:]):
            m = (Rg >= a) & (Rg < b) & (Zg >= c) & (Zg < d)
            row.append(f"{e_tot[m].max():7.4f} ({e_disc[m].max():6.3f})" if m.any() else f"{'—':>16s}")
        print(f"  {f'{a:g}–{b:.0f}':10s} " + " ".join(f"{v:>16s}" for v in row))
    i = int(np.argmax(e_tot))
    print(f"  overall: fitted max |ΔF|/|F_MW| = {e_tot.max():.4f} at R = {Rg[i]:.3g}, z = {Zg[i]:.3g} kpc "
          f"(MN3: {e_mn3.max():.4f}); max |ΔF|/|F_disc| for R ≥ 2.5 kpc: fitted "
          f"{e_disc[Rg >= 2.5].max():.4f}, MN3 {(np.linalg.norm(f_mn3 - f_ex, axis=1) / np.linalg.norm(f_ex, axis=1))[Rg >= 2.5].max():.4f}")
    rec["fitted_map"] = dict(max_rel_total=float(e_tot.max()), max_rel_disc_R_ge_2p5=float(e_disc[Rg >= 2.5].max()))

    # ---------------------------------------------------------------- 3. milky_way
    print("\n3. milky_way with each disc: MN3 (disc='mn3'), fitted (default), exact disc (ExponentialDisc(5e10, 2.5, 0.3))")
    c_mn3, _ = jg.potentials.solve_c200(1e12, disc="mn3")
    c_check = solve_c200_with(mw["disc"], 1e12)
    vc_mn3 = float(mw.circular_velocity(R_SUN))
    vc_ed = float(mw_ed.circular_velocity(R_SUN))
    c_ed = solve_c200_with(ed, 1e12)
    c_fit = float(jg.potentials.solve_c200(1e12)[0])
    print(f"  M200 = 1e12: v_c(R☉) at the MN3 c200 = {float(c_mn3):.4f}: MN3 {vc_mn3:.3f} km/s, exact disc {vc_ed:.3f} km/s "
          f"(Δ = {vc_ed - vc_mn3:+.3f} km/s)")
    print(f"  solved c200: MN3 {float(c_mn3):.4f} (this script's solver: {c_check:.4f}), fitted {c_fit:.4f}, exact disc {c_ed:.4f}")
    rec["milky_way"] = dict(vc_sun_mn3=vc_mn3, vc_sun_exact_same_c200=vc_ed, c200_mn3=float(c_mn3), c200_exact=c_ed,
                            c200_fit=c_fit, m50={})
    print("  log10 M200 | c200 MN3 | c200 fit | c200 exact | M(<50) MN3 [Msun] | M(<50) fit | M(<50) exact | MN3−exact | fit−exact")
    for lm in (11.0, 11.5, 12.0, 12.5):
        m200 = 10.0**lm
        ca = float(jg.potentials.solve_c200(m200, disc="mn3")[0])
        cf = float(jg.potentials.solve_c200(m200)[0])
        cb = solve_c200_with(ed, m200)
        ma = float(jg.potentials.milky_way(m200, c200=ca, disc="mn3").mass_enclosed(50.0))
        mf = float(jg.potentials.milky_way(m200, c200=cf).mass_enclosed(50.0))
        mb = float(with_disc(jg.potentials.milky_way(m200, c200=cb, disc="mn3"), ed).mass_enclosed(50.0))
        clip = " (c200 clipped)" if cb in C200_RANGE or ca in C200_RANGE or cf in C200_RANGE else ""
        print(f"  {lm:10.1f} | {ca:8.3f} | {cf:8.3f} | {cb:10.3f} | {ma:.5e} | {mf:.5e} | {mb:.5e} | "
              f"{100 * (ma / mb - 1):+.2f} % | {100 * (mf / mb - 1):+.3f} %{clip}")
        rec["milky_way"]["m50"][str(lm)] = dict(c200_mn3=ca, c200_fit=cf, c200_exact=cb, m50_mn3=ma, m50_fit=mf, m50_exact=mb)
    load1 = os.getloadavg()
    print(f"\nload average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    rec["load_after"] = load1
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rec, fh, indent=1, default=float)
        print(f"records written to {args.json}")


if __name__ == "__main__":
    main()
