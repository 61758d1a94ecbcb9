"""Orbit-integration benchmark: jaxgal's integrators against gala (and AGAMA if importable).

20,000 (default) seeded outer-halo-like orbits — radii log-uniform in 5–200 kpc (ρ ∝ r⁻³),
isotropic directions, speeds a uniform fraction 0.2–0.8 of the local escape speed (so every
orbit is bound) — integrated for 2.2 Gyr in ``jaxgal.potentials.milky_way(1e12)``, with every
jaxgal configuration and with gala's C integrators in the same run. For each configuration:
wall seconds of a steady-state call (compile time measured separately as first call −
steady call), particle-steps and force evaluations per second, median and 99th percentile
of the final |ΔE/E|, and median and 99th percentile of the final position error against a
converged reference (jaxgal's lane-scheduled dopri8 at rtol = 1e-12, checked against
rtol = 1e-11). Configurations labelled ``+table`` integrate in
``jaxgal.potentials.tabulate_spherical(milky_way(1e12))`` (the halo and bulge through one
table of M(<r), within 3.7e-9 of their own force; the disc analytic), and are measured
against the same reference and the exact potential's energies.

    python benchmarks/orbits.py [--n 20000] [--json out.json] [--devices 2] [--quick]

AGAMA (when ``import agama`` works; ``benchmarks/README.md`` says how to build it): the same
Milky Way from AGAMA components (``benchmarks/_agama.py``, checked against jaxgal's to 1e-5
before any timing), its ``dop853`` and ``dprkn8`` integrators at accuracies 1e-5 … 1e-8 on
``--agama-threads`` OpenMP threads (2), the same orbits, the same diagnostics.

``--devices K`` sets ``XLA_FLAGS=--xla_force_host_platform_device_count=K`` before JAX is
imported, so that jaxgal splits the orbits over K CPU devices (one core each). gala runs on
one thread (it has no threading for orbit integration). Slow configurations (diffrax's
vmapped solver, gala's DOP853, which shares one step among all orbits) run on a subset of
``--n-slow`` orbits; their records carry ``n`` = the subset size and an extrapolated
``wall_s_at_n`` (wall × n_full / n_subset, a lower bound for gala's shared-step DOP853, whose
cost per orbit grows with the batch).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20_000, help="number of orbits (default 20000)")
    p.add_argument("--json", type=str, default=None, help="write the records to this JSON file")
    p.add_argument("--devices", type=int, default=None, help="number of host CPU devices for jaxgal")
    p.add_argument("--quick", action="store_true", help="few configurations, for development")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--t-end", type=float, default=2200.0, help="integration time [Myr]")
    p.add_argument("--n-slow", type=int, default=500, help="orbits for the slow configurations")
    p.add_argument("--repeats", type=int, default=1, help="steady-state calls per config (min taken)")
    p.add_argument("--no-gala", action="store_true", help="skip gala")
    p.add_argument("--no-jaxgal", action="store_true", help="skip jaxgal's configurations (not the reference)")
    p.add_argument("--gala-dt", type=str, default=None, help="comma-separated gala leapfrog steps [Myr]")
    p.add_argument("--only", type=str, default=None, help="run only jaxgal configurations whose label contains this")
    p.add_argument("--profile", action="store_true", help="profile the force and the step, then exit")
    p.add_argument("--no-agama", action="store_true", help="skip AGAMA")
    p.add_argument("--agama", type=str, default=None, help="AGAMA configurations method:accuracy, comma-separated")
    p.add_argument("--agama-threads", type=int, default=2, help="AGAMA OpenMP threads (default 2)")
    return p.parse_args()


ARGS = _parse()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgal._hostdevices import set_host_device_count  # noqa: E402  (imports no JAX)

set_host_device_count(ARGS.devices)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxgal as jg  # noqa: E402
import jaxgal.integrators as ji  # noqa: E402
from jaxgal import units as U  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _gala import check_gala_potential, gala_potential, run_gala  # noqa: E402
from _tracers import halo_orbits as make_initial_conditions  # noqa: E402

TARGET_MEDIAN, TARGET_P99 = 1e-6, 1e-4


# ---------------------------------------------------------------------------------------
# initial conditions and diagnostics
# ---------------------------------------------------------------------------------------
def energy(pot, w: np.ndarray) -> np.ndarray:
    """Specific energy [(km/s)²] with jaxgal's potential (the same for every tool)."""
    return np.asarray(pot.potential(jnp.asarray(w[:, :3]))) + 0.5 * np.sum(w[:, 3:] ** 2, axis=1)


