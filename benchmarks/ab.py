"""Interleaved A/B timing of numerical variants, in one process (this VM's speed drifts by
±10–30 % within an hour, so variants are compared round by round, never run by run).

    python benchmarks/ab.py tracers [--n 6000] [--rounds 5] NAME=field:value,... NAME=...
    python benchmarks/ab.py orbits [--n 20000] [--devices 2] [--rounds 3] NAME=field:value,... ...

``tracers``: the tracer stage of the fiducial simulation (``simulation.evolve_tracers``:
``--n`` stars from the DF at −2.2 Gyr, the Milky Way and the LMC's tidal term, 624 lanes) on
one CPU device; fields are ``SimulationConfig`` fields (``table_cells_per_octave:None``…)
and ``disc`` (``SimulationModel(disc=…)``; each variant draws its stars from its own Milky
Way). Printed per round: the process's CPU seconds per step, best of 3 calls.

``orbits``: ``orbits.py``'s 20,000 halo orbits (radii 5–200 kpc, seed 42) for 2.2 Gyr in
``milky_way(1e12)`` on ``--devices`` host devices; fields ``method`` (``dopri5``), ``rtol``
(1e-7), ``lanes`` (256), ``disc`` (``mn3``) and ``table`` (1: ``tabulate_spherical``, 0: the
components' own forces). Printed per round: wall milliseconds, best of 3 calls.

An empty variant (``NAME=``) is the default.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("tracers", "orbits"))
    p.add_argument("variants", nargs="+", help="NAME=field:value,...")
    p.add_argument("--n", type=int, default=None, help="stars (tracers, 6000) or orbits (20000)")
    p.add_argument("--rounds", type=int, default=None, help="alternating rounds (tracers 5, orbits 3)")
    p.add_argument("--devices", type=int, default=2, help="host devices (orbits; tracers use one)")
    return p.parse_args()


ARGS = _parse()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgal._hostdevices import set_host_device_count  # noqa: E402  (imports no JAX)

set_host_device_count(1 if ARGS.mode == "tracers" else ARGS.devices)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)

from jaxgal import simulation as S  # noqa: E402
from jaxgal.integrators import ErrorControlledRK, integrate_orbits  # noqa: E402
from jaxgal.potentials import milky_way, tabulate_spherical  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _tracers import halo_orbits  # noqa: E402


def _value(v: str):
    if v == "None":
        return None
    try:
        return int(v) if v.lstrip("-").isdigit() else float(v)
    except ValueError:
        return v


def parse_variant(spec: str) -> tuple[str, dict]:
    if "=" not in spec:
        raise SystemExit(f"a variant is NAME=field:value,...; got {spec!r}")
    name, body = spec.split("=", 1)
    return name, {k: _value(v) for k, _, v in (item.partition(":") for item in body.split(",") if item)}


def tracer_runs(variants, n):
    th = S.as_theta(S.FIDUCIAL_THETA)
    runs = {}
    for name, fields in variants:
        fields = dict(fields)
        model = S.SimulationModel(disc=fields.pop("disc", "mn3"))
        cfg = S.SimulationConfig(**dict(dict(lanes=624), **fields))
        models = S.build_models(th, model)
        orbit, _ = S.lmc_orbit(models, th, S.present_day_lmc(th, model), model, cfg)
        df, w0 = S.initial_halo(models.mw, th, jax.random.PRNGKey(1), n, model, cfg)
        rtol, budgets = S.tracer_tolerances(df, w0, cfg), S.tracer_step_budgets(df, w0, cfg)
        devices = tuple(jax.devices())

        def stage(w, models=models, orbit=orbit, rtol=rtol, budgets=budgets, model=model, cfg=cfg):
            return S.evolve_tracers(models, orbit, w, rtol, model, cfg, devices, budgets)

        runs[name] = (jax.jit(stage), w0)
    return runs


def orbit_runs(variants, n):
    w0 = jnp.asarray(halo_orbits(milky_way(1e12), n, 42))
    runs = {}
    for name, fields in variants:
        f = dict(dict(method="dopri5", rtol=1e-7, lanes=256, disc="mn3", table=1), **fields)
        mw = milky_way(1e12, disc=f["disc"])
        pot = tabulate_spherical(mw) if f["table"] else mw
        solver = ErrorControlledRK(f["method"], rtol=f["rtol"], lanes=f["lanes"])

        def run(w, pot=pot, solver=solver):
            res = integrate_orbits(pot, w, 0.0, 2200.0, solver=solver)
            return res.w, res.n_steps

        runs[name] = (jax.jit(run), w0)
    return runs


def main():
    variants = [parse_variant(v) for v in ARGS.variants]
    tracers = ARGS.mode == "tracers"
    n = ARGS.n or (6000 if tracers else 20_000)
    rounds = ARGS.rounds or (5 if tracers else 3)
    runs = (tracer_runs if tracers else orbit_runs)(variants, n)
    steps = {k: int(jax.block_until_ready(fn(w0))[1].sum()) for k, (fn, w0) in runs.items()}
    clock = time.process_time if tracers else time.perf_counter
    times = {k: [] for k in runs}
    print(f"{ARGS.mode}: n = {n}, {len(jax.devices())} device(s), load {os.getloadavg()[0]:.2f}", flush=True)
    for _ in range(rounds):
        for k, (fn, w0) in runs.items():
            best = np.inf
            for _ in range(3):
                t0 = clock()
                jax.block_until_ready(fn(w0))
                best = min(best, clock() - t0)
            times[k].append(best)
    for k, ts in times.items():
        if tracers:
            vals = [t / steps[k] * 1e9 for t in ts]
            print(f"{k:16s} {steps[k]:9d} steps  CPU ns per step: " + " ".join(f"{v:.0f}" for v in vals) + f"  mean {np.mean(vals):.0f}")
        else:
            print(f"{k:16s} {steps[k]:9d} steps  wall ms: " + " ".join(f"{t * 1e3:.0f}" for t in ts) + f"  mean {np.mean(ts) * 1e3:.0f}")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
