"""MW–LMC simulation benchmark: one `jaxgal.simulation.simulate`, a vmapped batch, memory,
the convergence of the 52 summaries with the integrator settings, and gala as the peer.

    python benchmarks/simulation.py [--devices 2] [--n 20000] [--batch 16] [--json out.json]
                                    [--quick] [--repeats 2] [--no-gala] [--no-convergence]

Sections (all in one run, seeded):

1. **One simulation** at the fiducial θ (``jaxgal.simulation.FIDUCIAL_THETA``): compile time
   (first call − steady call) and steady wall time, split into its stages (DF build +
   sampling, two-body orbit, tracer integration) each jitted on its own — the public stage
   functions of ``jaxgal.simulation`` that ``simulate`` itself calls.
2. **Batch**: ``simulate_batch`` of ``--batch`` prior draws (split over the devices, each
   device mapping over its share), wall time and simulations per hour on this machine.
3. **Memory**: XLA's compiled memory analysis (arguments + outputs + temporaries) of the
   one-simulation program and of the vmapped batch program of ``simulate_batch``
   (``simulation_bytes``: batches of 2 and 4), the per-simulation increment, the
   process's peak RSS, and the batch that would fit an 80 GB GPU (80 % of it usable, the
   per-simulation bytes from the CPU program — an estimate: GPU programs fuse differently).
4. **Convergence**: the 52 summaries (``jaxgal.observables.summaries``) of the same halo
   (same key) under different tracer tolerances/steps, orbit steps and precisions, as the
   largest |Δ| [km/s] against a converged reference (dopri8, rtol 1e-10 for every star, orbit
   rk4 at 0.25 Myr), next to the median Poisson error of the summaries (what a simulation
   can resolve anyway).
6. **Prior draws** (``--draws K``): K seeded prior draws, each simulated with the default
   configuration (parked stars, shrinking lanes), without parked stars
   (``park_radius=None``) and with the previous tracer numerics (neither) in turn (same load), seconds per simulation (compile excluded; ``simulate`` and the 52 summaries of its
   stars; ``--no-check``: only these times), then every one of the 52
   summaries against a converged reference of the same stars (``reference_config``:
   dopri8 at rtol 1e-10 for every star), in units of its Poisson error (s/√N for a mean,
   s/√(2N) for a dispersion); the criterion is ≤ 0.2 for every summary and draw.
   ``--ref-cache DIR`` keeps the references.
5. **gala** (the peer; AGAMA is reported as unavailable where ``import agama`` fails): the
   same initial stars integrated by gala's C leapfrog in the inertial frame with gala's
   ``TimeInterpolatedPotential`` carrying the MW and LMC along jaxgal's two-body orbit —
   the tracer stage of the same simulation — at dt = 0.4 Myr (0.5 with ``--quick``) on
   ``--gala-n`` stars (2,000), its wall time extrapolated linearly to n, the ratio to
   jaxgal's tracer stage, and its median position error at 30–160 kpc against the reference.
7. **AGAMA's per-simulation pipeline** where ``import agama`` works (``--no-agama``: skip):
   ``benchmarks/agama_pipeline.py`` run after the sections above with the same ``--n`` and
   devices (``--agama-threads`` OpenMP threads, 2): AGAMA's DF sample, LMC orbit and tracer
   orbits in the moving potential beside jaxgal's ``simulate`` at the fiducial θ, measured
   in that process one after the other; its records go under ``"agama_pipeline"``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=20_000, help="stars per simulation (default 20000)")
    p.add_argument("--batch", type=int, default=16, help="simulations in the vmapped batch (default 16)")
    p.add_argument("--devices", type=int, default=None, help="host CPU devices (default: JAX's default, 1)")
    p.add_argument("--repeats", type=int, default=2, help="steady-state calls per timing (minimum kept)")
    p.add_argument("--json", type=str, default=None, help="write the records to this JSON file")
    p.add_argument("--quick", action="store_true", help="n = 4000, batch 4, fewer convergence settings")
    p.add_argument("--no-gala", action="store_true")
    p.add_argument("--no-convergence", action="store_true")
    p.add_argument("--no-batch", action="store_true")
    p.add_argument("--no-agama", action="store_true", help="skip section 7 (AGAMA's pipeline)")
    p.add_argument("--agama-threads", type=int, default=2, help="AGAMA's OpenMP threads in section 7 (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gala-n", type=int, default=2000, help="stars gala integrates (wall extrapolated to --n)")
    p.add_argument("--draws", type=int, default=0,
                   help="section 6: this many prior draws, default vs the previous configuration, and the "
                        "summary-accuracy check against converged references (0: skip)")
    p.add_argument("--draws-n", type=int, default=None, help="stars per simulation in section 6 (default --n)")
    p.add_argument("--draws-only", action="store_true", help="run only section 6")
    p.add_argument("--ref-cache", type=str, default=None,
                   help="directory caching section 6's converged references (reused when present)")
    p.add_argument("--no-baseline", action="store_true", help="section 6 without the previous configuration")
    p.add_argument("--no-check", action="store_true",
                   help="section 6 times the simulations (and their 52 summaries) only: no converged references")
    p.add_argument("--no-unparked", action="store_true", help="section 6 without the unparked configuration")
    p.add_argument("--compare", action="append", default=[], metavar="NAME=FIELD:VALUE,...",
                   help="section 6: one more SimulationConfig to time and check, e.g. "
                        "'loose=tracer_rtol:1e-6,park_radius:20,force_dtype:float32' (repeatable)")
    return p.parse_args()


ARGS = _parse()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from jaxgal._hostdevices import set_host_device_count  # noqa: E402  (imports no JAX)

set_host_device_count(ARGS.devices)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxgal as jg  # noqa: E402
import jaxgal.observables  # noqa: E402,F401
from jaxgal import simulation as S  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _block(tree):
    return jax.tree.map(lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, tree)


def timed(fn, repeats):
    """(first-call seconds, best steady seconds, result)."""
    tic = time.perf_counter()
    out = _block(fn())
    first = time.perf_counter() - tic
    best = np.inf
    for _ in range(repeats):
        tic = time.perf_counter()
        out = _block(fn())
        best = min(best, time.perf_counter() - tic)
    return first, best, out


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def compiled_bytes(fn, *args):
    """Arguments + outputs + temporaries of the compiled program, in bytes (None if XLA
    does not report them)."""
    try:
        ma = jax.jit(fn).lower(*args).compile().memory_analysis()
        return int(ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes)
    except Exception as err:  # pragma: no cover - backend dependent
        print(f"  (memory analysis unavailable: {err})")
        return None


# ---------------------------------------------------------------------------------------
# stages of one simulation, each jitted on its own (for the breakdown)
# ---------------------------------------------------------------------------------------
def stage_functions(theta, n, model, config):
    """The stages of ``jaxgal.simulation`` (the same public functions ``simulate`` calls),
    each jitted on its own: models, DF build + sampling (+ per-star tolerances), orbit,
    tracers."""
    th = S.as_theta(theta)
    devices = tuple(jax.devices())
    models = jax.jit(S.build_models)(th)

    @jax.jit
    def df_stage(key):
        df, w0 = S.initial_halo(models.mw, th, key, n, model, config)
        return w0, S.tracer_tolerances(df, w0, config)

    w_lmc = S.present_day_lmc(th, model)

    @jax.jit
    def orbit_stage(m_lmc):
        th_ = th._replace(m_lmc=m_lmc)
        return S.lmc_orbit(S.build_models(th_), th_, w_lmc, model, config)[0]

    def tracer_stage(w0, rtol, orbit):
        return S.evolve_tracers(models, orbit, w0, rtol, model, config, devices)[0]

    return models.mw, models.lmc, df_stage, orbit_stage, tracer_stage


#: The tracer numerics before the parked stars, the shrinking lanes and the middle tier
#: (section 6's peer).
def baseline_config():
    return S.SimulationConfig(park_radius=None, lane_shrink=1, middle_radius=None, tracer_rtol=1e-7)


#: The converged reference of section 6 (and of section 4): dopri8 at rtol 1e-10 for every
#: star, no parked stars, float64 forces (the bulge's series too), the MW–LMC orbit by RK4 at 0.25 Myr.
def reference_config():
    return S.SimulationConfig(
        tracer_method="dopri8", tracer_rtol=1e-10, inner_rtol=1e-10, middle_radius=None, park_radius=None, orbit_dt=0.25, force_dtype=None,
        bulge_dtype=None, table_cells_per_octave=None,
    )


def parse_config_spec(spec: str):
    """``"NAME=field:value,field:value"`` → (NAME, SimulationConfig keywords); values are
    numbers, ``None``, ``float32``/``float64`` (``force_dtype``) or words (methods)."""
    if "=" not in spec:
        raise SystemExit(f"--compare: expected NAME=field:value,...; got {spec!r}")
    name, body = spec.split("=", 1)
    fields = {}
    for item in filter(None, body.split(",")):
        key, _, val = item.partition(":")
        if val == "None":
            fields[key] = None
        elif val in ("float32", "float64"):
            fields[key] = getattr(jnp, val)
        else:
            try:
                fields[key] = int(val) if val.lstrip("-").isdigit() else float(val)
            except ValueError:
                fields[key] = val
    return name, fields


def poisson_units(particles_a, particles_ref):
    """|Δ summary| of ``particles_a`` against ``particles_ref`` in units of the reference's
    Poisson errors (``jaxgal.observables.poisson_deviation``): (52,), NaN where flagged."""
    sa = jg.observables.summaries(jnp.asarray(particles_a))
    sr = jg.observables.summaries(jnp.asarray(particles_ref))
    return np.asarray(jg.observables.poisson_deviation(sa, sr))


def agama_section(args, n, n_devices, records):
    """Section 7: ``agama_pipeline.py`` in a subprocess (it sets its own host devices and
    AGAMA's threads), its output shown as it runs and its JSON records kept. Called only
    where ``import agama`` works (``main`` checks once)."""
    import subprocess
    import tempfile

    print(f"\n7. AGAMA's per-simulation pipeline (benchmarks/agama_pipeline.py, {n_devices} devices, "
          f"{args.agama_threads} AGAMA threads)", flush=True)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agama_pipeline.py")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "agama_pipeline.json")
        subprocess.run([sys.executable, script, "--n", str(n), "--devices", str(n_devices),
                        "--threads", str(args.agama_threads), "--seed", str(args.seed), "--json", out], check=True)
        with open(out) as fh:
            records["agama_pipeline"] = json.load(fh)


def prior_draws_section(args, records):
    """Section 6: seconds per simulation over prior draws, default vs the previous tracer
    numerics in the same run, and every summary against a converged reference."""
    n = args.draws_n or args.n
    k = args.draws
    thetas = S.as_theta(S.sample_prior(jax.random.PRNGKey(args.seed + 11), k))
    keys = jax.random.split(jax.random.PRNGKey(args.seed + 12), k)
    configs = {"default": S.SimulationConfig()}
    if not args.no_unparked:
        configs["unparked (park_radius None)"] = S.SimulationConfig(park_radius=None)
    if not args.no_baseline:
        configs["previous (no parking, full-width lanes)"] = baseline_config()
    for spec in args.compare:
        name, fields = parse_config_spec(spec)
        configs[name] = S.SimulationConfig(**fields)
    load0 = os.getloadavg()
    print(f"\n6. {k} prior draws, n = {n}: seconds per simulation (compile excluded) and the summaries "
          f"against converged references; load average {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}")
    one = lambda i: jax.tree.map(lambda a: a[i], thetas)  # noqa: E731
    times = {c: [] for c in configs}
    parts = {c: [] for c in configs}
    derived = []
    for c, cfg in configs.items():
        tic = time.perf_counter()
        first = _block(S.simulate(one(0), keys[0], n, config=cfg).particles)
        print(f"  {c}: first call (compile + run) {time.perf_counter() - tic:.1f} s", flush=True)
    summaries = jax.jit(jg.observables.summaries)
    _block(summaries(first))  # compile the summaries (same shapes for every configuration)
    for i in range(k):
        # interleaved: both configurations see the same machine load
        for c, cfg in configs.items():
            tic = time.perf_counter()
            res = S.simulate(one(i), keys[i], n, config=cfg)
            _block(summaries(res.particles))  # the whole simulation: stars to the 52 summaries
            p = np.asarray(_block(res.particles))
            times[c].append(time.perf_counter() - tic)
            parts[c].append(p)
            if c == "default":
                derived.append({kk: float(v) for kk, v in res.derived.items()})
        print(f"  draw {i:2d}: " + ", ".join(f"{c.split(' ')[0]} {times[c][-1]:6.2f} s" for c in configs)
              + f"; max steps {int(derived[-1]['max_tracer_steps'])}, parked {int(derived[-1].get('n_parked', 0))} "
              f"(stopped {int(derived[-1].get('n_parked_stopped', 0))}); load {os.getloadavg()[0]:.1f}", flush=True)
    for c in configs:
        t = np.asarray(times[c])
        print(f"  {c}: mean {t.mean():.2f} s per simulation (median {np.median(t):.2f}, max {t.max():.2f})")
    if len(configs) > 1:
        tot = {c: np.asarray(times[c]).sum() for c in configs}
        print("  relative to default (same run, interleaved): " + ", ".join(f"{c} {tot[c] / tot['default']:.3f}" for c in configs))
    rec = dict(n=n, draws=k, load_before=load0, seconds={c: list(map(float, t)) for c, t in times.items()}, derived=derived)
    if args.no_check:
        rec["load_after"] = os.getloadavg()
        records["prior_draws"] = rec
        return
    # accuracy: converged references of the same stars
    ref_cfg = reference_config()
    worst = []

    # the widest parking radius among the configurations
    radii = [c.park_radius for c in configs.values() if c.park_radius is not None]
    park_cfg = S.SimulationConfig(park_radius=max(radii) if radii else None)

    @jax.jit
    def parked_of(th_i, key_i):
        df, w0 = S.initial_halo(S.build_models(th_i).mw, th_i, key_i, n, S.SimulationModel(), S.SimulationConfig())
        return S.parked_stars(df, w0, park_cfg)

    tic = time.perf_counter()
    for i in range(k):
        path = None if args.ref_cache is None else os.path.join(args.ref_cache, f"ref_seed{args.seed}_n{n}_draw{i}.npy")
        if path and os.path.exists(path):
            ref = np.load(path)
        else:
            ref = np.asarray(_block(S.simulate(one(i), keys[i], n, config=ref_cfg).particles))
            if path:
                os.makedirs(args.ref_cache, exist_ok=True)
                np.save(path, ref)
        row = {c: float(np.nanmax(poisson_units(parts[c][i], ref))) for c in configs}
        # where the parked stars end in the converged reference
        parked = np.asarray(parked_of(one(i), keys[i]))
        r_ref = np.linalg.norm(ref[:, :3], axis=1)
        row["parked_max_r_ref_kpc"] = float(r_ref[parked].max()) if parked.any() else 0.0
        row["parked_in_summary_volume"] = int(np.sum(parked & (r_ref >= 30.0) & (r_ref <= 160.0)))
        worst.append(row)
        print(f"  draw {i:2d}: max |Δ summary| / Poisson error: " + ", ".join(f"{c.split(' ')[0]} {row[c]:.3f}" for c in configs)
              + f"; parked stars {int(parked.sum())}, farthest today (reference) {row['parked_max_r_ref_kpc']:.1f} kpc, "
              f"in 30–160 kpc: {row['parked_in_summary_volume']}", flush=True)
    print(f"  (references: {time.perf_counter() - tic:.0f} s)")
    for c in configs:
        w = np.asarray([r[c] for r in worst])
        print(f"  {c}: worst over all draws and summaries {w.max():.3f} Poisson errors (criterion ≤ 0.2): "
              f"{'PASS' if w.max() <= 0.2 else 'FAIL'}")
    print(f"  parked stars (park_radius {park_cfg.park_radius} kpc): farthest today in any reference {max(r['parked_max_r_ref_kpc'] for r in worst):.1f} kpc; "
          f"in the summaries' 30–160 kpc: {sum(r['parked_in_summary_volume'] for r in worst)}")
    rec["max_dsummary_poisson"] = worst
    rec["load_after"] = os.getloadavg()
    records["prior_draws"] = rec


def main():
    args = ARGS
    if args.draws_only:
        records = {}
        prior_draws_section(args, records)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(records, fh, indent=1, default=float)
        return
    n = 4000 if args.quick and args.n == 20_000 else args.n
    n_batch = 4 if args.quick and args.batch == 16 else args.batch
    devices = jax.devices()
    print(f"jaxgal {jg.__version__}, JAX {jax.__version__}, {len(devices)} {devices[0].platform} device(s); n = {n}")
    try:
        import agama  # noqa: F401

        has_agama = True
        print("AGAMA is importable: section 7 runs its per-simulation pipeline" + (" (skipped: --no-agama)" if args.no_agama else ""))
    except ImportError as err:
        has_agama = False
        print(f"AGAMA: not importable here ({type(err).__name__}: {err}); section 7 (AGAMA's pipeline) is not run")
    records: dict = {"n": n, "devices": len(devices), "platform": devices[0].platform}
    theta = dict(S.FIDUCIAL_THETA)
    key = jax.random.PRNGKey(args.seed)
    config = S.SimulationConfig()
    model = S.SimulationModel()

    # ---------------------------------------------------------------- 1. one simulation
    print("\n1. one simulation (fiducial θ)")
    first, wall, res = timed(lambda: S.simulate(theta, key, n).particles, args.repeats)
    print(f"  simulate: compile {first - wall:6.2f} s, steady {wall:6.2f} s")
    records["simulate"] = dict(compile_s=first - wall, wall_s=wall)
    mw, lmc, df_stage, orbit_stage, tracer_stage = stage_functions(theta, n, model, config)
    f_df, w_df, (w0, rtol) = timed(lambda: df_stage(key), args.repeats)
    f_or, w_or, orbit = timed(lambda: orbit_stage(jnp.asarray(theta["m_lmc"])), args.repeats)
    f_tr, w_tr, w1 = timed(lambda: tracer_stage(w0, rtol, orbit), args.repeats)
    for name, f, w in (("DF build + sample", f_df, w_df), ("two-body orbit", f_or, w_or), ("tracers", f_tr, w_tr)):
        print(f"  {name:18s}: compile {f - w:6.2f} s, steady {w:6.2f} s")
    records["stages"] = dict(df_s=w_df, orbit_s=w_or, tracers_s=w_tr)
    full = S.simulate(theta, key, n)
    print(f"  tracer steps: max {int(full.derived['max_tracer_steps'])}")

    # ---------------------------------------------------------------- 2. batch
    if not args.no_batch:
        print(f"\n2. simulate_batch of {n_batch} prior draws (split over {len(devices)} device(s))")
        thetas = S.sample_prior(jax.random.PRNGKey(args.seed + 1), n_batch)
        keys = jax.random.split(jax.random.PRNGKey(args.seed + 2), n_batch)
        fb, wb, batch = timed(lambda: S.simulate_batch(thetas, keys, n).particles, max(1, args.repeats - 1))
        per_hour = n_batch / wb * 3600
        print(f"  first call {fb:6.2f} s, steady {wb:6.2f} s → {wb / n_batch:5.2f} s per simulation, {per_hour:,.0f} simulations/hour")
        print(f"  (single simulation × {n_batch} = {wall * n_batch:6.2f} s)")
        records["batch"] = dict(size=n_batch, compile_s=fb - wb, wall_s=wb, per_sim_s=wb / n_batch, sims_per_hour=per_hour)

    # ---------------------------------------------------------------- 3. memory
    print("\n3. memory")
    th = S.as_theta(theta)
    one_dev = S.SimulationConfig(devices=(devices[0],))
    b1 = compiled_bytes(lambda t, k: S.simulate(t, k, n, config=one_dev).particles, th, key)
    mem = dict(one_sim_bytes=b1, peak_rss_gb=peak_rss_gb())
    if b1 is not None:
        print(f"  one simulation (compiled program): {b1 / 1e6:8.1f} MB")
        # the vmapped batch as simulate_batch(..., vmap_size=b) compiles it (what a suite runs
        # on a GPU): bytes(b) = fixed + b · per-simulation, from batches of 2 and 4
        per, fixed = S.simulation_bytes(n, S.SimulationModel(), one_dev, device=devices[0])
        fit = S.batch_per_device(per, fixed, 80e9)
        print(f"  vmapped batch (simulate_batch, vmap_size 2 and 4): {fixed / 1e6:8.1f} MB fixed + "
              f"{per / 1e6:6.1f} MB per simulation")
        print(f"  an 80 GB GPU (80 % usable) fits a batch of ~{fit} simulations at n = {n}")
        mem.update(fixed_bytes=fixed, per_sim_bytes=per, gpu80_batch=fit)
    print(f"  peak RSS of this process: {mem['peak_rss_gb']:.2f} GB")
    records["memory"] = mem

    # ---------------------------------------------------------------- 4. convergence
    summ = lambda p: np.asarray(jg.observables.summaries(p).values)  # noqa: E731
    ref_cfg = reference_config()  # every star at 1e-10 (no parked stars), float64 forces
    # (orbit_dt sets the RK4 step too: orbit_step defaults to it)
    ref_particles = None
    if not args.no_convergence or not args.no_gala:
        print("\n4. reference: dopri8 rtol 1e-10 for every star, orbit rk4 at 0.25 Myr")
        tic = time.perf_counter()
        ref_particles = np.asarray(S.simulate(theta, key, n, config=ref_cfg).particles)
        print(f"  ({time.perf_counter() - tic:.1f} s)")
        s_ref = summ(ref_particles)
        s_obj = jg.observables.summaries(ref_particles)
        names = list(s_obj.names)
        counts = np.asarray(s_obj.counts)
        # Poisson error of each mean = the dispersion of its bin / √N
        err = [
            s_ref[names.index(nm.replace("_mean_", "_sigma_"))] / np.sqrt(max(counts[i], 1.0))
            for i, nm in enumerate(names)
            if "_mean_" in nm
        ]
        poisson = float(np.median(err))
        print(f"  median Poisson error of a mean summary at this n: {poisson:.2f} km/s")
        records["poisson_kms"] = float(poisson)
    if not args.no_convergence:
        settings = [
            ("default: dprkn6 rtol 1.5e-6 (middle 5e-4, inner 5e-3), orbit rk4 1 Myr", S.SimulationConfig()),
            ("dopri5 rtol 3e-8 (middle 1e-5, inner 1e-4): the default before", S.SimulationConfig(tracer_method="dopri5")),
            ("dopri5 rtol 3e-8, inner and middle 3e-8", S.SimulationConfig(tracer_method="dopri5", inner_rtol=3e-8, middle_rtol=3e-8)),
            ("dopri5 rtol 1e-6 (middle 1e-5, inner 1e-4)", S.SimulationConfig(tracer_method="dopri5", tracer_rtol=1e-6)),
            ("default, float32 forces", S.SimulationConfig(force_dtype=jnp.float32)),
            ("leapfrog dt 1 Myr", S.SimulationConfig(tracer_method="leapfrog", tracer_dt=1.0)),
            ("orbit rk4 at 5 Myr", S.SimulationConfig(orbit_dt=5.0)),
        ]
        if args.quick:
            settings = settings[:2] + settings[4:6]
        print("\n   setting                                              steady [s]   max |Δ summary| [km/s]")
        conv = []
        for label, cfg in settings:
            f, w, p = timed(lambda cfg=cfg: S.simulate(theta, key, n, config=cfg).particles, 1)
            d = float(np.max(np.abs(summ(np.asarray(p)) - s_ref)))
            print(f"   {label:52s} {w:9.2f}   {d:10.3g}")
            conv.append(dict(setting=label, wall_s=w, max_abs_dsummary_kms=d))
        records["convergence"] = conv

    # ---------------------------------------------------------------- 5. gala
    if not args.no_gala:
        from _gala import gala_mw_lmc_inertial, run_gala_inertial

        dt = 0.5 if args.quick else 0.4
        print(f"\n5. gala: the tracer stage in the inertial frame, C leapfrog dt = {dt} Myr, 1 thread")
        gpot = gala_mw_lmc_inertial(mw, lmc, full.orbit)
        n_g = min(args.gala_n, n)
        wg, wall_g_sub = run_gala_inertial(gpot, np.asarray(full.initial_particles[:n_g]), full.orbit, dt)
        wall_g = wall_g_sub * n / n_g
        dx = np.linalg.norm(wg[:, :3] - ref_particles[:n_g, :3], axis=1)
        r_ref = np.linalg.norm(ref_particles[:n_g, :3], axis=1)
        outer = (r_ref > 30) & (r_ref < 160)
        print(f"  gala on {n_g} stars: {wall_g_sub:7.2f} s → {wall_g:7.1f} s for {n} (linear); "
              f"median |Δx| to the reference at 30–160 kpc {np.median(dx[outer]):.2g} kpc")
        print(f"  jaxgal tracer stage {w_tr:6.2f} s → {wall_g / w_tr:5.1f}× faster; whole simulation {wall:6.2f} s → {wall_g / wall:5.1f}×")
        records["gala"] = dict(dt=dt, n=n_g, wall_s_sub=wall_g_sub, wall_s_at_n=wall_g, median_dx_outer_kpc=float(np.median(dx[outer])),
                               ratio_tracers=wall_g / w_tr, ratio_simulation=wall_g / wall)

    if args.draws:
        prior_draws_section(args, records)

    if has_agama and not args.no_agama:
        agama_section(args, n, len(devices), records)
    else:
        records["agama_pipeline"] = None

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(records, fh, indent=1, default=float)
        print(f"\nrecords written to {args.json}")


if __name__ == "__main__":
    main()