def summarise(pot, w0, w, ref, e0) -> dict:
    w = np.asarray(w, dtype=float)
    de = np.abs(energy(pot, w) / e0 - 1.0)
    de = np.where(np.isfinite(de), de, np.inf)
    out = dict(median_dE=float(np.median(de)), p99_dE=float(np.percentile(de, 99)), max_dE=float(np.max(de)))
    if ref is not None:
        dx = np.linalg.norm(w[:, :3] - ref[: len(w), :3], axis=1)
        out.update(median_dx=float(np.median(dx)), p99_dx=float(np.percentile(dx, 99)))
    return out


# ---------------------------------------------------------------------------------------
# jaxgal
# ---------------------------------------------------------------------------------------
def run_jaxgal(mw, w0, t_end, kw, repeats):
    def call():
        r = ji.integrate_orbits(mw, w0, 0.0, t_end, **kw)
        r.w.block_until_ready()
        return r

    t = time.perf_counter()
    call()
    first = time.perf_counter() - t
    walls = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        r = call()
        walls.append(time.perf_counter() - t)
    wall = min(walls)
    return np.asarray(r.w), np.asarray(r.n_steps), wall, max(first - wall, 0.0)


def force_evals_per_step(scheme: str) -> int:
    """Force evaluations per step of a scheme name."""
    if scheme in SPLITTING_EVALS:
        return SPLITTING_EVALS[scheme]
    return {"dopri8": 13, "tsit5": 6, "dopri5": 6, "dprkn6": 5, "dprkn8": 8, "rk4": 4}[scheme]


SPLITTING_EVALS = {name: len(getattr(ji, cls).splitting.drifts) for name, cls in
                   [("leapfrog", "Leapfrog"), ("yoshida4", "Yoshida4"), ("suzuki4", "Suzuki4"), ("bm4", "BM4"), ("bm6", "BM6")]}


def _fixed(method, dt, **kw):
    return dict(dt=dt, method=method, **kw)


def _diffrax(name, rtol):
    import diffrax

    return dict(solver=ji.Diffrax(name, diffrax.PIDController(rtol=rtol, atol=1e-10)))


def configurations(quick: bool):
    """(label, scheme, step label, integrate_orbits keywords, slow)."""
    EC, AC = ji.ErrorControlledRK, ji.AdaptiveComposition
    cfg = [
        ("leapfrog", "leapfrog", "dt=0.5", _fixed("leapfrog", 0.5), False),
        ("bm4", "bm4", "dt=1", _fixed("bm4", 1.0), False),
        ("tsit5+lanes", "tsit5", "rtol=2e-7", dict(solver=EC("tsit5", rtol=2e-7, lanes=256)), False),
        ("adaptive", "suzuki4", "eta=0.3", dict(solver=AC("suzuki4", eta=0.3, lanes=256, dt_max=10.0)), False),
    ]
    if quick:
        return cfg
    return [
        ("leapfrog", "leapfrog", "dt=1", _fixed("leapfrog", 1.0), False),
        ("leapfrog", "leapfrog", "dt=0.5", _fixed("leapfrog", 0.5), False),
        ("leapfrog", "leapfrog", "dt=0.25", _fixed("leapfrog", 0.25), False),
        ("leapfrog f32", "leapfrog", "dt=0.5", _fixed("leapfrog", 0.5, dtype=jnp.float32), False),
        ("leapfrog f64+f32 force", "leapfrog", "dt=0.5", _fixed("leapfrog", 0.5, force_dtype=jnp.float32), False),
        ("yoshida4", "yoshida4", "dt=1", _fixed("yoshida4", 1.0), False),
        ("bm4", "bm4", "dt=2", _fixed("bm4", 2.0), False),
        ("bm4", "bm4", "dt=1", _fixed("bm4", 1.0), False),
        ("bm4", "bm4", "dt=0.5", _fixed("bm4", 0.5), False),
        ("bm6", "bm6", "dt=1", _fixed("bm6", 1.0), False),
        ("adaptive", "suzuki4", "eta=0.3", dict(solver=AC("suzuki4", eta=0.3, lanes=256, dt_max=10.0)), False),
        ("adaptive", "suzuki4", "eta=0.2", dict(solver=AC("suzuki4", eta=0.2, lanes=256, dt_max=10.0)), False),
        ("tsit5+lanes", "tsit5", "rtol=4e-7", dict(solver=EC("tsit5", rtol=4e-7, lanes=256)), False),
        ("tsit5+lanes", "tsit5", "rtol=2e-7", dict(solver=EC("tsit5", rtol=2e-7, lanes=256)), False),
        ("tsit5+lanes", "tsit5", "rtol=1e-7", dict(solver=EC("tsit5", rtol=1e-7, lanes=256)), False),
        ("dopri5+lanes", "dopri5", "rtol=1e-7", dict(solver=EC("dopri5", rtol=1e-7, lanes=256)), False),
        ("dprkn6+lanes", "dprkn6", "rtol=1e-5", dict(solver=EC("dprkn6", rtol=1e-5, lanes=256)), False),
        ("dprkn6+lanes", "dprkn6", "rtol=3e-6", dict(solver=EC("dprkn6", rtol=3e-6, lanes=256)), False),
        ("dprkn6+lanes", "dprkn6", "rtol=1e-7", dict(solver=EC("dprkn6", rtol=1e-7, lanes=256)), False),
        ("dopri8+lanes", "dopri8", "rtol=3e-6", dict(solver=EC("dopri8", rtol=3e-6, lanes=256)), False),
        ("dopri8+lanes", "dopri8", "rtol=1e-8", dict(solver=EC("dopri8", rtol=1e-8, lanes=256)), False),
        # the halo and bulge through one table of M(<r) (tabulate_spherical; AGAMA's bulge
        # is its Multipole spline likewise), the disc analytic; accuracy against the same
        # exact reference and energies
        ("dopri5+lanes+table", "dopri5", "rtol=1e-7", dict(solver=EC("dopri5", rtol=1e-7, lanes=256), table=True), False),
        ("dopri8+lanes+table", "dopri8", "rtol=1e-8", dict(solver=EC("dopri8", rtol=1e-8, lanes=256), table=True), False),
        # the Nyström pairs at tolerances that bracket the 1e-6 target and AGAMA's 1e-8
        *[
            (f"{m}+lanes+table", m, f"rtol={r}", dict(solver=EC(m, rtol=float(r), lanes=256), table=True), False)
            for m, rtols in (("dprkn6", ("5e-6", "3e-6", "3e-7", "1e-7")), ("dprkn8", ("3e-5", "2e-5", "1e-5", "1e-6", "3e-7", "1e-7")))
            for r in rtols
        ],
        ("diffrax vmap", "tsit5", "rtol=2e-7", _diffrax("tsit5", 2e-7), True),
        ("diffrax vmap", "dopri8", "rtol=1e-8", _diffrax("dopri8", 1e-8), True),
    ]


