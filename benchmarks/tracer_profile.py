"""Where a simulation's time goes: the tracer stage's steps over prior draws, by star.

    python benchmarks/tracer_profile.py [--devices 2] [--n 20000] [--draws 21] [--configs previous,default]

For each of ``--draws`` seeded prior draws (``sample_prior(PRNGKey(seed + 11))``, the draws
of ``benchmarks/simulation.py`` section 6): the front stages (MW, LMC orbit, DF build and
sample, per-star tolerances) in one jitted call, then the tracer stage
(``jaxgal.simulation.evolve_tracers``) under each configuration — ``previous``: no parked
stars, full-width lanes, float64 forces (the numerics before the shrinking lanes and the
parked stars), ``shrink``: shrinking lanes only (``lane_shrink=8``, as in the historical
configurations up to ``l624``); ``parked``: shrinking lanes and parked
stars within 10 kpc on 625 lanes (the default before lane widths became multiples of 8;
625 = 20,000 stars / 2 devices / 16); ``l625`` / ``l624``: the same on 625 / 624 lanes (an
odd width does not vectorise); ``default``: ``SimulationConfig()`` (shrinking lanes,
parked stars, lanes a multiple of 8); ``inner5``: the default with ``inner_rtol=1e-5`` (the
default until the third stop of 2026-11-26); ``nomiddle``: the default until 2026-11-27
(no middle tier, outer stars at rtol 1e-7); ``f32``: the default with float32 forces
(``force_dtype``); ``rkn``: the Runge–Kutta–Nyström pair
``dprkn6`` at rtol 1e-5 (inner 3e-4, parked 1e-2) — with wall and CPU
seconds (CPU time of this process: steadier than wall time on a shared machine), the total
and maximum steps per star, and the steps by the stars' monopole apocentre at −2.2 Gyr
(bands 0–5–10–15–20–30–40–∞ kpc): how many stars, their steps, the largest, and how far out
they are today. The load average is printed with every draw.

The lane engine's cost is ≈ (Σ steps / lanes + the tail) lane iterations: the slowest star
(tightly bound in the bulge's cusp) sets the length of the loop, and before the lanes
shrank every iteration of that tail cost the full lane width.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--draws", type=int, default=21)
    p.add_argument("--devices", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--configs", type=str, default="previous,shrink,default",
                   help="comma-separated: previous, shrink, parked, l625, l624, default, inner5, nomiddle, f32, rkn")
    p.add_argument("--bands", action="store_true", help="steps by apocentre band (of the first configuration)")
    return p.parse_args()


ARGS = _parse()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgal._hostdevices import set_host_device_count  # noqa: E402  (imports no JAX)

set_host_device_count(ARGS.devices)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxgal import simulation as S  # noqa: E402

CONFIGS = {
    # the historical configurations keep the shrink factor they were measured with, the
    # outer rtol of their time (1e-7) and no middle tier (both came later)
    "previous": lambda: S.SimulationConfig(park_radius=None, lane_shrink=1, middle_radius=None, tracer_rtol=1e-7),
    "shrink": lambda: S.SimulationConfig(park_radius=None, lane_shrink=8, middle_radius=None, tracer_rtol=1e-7),
    "parked": lambda: S.SimulationConfig(lanes=625, lane_shrink=8, middle_radius=None, tracer_rtol=1e-7),
    "l624": lambda: S.SimulationConfig(lanes=624, lane_shrink=8, middle_radius=None, tracer_rtol=1e-7),
    "f32": lambda: S.SimulationConfig(force_dtype=jnp.float32),
    "default": lambda: S.SimulationConfig(),
    "inner5": lambda: S.SimulationConfig(inner_rtol=1e-5, middle_radius=None, tracer_rtol=1e-7),
    "nomiddle": lambda: S.SimulationConfig(middle_radius=None, tracer_rtol=1e-7),
    "rkn": lambda: S.SimulationConfig(tracer_method="dprkn6", tracer_rtol=1e-5, inner_rtol=3e-4, park_rtol=1e-2,
                                      middle_radius=None),
}
CONFIGS["l625"] = CONFIGS["parked"]  # the same configuration, named for the lane-width comparison
BANDS = (0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, np.inf)


def main():
    args = ARGS
    n = args.n
    model = S.SimulationModel()
    devs = tuple(jax.devices())
    names = args.configs.split(",")
    cfgs = {k: CONFIGS[k]() for k in names}
    thetas = S.as_theta(S.sample_prior(jax.random.PRNGKey(args.seed + 11), args.draws))
    keys = jax.random.split(jax.random.PRNGKey(args.seed + 12), args.draws)
    base = S.SimulationConfig()

    @jax.jit
    def front(th, key):
        models = S.build_models(th)
        orbit, _ = S.lmc_orbit(models, th, S.present_day_lmc(th, model), model, base)
        df, w0 = S.initial_halo(models.mw, th, key, n, model, base)
        out = dict(models=models, orbit=orbit, w0=w0, eps=df.psi(jnp.linalg.norm(w0[:, :3], axis=1)) - 0.5 * jnp.sum(w0[:, 3:] ** 2, axis=1))
        out["psi_bands"] = df.psi(jnp.asarray([min(max(b, 1e-6), 1e9) for b in BANDS]))
        for k, c in cfgs.items():
            out["rtol_" + k] = S.tracer_tolerances(df, w0, c)
            out["budget_" + k] = S.tracer_step_budgets(df, w0, c)
        return out

    tracers = {
        k: jax.jit(lambda models, orbit, w0, rtol, budget, c=c: S.evolve_tracers(models, orbit, w0, rtol, model, c, devs, max_steps=budget))
        for k, c in cfgs.items()
    }
    load = os.getloadavg()
    print(f"n = {n}, {len(devs)} devices, configurations {names}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    rows = {k: [] for k in names}
    front_s = []
    for i in range(args.draws):
        th = jax.tree.map(lambda a: a[i], thetas)
        tic = time.perf_counter()
        f = jax.block_until_ready(front(th, keys[i]))
        front_s.append(time.perf_counter() - tic)
        line = f"draw {i:2d} front {front_s[-1]:5.2f} s"
        for k in names:
            c0, t0 = time.process_time(), time.perf_counter()
            w1, steps = jax.block_until_ready(tracers[k](f["models"], f["orbit"], f["w0"], f["rtol_" + k], f["budget_" + k]))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            st = np.asarray(steps)
            rows[k].append((wall, cpu, st.sum(), st.max()))
            if k == names[0]:
                st0, w10 = st, w1
            line += f" | {k}: wall {wall:6.2f} s CPU {cpu:6.2f} s Σsteps {st.sum() / 1e6:5.2f}M max {st.max():6d}"
        print(line + f" | load {os.getloadavg()[0]:.1f}", flush=True)
        if args.bands:
            eps, psi = np.asarray(f["eps"]), np.asarray(f["psi_bands"])
            st, r_now = st0, np.linalg.norm(np.asarray(w10)[:, :3], axis=1)  # the first configuration's
            for lo, hi, p_lo, p_hi in zip(BANDS[:-1], BANDS[1:], psi[:-1], psi[1:]):
                m = (eps <= p_lo) & (eps > p_hi)  # apocentre in [lo, hi)
                if m.any():
                    print(f"    r_apo {lo:4.0f}–{hi:4.0f} kpc: {m.sum():6d} stars, Σsteps {st[m].sum() / 1e6:5.2f}M, "
                          f"max {st[m].max():6d}, farthest today {r_now[m].max():6.1f} kpc, in 30–160 kpc today "
                          f"{np.sum(m & (r_now >= 30) & (r_now <= 160))}")
    skip = 1 if args.draws > 1 else 0  # the first draw includes compilation
    print(f"\nmean over draws {skip}–{args.draws - 1}: front {np.mean(front_s[skip:]):.2f} s")
    for k in names:
        r = np.asarray(rows[k])[skip:]
        print(f"  {k:9s}: tracers wall {r[:, 0].mean():6.2f} s, CPU {r[:, 1].mean():6.2f} s; Σsteps {r[:, 2].mean() / 1e6:5.2f}M, "
              f"max steps {r[:, 3].mean():8.0f} (largest {r[:, 3].max():.0f})")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
