"""Suite throughput: simulations per hour versus vmapped batch size and host-device count,
XLA's memory per simulation, and a projection of the 32,000-simulation suite on one H100.

    python benchmarks/suite.py [--quick] [--n 20000] [--batches 1,2,4,8] [--devices 1,2]
                               [--memory-only] [--efficiency 0.25] [--json out.json]

For every host-device count D (each in its own process: the count is fixed when JAX
starts) and every batch size b (simulations vmapped together on one device), the program
of ``jaxgal.simulation.simulate_batch`` for D × b prior draws (``vmap_size=b``, default
``SimulationConfig``) is compiled once; the script prints

- XLA's memory analysis of that program (arguments + outputs + temporaries, per device),
  its bytes per simulation (total / b) and, between batch sizes, the bytes per *extra*
  simulation ((bytes(b) − bytes(1)) / (b − 1)): what decides how many simulations a GPU
  holds at once;
- the measured wall time of one call (compile excluded) and the simulations per hour on
  this CPU, beside the load average (the machine is shared: read rates with it).

Then (the D = 1 process) a **projection of the paper's suite (32,000 simulations of
20,000 stars) on one H100 SXM** from counted work, every assumption printed:

- FLOPs and bytes of one lane step of the tracer solver (``jaxgal.integrators``, ``SimulationConfig().tracer_method`` on
  the MW + LMC force) from ``compiled.cost_analysis()`` of that step vmapped over the
  lanes (straight-line code: XLA's cost analysis counts a ``while_loop`` body once, so the
  whole program's count would be meaningless), a transcendental (exp, log, sqrt, ...)
  counted as ``--flops-per-transcendental`` FP64 FLOPs;
- Σ steps per simulation measured on the first prior draws (the public stages
  ``initial_halo`` … ``evolve_tracers``), scaled linearly to 20,000 stars;
- the front stages (DF build and sample, LMC orbit) added in proportion to their CPU
  time against the tracer stage measured here;
- the H100 SXM's 34 TFLOP/s FP64 without tensor cores (67 with them, which only matrix
  products use: none here), 3.35 TB/s HBM3, 80 GB (80 % usable), an efficiency
  ``--efficiency`` of the peak for both, and a fixed cost per ``while_loop`` iteration
  (``--iteration-overhead-us``, kernel launches and the loop condition's device→host copy).

``--memory-only`` skips the timing and the projection (memory analysis at ``--n``, which
can be the full 20,000 stars without running them). ``--quick``: 2,000 stars, batches 1, 2,
4, devices 1 and 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
N_SUITE = 32_000
N_PAPER = 20_000
H100 = dict(fp64_vector_tflops=34.0, fp64_tensor_tflops=67.0, hbm_tb_s=3.35, memory_gb=80.0, usable=0.8)


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=None, help="stars per simulation (default 20000; --quick 2000)")
    p.add_argument("--batches", default=None, help="vmapped simulations per device (default 1,2,4,8; --quick 1,2,4)")
    p.add_argument("--devices", default="1,2", help="host-device counts, comma-separated (default 1,2)")
    p.add_argument("--quick", action="store_true", help="2,000 stars, batches 1,2,4")
    p.add_argument("--memory-only", action="store_true", help="memory analysis only (no runs, no projection)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--efficiency", type=float, default=0.25, help="fraction of the H100's peak reached (default 0.25)")
    p.add_argument("--flops-per-transcendental", type=float, default=20.0)
    p.add_argument("--iteration-overhead-us", type=float, default=50.0)
    p.add_argument("--steps-per-star", type=float, default=None,
                   help="skip measuring Σ tracer steps: use this many steps per star (and --front-ratio)")
    p.add_argument("--front-ratio", type=float, default=None,
                   help="with --steps-per-star: front stages' work relative to the tracers'")
    p.add_argument("--memory-mb", default=None,
                   help="PER,FIXED: MB per simulation and fixed at 20,000 stars for the projection when no "
                        "batch is compiled in this run (--batches 0; e.g. from a --memory-only run)")
    p.add_argument("--json", default=None, help="write all records to this file")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.n = a.n or (2_000 if a.quick else N_PAPER)
    a.batches = [int(b) for b in (a.batches or ("1,2,4" if a.quick else "1,2,4,8")).split(",") if b not in ("", "0")]
    if a.steps_per_star is not None and a.front_ratio is None:
        p.error("--steps-per-star needs --front-ratio")
    a.devices = [int(d) for d in a.devices.split(",")]
    return a


def _load():
    return os.getloadavg()[0]


# ---------------------------------------------------------------------------------------
# the worker: one process per host-device count
# ---------------------------------------------------------------------------------------
def worker(a) -> list[dict]:
    sys.path.insert(0, ROOT)
    from jaxgal._hostdevices import set_host_device_count

    set_host_device_count(a.worker)
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from jaxgal import simulation as S
    from jaxgal.simulation._simulate import _simulate_batch

    n_dev = a.worker
    devices = tuple(jax.devices()[:n_dev])
    model, config = S.SimulationModel(), S.SimulationConfig()
    n_max = n_dev * max(a.batches + [1])
    thetas = jnp.asarray(S.sample_prior(jax.random.PRNGKey(a.seed), n_max))
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(a.seed + 1), i))(jnp.arange(n_max))
    records = []
    for b in a.batches:
        m = n_dev * b
        th, ks = S.as_theta(thetas[:m]), keys[:m]
        f = jax.jit(lambda t, k, b=b: _simulate_batch(t, k, a.n, model, config, b, devices))
        tic = time.perf_counter()
        compiled = f.lower(th, ks).compile()
        compile_s = time.perf_counter() - tic
        ma = compiled.memory_analysis()
        rec = dict(devices=n_dev, batch=b, n=a.n, sims=m, compile_s=compile_s,
                   arg_bytes=int(ma.argument_size_in_bytes), out_bytes=int(ma.output_size_in_bytes),
                   temp_bytes=int(ma.temp_size_in_bytes))
        rec["bytes"] = rec["arg_bytes"] + rec["out_bytes"] + rec["temp_bytes"]
        if not a.memory_only:
            load0 = _load()
            tic = time.perf_counter()
            out = jax.block_until_ready(compiled(th, ks))
            wall = time.perf_counter() - tic
            rec.update(wall_s=wall, sims_per_hour=m / wall * 3600, load=(load0, _load()),
                       max_tracer_steps=int(np.max(np.asarray(out.derived["max_tracer_steps"]))),
                       finite=bool(np.all(np.isfinite(np.asarray(out.particles)))))
        print("RECORD " + json.dumps(rec), flush=True)
        records.append(rec)
    if n_dev == 1 and not a.memory_only:
        rec = cost_per_simulation(a, thetas, keys, model, config)
        print("COST " + json.dumps(rec), flush=True)
        records.append(rec)
    return records


def cost_per_simulation(a, thetas, keys, model, config) -> dict:
    """FLOPs and bytes of one lane step (cost analysis), Σ steps per simulation and the
    front/tracer CPU-time ratio (measured on up to 4 prior draws, one device)."""
    import jax
    import jax.numpy as jnp

    from jaxgal import simulation as S
    from jaxgal.integrators._rk import TABLEAUX, _lane_rk_step, _lane_rkn_step
    from jaxgal.integrators._terms import as_force_term
    from jaxgal.satellites import SatelliteInHostFrame
    from jaxgal.simulation._simulate import _front

    dev = (jax.devices()[0],)
    front = jax.jit(lambda t, k: _front(t, k, a.n, model, config))

    def tracers(t, fr):
        orbit, _, w0, rtol, budgets = fr
        return S.evolve_tracers(S.build_models(t), orbit, w0, rtol, model, config, dev, max_steps=budgets)[1]

    tracers = jax.jit(tracers)
    k = 0 if a.steps_per_star is not None else min(4, thetas.shape[0])
    steps, t_front, t_tr = [], 0.0, 0.0
    if k == 0:
        steps = [a.steps_per_star * a.n]
        t_front, t_tr = a.front_ratio, 1.0
    for i in range(k):
        th = S.as_theta(thetas[i])
        fr = jax.block_until_ready(front(th, keys[i]))  # (compiles on the first draw)
        ns = jax.block_until_ready(tracers(th, fr))
        if i == 0:
            continue
        tic = time.perf_counter()
        fr = jax.block_until_ready(front(th, keys[i]))
        t_front += time.perf_counter() - tic
        tic = time.perf_counter()
        ns = jax.block_until_ready(tracers(th, fr))
        t_tr += time.perf_counter() - tic
        steps.append(int(np.sum(np.asarray(ns))))
    # one lane step of the tracer method, vmapped over the lanes, on the fiducial MW + LMC force
    th = S.as_theta(thetas[0])
    models = S.build_models(th)
    orbit = jax.jit(lambda t: S.lmc_orbit(S.build_models(t), t, S.present_day_lmc(t, model), model, config)[0])(th)
    term = as_force_term(models.mw, (SatelliteInHostFrame(models.lmc, orbit),))
    lanes = 1024
    tab = TABLEAUX[config.tracer_method]
    y = jnp.ones((lanes, 6)) * jnp.asarray([20.0, 5.0, 3.0, 0.1, 0.05, 0.02])
    controls = (jnp.asarray(1e-7), jnp.asarray(1e-10), jnp.asarray(0.9), jnp.asarray(1.0))
    if tab.get("kind") == "rkn":  # the Nyström pair's lanes hold x, v and a apart
        def one(y_, k_, t_, h_):
            return _lane_rkn_step(term, tab, None, *controls, y_[:3], y_[3:], k_[3:], t_, h_, jnp.asarray(1.0), jnp.asarray(0.0))
    else:
        def one(y_, k_, t_, h_):
            return _lane_rk_step(term, tab, None, *controls, y_, k_, t_, h_, jnp.asarray(1.0), jnp.asarray(0.0))
    step = jax.jit(jax.vmap(one))
    ca = step.lower(y, y, jnp.full((lanes,), -2200.0), jnp.full((lanes,), 0.5)).compile().cost_analysis()
    ca = ca[0] if isinstance(ca, list) else ca
    return dict(
        kind="cost", n=a.n, draws=len(steps) if k else 0, steps_per_sim=steps, front_s=t_front / max(1, len(steps)),
        tracers_s=t_tr / max(1, len(steps)), load=_load(), lanes=lanes,
        flops_per_lane_step=float(ca.get("flops", 0.0)) / lanes,
        transcendentals_per_lane_step=float(ca.get("transcendentals", 0.0)) / lanes,
        bytes_per_lane_step=float(ca.get("bytes accessed", 0.0)) / lanes,
        tableau=config.tracer_method,
    )


# ---------------------------------------------------------------------------------------
# the parent: one worker per device count, the table, the projection
# ---------------------------------------------------------------------------------------
def run_worker(a, n_dev) -> list[dict]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(n_dev), "--n", str(a.n),
           "--batches", ",".join(map(str, a.batches)) or "0", "--seed", str(a.seed)]
    if a.steps_per_star is not None:
        cmd += ["--steps-per-star", str(a.steps_per_star), "--front-ratio", str(a.front_ratio)]
    if a.memory_only:
        cmd.append("--memory-only")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    out = []
    for line in proc.stdout:
        if line.startswith(("RECORD ", "COST ")):
            rec = json.loads(line.split(" ", 1)[1])
            out.append(rec)
            print(f"  [{n_dev} device(s)] {line.strip()}", flush=True)
    if proc.wait() != 0:
        raise RuntimeError(f"worker for {n_dev} device(s) failed (exit {proc.returncode})")
    return out


def memory_table(recs) -> list[str]:
    rows = ["| host devices | vmapped per device | stars | program bytes per device [MB] (args + out + temp) "
            "| per simulation [MB] | per extra simulation [MB] (vs the previous vmapped row) | compile [s] | wall [s] | simulations / hour "
            "| load (1-min, before → after) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    by_dev = {}
    for r in recs:
        by_dev.setdefault(r["devices"], {})[r["batch"]] = r
    for d, rs in sorted(by_dev.items()):
        prev = None
        for b, r in sorted(rs.items()):
            # from the previous vmapped row (b = 1 runs the unvectorised program)
            extra = "—" if prev is None or prev["batch"] == 1 else \
                f"{(r['bytes'] - prev['bytes']) / (b - prev['batch']) / 1e6:.1f}"
            prev = r
            wall = f"{r['wall_s']:.1f}" if "wall_s" in r else "—"
            rate = f"{r['sims_per_hour']:,.0f}" if "sims_per_hour" in r else "—"
            load = f"{r['load'][0]:.1f} → {r['load'][1]:.1f}" if "load" in r else "—"
            rows.append(
                f"| {d} | {b} | {r['n']:,} | {r['bytes'] / 1e6:.1f} ({r['arg_bytes'] / 1e6:.1f} + "
                f"{r['out_bytes'] / 1e6:.1f} + {r['temp_bytes'] / 1e6:.1f}) | {r['bytes'] / b / 1e6:.1f} | {extra} "
                f"| {r['compile_s']:.0f} | {wall} | {rate} | {load} |"
            )
    return rows


def projection(a, cost, recs) -> tuple[list[str], dict]:
    one = {r["batch"]: r for r in recs if r.get("devices") == 1 and "bytes" in r and r["batch"] > 1}
    if not one:  # only b = 1 measured: count its whole program per simulation
        one = {r["batch"]: r for r in recs if r.get("devices") == 1 and "bytes" in r}
    scale = N_PAPER / a.n  # Σ steps and bytes grow ∝ stars
    if one:
        bs = sorted(one)
        per_extra = ((one[bs[-1]]["bytes"] - one[bs[0]]["bytes"]) / (bs[-1] - bs[0])) if len(bs) > 1 else one[bs[0]]["bytes"]
        fixed = (one[bs[0]]["bytes"] - bs[0] * per_extra) * scale
        per_sim_bytes_20k = per_extra * scale
        mem_src = f"XLA CPU analysis at {a.n:,} stars, ∝ stars"
    else:
        per_mb, fixed_mb = (float(v) for v in a.memory_mb.split(","))
        per_sim_bytes_20k, fixed = per_mb * 1e6, fixed_mb * 1e6
        mem_src = "given with --memory-mb, from a --memory-only run at 20,000 stars"
    usable = H100["memory_gb"] * 1e9 * H100["usable"]
    fit = int((usable - fixed) // per_sim_bytes_20k)
    steps = float(np.mean(cost["steps_per_sim"])) * scale  # (--steps-per-star: steps_per_sim is per a.n stars)
    f_step = cost["flops_per_lane_step"] + a.flops_per_transcendental * cost["transcendentals_per_lane_step"]
    front_ratio = cost["front_s"] / cost["tracers_s"]
    flops_sim = steps * f_step * (1.0 + front_ratio)
    bytes_sim = steps * cost["bytes_per_lane_step"] * (1.0 + front_ratio)
    t_flops = N_SUITE * flops_sim / (H100["fp64_vector_tflops"] * 1e12 * a.efficiency)
    t_bytes = N_SUITE * bytes_sim / (H100["hbm_tb_s"] * 1e12 * a.efficiency)
    lanes = 1024  # the default per simulation at 20,000 stars (default_lanes)
    iters_per_batch = steps / lanes * 1.5  # + the narrow-lane tail (parked stars bound it), assumed +50 %
    n_batches = -(-N_SUITE // max(1, fit))
    t_iter = n_batches * iters_per_batch * a.iteration_overhead_us * 1e-6
    total = max(t_flops, t_bytes) + t_iter
    lines = [
        f"- Σ tracer steps per simulation: {np.mean(cost['steps_per_sim']):,.0f} at {a.n:,} stars "
        + (f"(mean of {cost['draws']} prior draws: {cost['steps_per_sim']})" if cost["draws"]
           else f"(given: {a.steps_per_star} steps per star)")
        + f" → {steps:,.0f} at 20,000 stars (∝ stars)",
        f"- one {cost['tableau']} lane step (cost analysis, {cost['lanes']} lanes vmapped): "
        f"{cost['flops_per_lane_step']:,.0f} FLOPs + {cost['transcendentals_per_lane_step']:.0f} transcendentals "
        f"× {a.flops_per_transcendental:.0f} FLOPs = {f_step:,.0f} FLOPs; {cost['bytes_per_lane_step']:,.0f} bytes accessed",
        (f"- front stages (DF + LMC orbit) / tracers CPU time here: {cost['front_s']:.2f} s / {cost['tracers_s']:.2f} s "
         f"(load {cost['load']:.1f})" if cost["draws"] else "- front stages (DF + LMC orbit): given (--front-ratio)")
        + f" → their work added as {front_ratio:.2f} × the tracers'",
        f"- per simulation: {flops_sim / 1e12:.2f} TFLOP, {bytes_sim / 1e9:.1f} GB of memory traffic; "
        f"suite of {N_SUITE:,}: {N_SUITE * flops_sim / 1e15:.0f} PFLOP, {N_SUITE * bytes_sim / 1e12:.0f} TB",
        f"- H100 SXM at {a.efficiency:.0%} of peak: compute {t_flops / 3600:.2f} h (FP64 {H100['fp64_vector_tflops']:.0f} "
        f"TFLOP/s without tensor cores), memory traffic {t_bytes / 3600:.2f} h ({H100['hbm_tb_s']} TB/s)",
        f"- memory: {per_sim_bytes_20k / 1e6:.1f} MB per extra simulation at 20,000 stars ({mem_src}), "
        f"fixed {fixed / 1e6:.0f} MB → {fit:,} simulations at once in "
        f"{H100['usable']:.0%} of {H100['memory_gb']:.0f} GB; {n_batches} batch(es)",
        f"- loop overhead: {iters_per_batch:,.0f} while-loop iterations per batch (Σ steps / {lanes} lanes, +50 % "
        f"tail) × {a.iteration_overhead_us:.0f} µs × {n_batches} batch(es) = {t_iter / 3600:.2f} h",
        f"- **projected suite on one H100: {total / 3600:.2f} h** (max(compute, memory) + loop overhead)",
    ]
    return lines, dict(steps_per_sim_20k=steps, flops_per_sim=flops_sim, bytes_per_sim=bytes_sim,
                       t_flops_h=t_flops / 3600, t_bytes_h=t_bytes / 3600, t_iter_h=t_iter / 3600,
                       per_sim_bytes_20k=per_sim_bytes_20k, gpu_batch=fit, total_h=total / 3600,
                       efficiency=a.efficiency, h100=H100)


def main(argv=None) -> int:
    a = _parse(argv)
    if a.worker is not None:
        worker(a)
        return 0
    print(f"suite benchmark: {a.n:,} stars, batches {a.batches}, host devices {a.devices}; "
          f"load {os.getloadavg()} on {os.cpu_count()} cores", flush=True)
    recs = []
    for d in a.devices:
        recs += run_worker(a, d)
    sims = [r for r in recs if "batch" in r]
    print("\n" + "\n".join(memory_table(sims)))
    out = dict(args=vars(a), records=recs)
    cost = next((r for r in recs if r.get("kind") == "cost"), None)
    if cost is not None:
        lines, proj = projection(a, cost, sims)
        print("\nProjection of the 32,000-simulation suite on one H100 SXM:\n" + "\n".join(lines))
        out["projection"] = proj
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