# ---------------------------------------------------------------------------------------
def _time_best(fn, *a, reps=5):
    jax.block_until_ready(fn(*a))
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        jax.block_until_ready(fn(*a))
        best = min(best, time.perf_counter() - t)
    return best


class _Harmonic(ji.AbstractForceTerm):
    """a = −ω² x: a force that costs two multiplies, to time the bare integrator loop."""

    velocity_dependent = False

    def acceleration(self, t, x, v, args):
        return -1e-4 * x


def profile(n_lanes: int = 2048, n_rep: int = 200):
    """Where the time of one step goes: force per component (f64 and f32), the bare
    ``lax.scan`` leapfrog with a trivial force, the leapfrog and the lane-scheduled RK with
    the full Milky Way force."""
    from jaxgal.integrators._terms import cast_floating as _cast

    mw = jg.potentials.milky_way(1e12)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(n_lanes, 3)) * 20.0)
    print(f"force evaluations, {n_lanes} points held in cache, {n_rep} repetitions inside one jit:")
    for dtype in (jnp.float64, jnp.float32):
        pot = _cast(mw, dtype)
        parts = [("total", pot)] + list(zip(pot.names, pot.components))
        for name, comp in parts:
            g = comp.grad_phi

            @jax.jit
            def loop(x0, g=g):
                def body(i, c):
                    return c + jax.vmap(lambda q: g(q + 1e-9 * c[0, 0], 0.0))(x0)
                return jax.lax.fori_loop(0, n_rep, body, jnp.zeros_like(x0))

            t = _time_best(loop, x.astype(dtype))
            print(f"  {jnp.dtype(dtype).name:8s} {name:6s} {t / n_rep / n_lanes * 1e9:7.1f} ns per point")
    slow = jax.jit(jax.vmap(jax.grad(lambda q: mw.phi(q, 0.0))))
    t = _time_best(slow, x)
    print(f"  float64  total by autodiff of the potential (jax gammaincc in the bulge's Φ): {t / n_lanes * 1e9:7.1f} ns per point")

    n, steps = 20_000, 500
    w0 = make_initial_conditions(mw, n, 0)
    for label, pot in [("harmonic a = -w^2 x (no force cost)", _Harmonic()), ("milky_way", mw)]:
        fn = lambda: ji.integrate_orbits(pot, w0, 0.0, float(steps), 1.0).w  # noqa: E731
        t = _time_best(fn, reps=3)
        print(f"leapfrog scan, {label:36s}: {t / (n * steps) * 1e9:6.1f} ns per particle-step "
              f"({n * steps / t:.2e} steps/s, {len(jax.devices())} device(s))")
    fn = lambda: ji.integrate_orbits(  # noqa: E731
        mw, w0, 0.0, float(steps), solver=ji.ErrorControlledRK("tsit5", rtol=2e-7, lanes=256)
    )
    r = fn()
    t = _time_best(lambda: fn().w, reps=3)
    evals = float(np.sum(np.asarray(r.n_steps))) * 6
    print(f"lane-scheduled tsit5, milky_way: {t / evals * 1e9:6.1f} ns per force evaluation "
          f"({evals / t:.2e} evals/s)")


