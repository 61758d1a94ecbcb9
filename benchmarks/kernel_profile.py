"""Where a step of the tracer integrator goes, kernel by kernel, attributed to jaxgal's source.

    python benchmarks/kernel_profile.py [--n 4000] [--lanes 624] [--top 25] [--plummer | --orbits]
                                        [--method dprkn6] [--rtol 3e-6]

The tracer stage of the fiducial simulation (``simulation.evolve_tracers``: the stars of
``initial_halo`` at −2.2 Gyr, the Milky Way and the LMC's tidal term on the two-body orbit,
the default ``SimulationConfig`` numerics) is compiled for one CPU device with XLA's HLO
dump on, run once to warm up and once under ``jax.profiler.trace``. The trace times every
kernel (XLA:CPU "thunk") of the lane loop; each kernel is an instruction of the dumped,
optimised HLO module, whose metadata carries the Python stack that made it. The kernel's
time is credited to the innermost frame of that stack inside ``jaxgal/`` — for a fused
kernel, the line that made its root instruction (a force kernel fused into the stage
derivative is credited to the solver's ``f``, not to the potential).

Printed: the kernels per iteration of the widest lane phase, µs per iteration and ns per
lane-step, the share of each jaxgal file and the ``--top`` source lines. ``--plummer``
replaces the forces by one Plummer sphere (one √ and a power per evaluation), which leaves
the cost of the solver and the lanes themselves; ``--orbits`` profiles ``orbits.py``'s halo
orbits (seed 42) in ``tabulate_spherical(milky_way(1e12))`` with dopri5 at rtol 1e-7
instead (``ab.py orbits --devices 1 --n N dopri5=`` times them unprofiled); ``--method``
and ``--rtol`` choose the tableau and tolerance there, or the tracer stage's
``tracer_method`` and outer ``tracer_rtol`` (the other tiers keep the method's defaults).

Kernels run slower under the profiler than without it, by ~1 µs each (``--orbits --n 4000
--lanes 256``: 79 µs per iteration of 55 kernels, against ~39 µs unprofiled): the
absolute times overstate, and the shares favour loops of many small kernels. Read it as a
map of where the kernels are; measure a change with interleaved wall-time runs
(``benchmarks/README.md``, "Where a step goes" and "One table for the spherical
components").
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import shutil
import sys
import tempfile


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=4000, help="stars (default 4000)")
    p.add_argument("--lanes", type=int, default=624, help="lane width (default 624, the default for 20,000 stars on 2 devices)")
    p.add_argument("--top", type=int, default=25, help="source lines to list")
    p.add_argument("--plummer", action="store_true", help="a Plummer sphere instead of the MW and LMC forces")
    p.add_argument("--orbits", action="store_true",
                   help="orbits.py's halo orbits in tabulate_spherical(milky_way(1e12)) instead of the tracer stage")
    p.add_argument("--method", default=None,
                   help="--orbits: the ErrorControlledRK tableau (dopri5); else the tracer_method (the config's default)")
    p.add_argument("--rtol", type=float, default=None,
                   help="--orbits: rtol (1e-7); else the outer stars' tracer_rtol (the method's default)")
    return p.parse_args()


ARGS = _parse()
DUMP = tempfile.mkdtemp(prefix="jaxgal_hlo_")
# before JAX is imported: the optimised HLO of every program, as text, with its stack frames
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + f" --xla_dump_to={DUMP} --xla_dump_hlo_as_text --xla_dump_hlo_pass_re=NONE"
).strip()
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))
from jaxgal._hostdevices import set_host_device_count  # noqa: E402  (imports no JAX)

set_host_device_count(1)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

from jaxgal import simulation as S  # noqa: E402
from jaxgal.integrators import ErrorControlledRK, integrate_orbits  # noqa: E402
from jaxgal.potentials import Plummer, milky_way, tabulate_spherical  # noqa: E402

from _tracers import fiducial_tracers, halo_orbits  # noqa: E402


def stack_attribution(module_text: str) -> dict[str, str]:
    """Kernel name → ``file:function:line`` of the innermost jaxgal frame of its stack
    (from the ``FileNames``/``FunctionNames``/``FileLocations``/``StackFrames`` tables that
    XLA appends to a dumped module)."""
    files, funcs, locs, frames = {}, {}, {}, {}
    section = None
    for line in module_text.split("\n"):
        if line in ("FileNames", "FunctionNames", "FileLocations", "StackFrames"):
            section = line
            continue
        if not section or not line.strip():
            continue
        if section in ("FileNames", "FunctionNames"):
            m = re.match(r"(\d+) \"(.*)\"", line)
            if m:
                (files if section == "FileNames" else funcs)[int(m[1])] = m[2]
        elif section == "FileLocations":
            m = re.match(r"(\d+) \{file_name_id=(\d+) function_name_id=(\d+) line=(\d+)", line)
            if m:
                locs[int(m[1])] = (files[int(m[2])], funcs[int(m[3])], int(m[4]))
        elif section == "StackFrames":
            m = re.match(r"(\d+) \{file_location_id=(\d+)(?: parent_frame_id=(\d+))?", line)
            if m:
                frames[int(m[1])] = (int(m[2]), int(m[3]) if m[3] else None)

    def where(fid):
        seen = set()
        while fid and fid in frames and fid not in seen:
            seen.add(fid)
            loc, parent = frames[fid]
            path, fn, ln = locs[loc]
            if "/jaxgal/" in path and "site-packages" not in path:
                return f"{path.split('/jaxgal/')[-1]}:{fn}:{ln}"
            fid = parent
        return "(outside jaxgal)"

    out = {}
    for m in re.finditer(r"^\s+%([\w.\-]+) = [^\n]*?stack_frame_id=(\d+)", module_text, re.M):
        out[m[1]] = where(int(m[2]))
    return out


def main():
    tracer = {} if ARGS.orbits else {k: v for k, v in (("tracer_method", ARGS.method), ("tracer_rtol", ARGS.rtol)) if v is not None}
    base = S.SimulationConfig(lanes=ARGS.lanes, **tracer)
    f = fiducial_tracers(ARGS.n, base)
    model, models, orbit, w0, rtol, budgets = f.model, f.models, f.orbit, f.w0, f.rtol, f.budgets
    devices = tuple(jax.devices())

    if ARGS.orbits:
        w0 = jax.numpy.asarray(halo_orbits(models.mw, ARGS.n, 42))
        solver = ErrorControlledRK(ARGS.method or "dopri5", rtol=1e-7 if ARGS.rtol is None else ARGS.rtol, lanes=ARGS.lanes)
        pot = tabulate_spherical(milky_way(1e12))

        def tracer_stage(w):
            res = integrate_orbits(pot, w, 0.0, 2200.0, solver=solver, devices=devices)
            return res.w, res.n_steps
    elif ARGS.plummer:
        solver = ErrorControlledRK(base.tracer_method, rtol=rtol, lanes=ARGS.lanes, max_steps=budgets, shrink=base.lane_shrink)

        def tracer_stage(w):
            res = integrate_orbits(Plummer(1e12, 20.0), w, -model.t_infall, 0.0, solver=solver, devices=devices)
            return res.w, res.n_steps
    else:
        def tracer_stage(w):
            return S.evolve_tracers(models, orbit, w, rtol, model, base, devices, budgets)

    run = jax.jit(tracer_stage)
    _, n_steps = jax.block_until_ready(run(w0))
    steps = int(n_steps.sum())
    trace_dir = tempfile.mkdtemp(prefix="jaxgal_trace_")
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
        jax.block_until_ready(run(w0))

    modules = glob.glob(os.path.join(DUMP, "*jit_tracer_stage*after_optimizations.txt"))
    if not modules:
        sys.exit(f"no dumped module of tracer_stage in {DUMP}")
    kernels = stack_attribution(open(max(modules, key=os.path.getsize)).read())
    trace = json.load(gzip.open(glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True)[0]))
    for d in (DUMP, trace_dir):  # every program's HLO and the trace: tens of MB
        shutil.rmtree(d, ignore_errors=True)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    total, count = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") == "X" and e.get("name") in kernels:
            total[e["name"]] += e.get("dur", 0.0)
            count[e["name"]] += 1
    # the widest lane phase: the kernels run most often
    iterations = max(count.values())
    in_loop = [k for k in total if count[k] >= 0.9 * iterations]
    per_iter = sum(total[k] for k in in_loop) / iterations
    all_us = sum(total.values())
    what = "halo orbits, MW (table)" if ARGS.orbits else "Plummer sphere" if ARGS.plummer else "MW + LMC"
    print(f"tracer stage, {ARGS.n} stars, {ARGS.lanes} lanes, 1 device, {what}: "
          f"{steps / 1e6:.2f} M steps, {all_us / 1e3:.1f} ms in kernels")
    print(f"widest lane phase: {iterations} iterations, {len(in_loop)} kernels per iteration, "
          f"{per_iter:.1f} µs per iteration, {per_iter / ARGS.lanes * 1e3:.0f} ns per lane-step")
    by_file, by_line = collections.Counter(), collections.Counter()
    for k in in_loop:
        by_file[kernels[k].split(":")[0]] += total[k] / iterations
        by_line[kernels[k]] += total[k] / iterations
    print("share of an iteration by file [µs, %]:")
    for name, us in by_file.most_common():
        print(f"  {us:7.2f} {100 * us / per_iter:5.1f} %  {name}")
    print(f"the {ARGS.top} costliest source lines [µs per iteration, %]:")
    for name, us in by_line.most_common(ARGS.top):
        print(f"  {us:7.2f} {100 * us / per_iter:5.1f} %  {name}")


if __name__ == "__main__":
    main()
