"""What one step of the tracer integrator costs, and its pieces, on this CPU.

    python benchmarks/step_cost.py [--devices 2] [--n 20000]

1. **Per step**: the fiducial simulation's tracers (20,000 stars from the DF at −2.2 Gyr, the
   Milky Way plus the LMC's tidal term on jaxgal's two-body orbit) through
   ``simulation.evolve_tracers``, the tracer stage exactly as ``simulate`` runs it (its
   tracer method on lanes, the per-star tolerances, the parked stars' step budgets, ``lanes`` and
   ``lane_shrink`` of ``SimulationConfig()``): CPU seconds of this process (both device
   threads) over the total steps, best of 3 — ns of CPU per step. (Until the fourth
   stop of issue 11 it ran its own solver, with three lane phases and no budgets: a change
   of the bulge's force measured −5 % there, −1 % in this program and +5 to +25 % in
   ``simulation.py --draws``.)
2. **Per force evaluation**: each term vmapped over 624 lanes inside a ``fori_loop`` of
   2,000 calls (ns per evaluation), including the generic spherical form of the Hernquist
   force (``AbstractSphericalPotential._gradient``) beside Hernquist's own, and the LMC's
   tidal term with r(t) read at one fixed time for every lane (no per-lane row of the
   orbit's Hermite table: the difference to the full term is the cost of that lookup).
3. **Per element**: XLA:CPU's float64 ``pow``, ``log``, ``exp``, ``sqrt``, ``rsqrt`` and
   float32 ``log`` on 624-element vectors in a ``fori_loop`` (ns per element).

Single runs on a shared VM drift by ±10 % over minutes: compare code versions by running
this script from both checkouts alternately (``benchmarks/README.md``, "Fewer kernels").
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=2)
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--only-steps", action="store_true", help="section 1 only (for A/B runs of two checkouts)")
    return p.parse_args()


ARGS = _parse()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgal._hostdevices import set_host_device_count  # noqa: E402  (imports no JAX)

set_host_device_count(ARGS.devices)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

from jaxgal import simulation as S  # noqa: E402
from jaxgal.integrators._terms import as_force_term  # noqa: E402
from jaxgal.potentials import AbstractSphericalPotential  # noqa: E402
from jaxgal.satellites import SatelliteInHostFrame  # noqa: E402

from _tracers import fiducial_tracers  # noqa: E402  (benchmarks/, the script's folder)

LANES, CALLS = 624, 2000


def _best(f, *args, repeats=5, clock=time.perf_counter):
    jax.block_until_ready(f(*args))
    best = np.inf
    for _ in range(repeats):
        t0 = clock()
        out = jax.block_until_ready(f(*args))
        best = min(best, clock() - t0)
    return best, out


def main():
    base = S.SimulationConfig()
    f = fiducial_tracers(ARGS.n, base)
    model, models, orbit, w0, rtol, budgets = f.model, f.models, f.orbit, f.w0, f.rtol, f.budgets
    tidal = SatelliteInHostFrame(models.lmc, orbit)

    # the tracer stage exactly as simulate runs it (evolve_tracers: the config's lanes,
    # lane_shrink and parked-star budgets)
    run = jax.jit(lambda w: S.evolve_tracers(models, orbit, w, rtol, model, base, tuple(jax.devices()), budgets))
    cpu, (_, n_steps) = _best(run, w0, repeats=3, clock=time.process_time)
    steps = int(np.asarray(n_steps).sum())
    print(f"1. tracers of the fiducial simulation, {ARGS.n} stars, {len(jax.devices())} devices: CPU {cpu:.3f} s, "
          f"{steps / 1e6:.2f} M steps, {cpu / steps * 1e9:.0f} ns of CPU per step of {S.SimulationConfig().tracer_method}")
    if ARGS.only_steps:
        return

    x, v = w0[:LANES, :3], w0[:LANES, 3:] * 1e-3
    lmc = models.lmc
    forces = {
        "Milky Way": as_force_term(models.mw, ()).acceleration,
        "LMC tidal term": tidal.acceleration,
        "LMC tidal term, r(t) at one fixed time": lambda t, xx, vv, a: tidal.acceleration(-1000.0, xx, vv, a),
        "both": as_force_term(models.mw, (tidal,)).acceleration,
        "Hernquist (LMC), its own form": lambda t, xx, vv, a: lmc._gradient(xx, t),
        "Hernquist (LMC), generic spherical form": lambda t, xx, vv, a: AbstractSphericalPotential._gradient(lmc, xx, t),
    }
    print(f"2. per force evaluation, vmapped over {LANES} lanes, {CALLS} calls in a fori_loop:")
    for name, acc in forces.items():
        @jax.jit
        def loop(x, v, acc=acc):
            def body(i, total):
                t = -2000.0 + i * 0.5 + jnp.arange(LANES) * 1e-3
                return total + jax.vmap(lambda tt, xx, vv: acc(tt, xx, vv, None))(t, x + 1e-9 * total, v)
            return jax.lax.fori_loop(0, CALLS, body, jnp.zeros_like(x))
        wall, _ = _best(loop, x, v)
        print(f"   {name:42s} {wall / CALLS / LANES * 1e9:6.1f} ns")

    ops = {"pow x^-0.14": lambda e: e ** (-0.14), "log": jnp.log, "exp": jnp.exp, "sqrt": jnp.sqrt, "rsqrt": jax.lax.rsqrt}
    print(f"3. per element, {LANES}-element vectors, {5 * CALLS // 2} calls in a fori_loop:")
    grid = jnp.linspace(0.01, 3.0, LANES)
    for dtype in (jnp.float64, jnp.float32):
        for name, op in ops.items():
            if dtype == jnp.float32 and name != "log":
                continue
            @jax.jit
            def loop(g, op=op):
                return jax.lax.fori_loop(0, 5 * CALLS // 2, lambda i, a: a + op(g + a * 1e-12), jnp.zeros_like(g))
            wall, _ = _best(loop, grid.astype(dtype))
            print(f"   {name:12s} {jnp.dtype(dtype).name}: {wall / (5 * CALLS // 2) / LANES * 1e9:5.2f} ns")


if __name__ == "__main__":
    main()