# ---------------------------------------------------------------------------------------
def main():
    args = ARGS
    if args.profile:
        return profile()
    n_dev = len(jax.devices())
    print(f"jax {jax.__version__}, devices: {n_dev} × {jax.devices()[0].platform}; n = {args.n}; "
          f"t = {args.t_end} Myr; load average {os.getloadavg()[0]:.2f}")
    mw = jg.potentials.milky_way(1e12)
    w0 = make_initial_conditions(mw, args.n, args.seed)
    e0 = energy(mw, w0)
    n_slow = min(args.n_slow, args.n)
    records = []

    def record(tool, method, step, n, wall, compile_s, steps_per_orbit, evals_per_step, diag, **extra):
        rec = dict(
            tool=tool, method=method, step=step, n=int(n), wall_s=float(wall), compile_s=float(compile_s),
            particle_steps_per_s=float(n * steps_per_orbit / wall),
            force_evals_per_orbit=float(steps_per_orbit * evals_per_step),
            force_evals_per_s=float(n * steps_per_orbit * evals_per_step / wall),
            devices=n_dev if tool == "jaxgal" else 1, **diag, **extra,
        )
        if n < args.n:
            rec["wall_s_at_n"] = float(wall * args.n / n)
        records.append(rec)
        print(
            f"{tool:7s} {method:24s} {step:11s} n={n:6d} wall={wall:8.2f}s compile={compile_s:6.1f}s "
            f"evals/orbit={rec['force_evals_per_orbit']:7.0f} load={os.getloadavg()[0]:5.1f} med|dE/E|={diag['median_dE']:.1e} "
            f"p99={diag['p99_dE']:.1e} med|dx|={diag.get('median_dx', np.nan):.1e} p99={diag.get('p99_dx', np.nan):.1e} kpc",
            flush=True,
        )

    # Converged reference.
    t = time.perf_counter()
    ref = np.asarray(
        ji.integrate_orbits(mw, w0, 0.0, args.t_end, solver=ji.ErrorControlledRK("dopri8", rtol=1e-12, atol=1e-14, lanes=256)).w
    )
    sub = slice(0, min(2000, args.n))
    ref2 = np.asarray(
        ji.integrate_orbits(mw, w0[sub], 0.0, args.t_end, solver=ji.ErrorControlledRK("dopri8", rtol=1e-11, atol=1e-13, lanes=256)).w
    )
    d_ref = np.linalg.norm(ref[sub, :3] - ref2[:, :3], axis=1)
    print(f"reference: dopri8 rtol=1e-12 ({time.perf_counter() - t:.0f}s); vs rtol=1e-11 on {len(d_ref)} orbits: "
          f"median |dx| {np.median(d_ref):.1e} kpc, p99 {np.percentile(d_ref, 99):.1e} kpc; "
          f"reference med|dE/E| {np.median(np.abs(energy(mw, ref) / e0 - 1)):.1e}")

    # jaxgal
    for label, method, step, kw, slow in ([] if args.no_jaxgal else configurations(args.quick)):
        if args.only and args.only not in label:
            continue
        ws = w0[:n_slow] if slow else w0
        kw = dict(kw)
        pot = jg.potentials.tabulate_spherical(mw) if kw.pop("table", False) else mw
        w, nsteps, wall, compile_s = run_jaxgal(pot, ws, args.t_end, kw, args.repeats)
        diag = summarise(mw, ws, w, ref, e0[: len(ws)])
        record("jaxgal", label if label != method else method, step, len(ws), wall, compile_s,
               float(np.mean(nsteps)), force_evals_per_step(method), diag, scheme=method)

    # gala
    if not args.no_gala:
        gpot = gala_potential(mw)
        check_gala_potential(mw, gpot)
        gala_dts = [1.0, 0.5] if args.quick else [1.0, 0.5, 0.4, 0.3, 0.25]
        if args.gala_dt:
            gala_dts = [float(v) for v in args.gala_dt.split(",")]
        for dt in gala_dts:
            w, wall = run_gala(gpot, w0, args.t_end, "leapfrog", dt=dt)
            n_steps = int(np.ceil(args.t_end / dt * (1 - 1e-9)))
            record("gala", "leapfrog", f"dt={dt:g}", args.n, wall, 0.0, n_steps, 1, summarise(mw, w0, w, ref, e0))
        for rtol in ([] if args.quick else [1e-8]):
            ws = w0[:n_slow]
            w, wall = run_gala(gpot, ws, args.t_end, "dop853", rtol=rtol)
            record("gala", "DOPRI853 (shared step)", f"rtol={rtol:g}", len(ws), wall, 0.0, np.nan, 12,
                   summarise(mw, ws, w, ref, e0[: len(ws)]))

    # AGAMA: the same Milky Way from AGAMA components (NFW, three Miyamoto-Nagai, Spheroid
    # bulge; checked against jaxgal's before any timing), its dop853 and dprkn8 at several
    # accuracies on --agama-threads OpenMP threads
    if not args.no_agama:
        try:
            from _agama import agama_milky_way, check_agama_potential, orbits as agama_orbits, require_agama

            require_agama()
        except ImportError as err:
            print(f"AGAMA skipped: {err}")
        else:
            apot = agama_milky_way(mw, disc="mn3")
            check_agama_potential(mw, apot, tol=1e-5, label="milky_way(1e12)")
            specs = args.agama.split(",") if args.agama else (
                ["dop853:1e-6", "dprkn8:1e-6"] if args.quick else
                ["dop853:1e-5", "dop853:1e-6", "dop853:1e-7", "dop853:1e-8", "dprkn8:1e-6", "dprkn8:5e-7", "dprkn8:3e-7", "dprkn8:1e-7", "dprkn8:1e-8"]
            )
            for spec in specs:
                method, acc = spec.split(":")
                w, wall = agama_orbits(apot, w0, args.t_end, accuracy=float(acc), method=method, threads=args.agama_threads)
                record("agama", method, f"acc={acc}", args.n, wall, 0.0, np.nan, np.nan, summarise(mw, w0, w, ref, e0),
                       threads=args.agama_threads)

    # Summary: fastest configuration reaching the accuracy target, per tool.
    def wall_at_n(r):
        return r.get("wall_s_at_n", r["wall_s"])

    ok = [r for r in records if r["median_dE"] <= TARGET_MEDIAN and r["p99_dE"] <= TARGET_P99]
    best = {}
    for r in ok:
        if r["tool"] not in best or wall_at_n(r) < wall_at_n(best[r["tool"]]):
            best[r["tool"]] = r
    print(f"\nfastest configuration with median |dE/E| <= {TARGET_MEDIAN:g} and p99 <= {TARGET_P99:g} at n = {args.n}:")
    for tool, r in best.items():
        print(f"  {tool}: {r['method']} {r['step']}: {wall_at_n(r):.2f} s")
    peers = [r for t_, r in best.items() if t_ != "jaxgal"]
    if "jaxgal" in best and peers:
        peer = min(peers, key=wall_at_n)
        ratio = wall_at_n(peer) / wall_at_n(best["jaxgal"])
        print(f"  speed ratio jaxgal / fastest peer ({peer['tool']} {peer['method']} {peer['step']}): {ratio:.1f}x")
    # Matched accuracy, per AGAMA configuration: the fastest jaxgal configuration whose
    # median and p99 |dE/E| are both at least as small.
    jg_recs = [r for r in records if r["tool"] == "jaxgal"]
    for a in [r for r in records if r["tool"] == "agama"]:
        match = [r for r in jg_recs if r["median_dE"] <= a["median_dE"] and r["p99_dE"] <= a["p99_dE"]]
        if match:
            b = min(match, key=wall_at_n)
            print(f"  AGAMA {a['method']} {a['step']} ({a['wall_s']:.2f} s, med {a['median_dE']:.1e}, p99 {a['p99_dE']:.1e}) "
                  f"vs jaxgal {b['method']} {b['step']} ({wall_at_n(b):.2f} s, med {b['median_dE']:.1e}, p99 {b['p99_dE']:.1e}): "
                  f"{a['wall_s'] / wall_at_n(b):.1f}x")
        else:
            print(f"  AGAMA {a['method']} {a['step']}: no jaxgal configuration here is as accurate")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(records, fh, indent=1)
        print(f"wrote {len(records)} records to {args.json}")


if __name__ == "__main__":
    sys.exit(main())
