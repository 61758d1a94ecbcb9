"""What compilation costs: XLA:CPU's two fusion emitters, and eager calls of a potential.

    python benchmarks/compile_cost.py [--n 4000] [--repeats 2] [--variant NAME=XLA_FLAGS ...] [--no-eager]
                                      [--jvp-only] [--jvp-n 1000]

Each measurement runs in a fresh Python process, so every compilation is a first one.

1. **The fusion emitters** (why ``tests/conftest.py`` runs the fast suite with
   ``--xla_cpu_use_fusion_emitters=false``):
   - 192 one-op programs compiled and run eagerly (10 unary functions and two binary ones
     on 8 shapes, float64 and float32): ms per program;
   - ``simulate`` of ``--n`` stars at the fiducial θ: seconds of the first call (trace,
     compile and run), then the median of 3 further calls (run only).

   Each is measured with the default emitters and with the legacy ones, alternately,
   ``--repeats`` times; ``--variant NAME=FLAGS`` adds other ``XLA_FLAGS`` to the rotation
   (e.g. ``--variant "legacy-O1=--xla_cpu_use_fusion_emitters=false
   --xla_backend_optimization_level=1"``), each reported as a ratio to the legacy emitters.
2. **Eager calls of a potential**: ``milky_way(1e12)``'s force at 100 points.
   - "public": ``acceleration``, one compiled program since 2026-11-27 (``_base._evaluate``);
   - "primitive by primitive": the same vmapped hook (``-vmap(mw._gradient)``) run eagerly,
     as the public methods did before.

   Reported: the first call, and the median of 5 calls after it.
3. **Forward mode through a simulation** (the fast gradient test's program,
   ``tests/simulation/test_simulation.py``): ``jax.jit(jax.jvp)`` of the mean v_GSR of
   southern stars at 70–160 kpc (C¹ bin edges) with respect to M_LMC, ``--jvp-n`` stars, the
   legacy emitters (as the tests compile it): seconds to trace and lower, to compile, and per
   run; and the jaxpr equations of the primal ``simulate`` program at 256 stars. Run it from
   two checkouts to compare code versions (``--jvp-only``).

Single runs on a shared VM drift by ±10 %: compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ONE_OPS = r"""
import time, json, jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
fs = [jnp.sin, jnp.cos, jnp.exp, jnp.log1p, jnp.sqrt, jnp.tanh, jnp.arctan, jnp.abs, jnp.floor, jnp.expm1]
jnp.ones(1).block_until_ready()
n, t0 = 0, time.perf_counter()
for shape in [(3,), (5,), (7, 3), (11,), (13, 2), (17,), (19, 3), (23,)]:
    for dt in (jnp.float64, jnp.float32):
        x = jnp.ones(shape, dt)
        for f in fs:
            f(x).block_until_ready(); n += 1
        (x + x * 2.0).block_until_ready(); jnp.sum(x).block_until_ready(); n += 2
print(json.dumps({"ms_per_program": (time.perf_counter() - t0) / n * 1e3, "n": n}))
"""

SIMULATE = r"""
import time, json, sys, numpy as np, jax
import jaxgal as jg
S = jg.simulation
n = int(sys.argv[1])
th = S.as_theta(S.FIDUCIAL_THETA)
t0 = time.perf_counter()
S.simulate(th, jax.random.PRNGKey(0), n).particles.block_until_ready()
first = time.perf_counter() - t0
ts = []
for i in range(3):
    t0 = time.perf_counter()
    S.simulate(th, jax.random.PRNGKey(i + 1), n).particles.block_until_ready()
    ts.append(time.perf_counter() - t0)
print(json.dumps({"first_s": first, "run_s": float(np.median(ts))}))
"""

EAGER = r"""
import time, json, sys, numpy as np, jax, jax.numpy as jnp
import jaxgal as jg
from jaxgal import units as U
mw = jg.potentials.milky_way(1e12)
x = jnp.asarray(np.random.default_rng(0).normal(size=(100, 3)) * 10)
t = jnp.zeros(100)
if sys.argv[1] == "public":
    f = lambda: mw.acceleration(x)
else:
    f = lambda: -jax.vmap(mw._gradient)(x, t) / U.KMS_TO_KPC_MYR
t0 = time.perf_counter(); f().block_until_ready(); first = time.perf_counter() - t0
ts = []
for _ in range(5):
    t0 = time.perf_counter(); f().block_until_ready(); ts.append(time.perf_counter() - t0)
print(json.dumps({"first_s": first, "after_ms": float(np.median(ts)) * 1e3}))
"""

JVP = r"""
import time, json, sys, jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
from jax._src import core
import jaxgal as jg
from jaxgal.simulation import _simulate as SM
S = jg.simulation
n = int(sys.argv[1])
base = S.as_theta(dict(S.FIDUCIAL_THETA, r_dens=20.0, gamma=3.5))
key = jax.random.PRNGKey(7)
def ramp(u):  # the test's C¹ smoothstep (tests/simulation/test_simulation.py, _ramp)
    u = jnp.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)
def stat(m):
    p = S.simulate(base._replace(m_lmc=m), key, n).particles
    r = jnp.linalg.norm(p[:, :3], axis=1)
    b = jg.frames.galactocentric_to_galactic(p).b
    w = ramp((r - 70.0) / 2.0) * ramp((160.0 - r) / 2.0) * ramp(-b / 2.0)
    return jnp.sum(w * jg.frames.v_gsr(p)) / jnp.sum(w)
f = jax.jit(lambda m: jax.jvp(stat, (m,), (jnp.asarray(1.0),)))
m0 = jnp.asarray(1.5e11)
t0 = time.perf_counter(); low = f.lower(m0); t1 = time.perf_counter(); comp = low.compile(); t2 = time.perf_counter()
jax.block_until_ready(comp(m0)); t3 = time.perf_counter(); jax.block_until_ready(comp(m0)); t4 = time.perf_counter()
model, config = SM._check_options(None, None)
jx = jax.make_jaxpr(lambda th, k: SM._back(th, SM._front(th, k, 256, model, config), model, config, None))(base, key)
def size(j):
    m = 0
    for e in j.eqns:
        m += 1
        for v in e.params.values():
            for x in (v if isinstance(v, (list, tuple)) else [v]):
                m += size(x.jaxpr) if isinstance(x, core.ClosedJaxpr) else size(x) if isinstance(x, core.Jaxpr) else 0
    return m
print(json.dumps({"lower_s": t1 - t0, "compile_s": t2 - t1, "run_s": t4 - t3, "primal_eqns_256": size(jx.jaxpr)}))
"""

LEGACY = "--xla_cpu_use_fusion_emitters=false"


def run(code: str, *args: str, xla_flags: str = "") -> dict:
    env = dict(os.environ, XLA_FLAGS=xla_flags, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4000, help="stars of the simulate measurement")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=XLA_FLAGS",
                    help="another XLA_FLAGS setting to measure in the rotation (repeatable)")
    ap.add_argument("--no-eager", action="store_true", help="skip section 2")
    ap.add_argument("--jvp-only", action="store_true", help="section 3 only")
    ap.add_argument("--jvp-n", type=int, default=1000, help="stars of section 3")
    args = ap.parse_args()
    if args.jvp_only:
        return _jvp_section(args)
    variants = [("default", ""), ("legacy", LEGACY)]
    for v in args.variant:
        name, sep, flags = v.partition("=")
        if not sep or not name:
            ap.error(f"--variant takes NAME=XLA_FLAGS; got {v!r}")
        variants.append((name, flags))

    print("1. XLA:CPU fusion emitters (fresh process each; " + ", ".join(n for n, _ in variants) + ", in turn)")
    rows = {name: [] for name, _ in variants}
    for _ in range(args.repeats):
        for name, flags in variants:
            one = run(ONE_OPS, xla_flags=flags)
            sim = run(SIMULATE, str(args.n), xla_flags=flags)
            rows[name].append((one["ms_per_program"], sim["first_s"], sim["run_s"]))
            print(f"   {name:10s} one-op program {one['ms_per_program']:5.1f} ms; simulate({args.n}) first call "
                  f"{sim['first_s']:5.1f} s, then {sim['run_s']:.2f} s per run", flush=True)
    med = {k: [sorted(c)[len(c) // 2] for c in zip(*v)] for k, v in rows.items()}
    print(f"   legacy / default: one-op compile {med['legacy'][0] / med['default'][0]:.2f}, simulate first call "
          f"{med['legacy'][1] / med['default'][1]:.2f}, simulate run {med['legacy'][2] / med['default'][2]:.2f}")
    for name, _ in variants[2:]:
        print(f"   {name} / legacy: one-op compile {med[name][0] / med['legacy'][0]:.2f}, simulate first call "
              f"{med[name][1] / med['legacy'][1]:.2f}, simulate run {med[name][2] / med['legacy'][2]:.2f}")
    if args.no_eager:
        return

    print("2. milky_way(1e12) force at 100 points, eager calls (fresh process each)")
    res = {}
    for _ in range(args.repeats):
        for name in ("primitive", "public"):
            r = run(EAGER, name)
            res.setdefault(name, []).append(r)
            label = "public acceleration" if name == "public" else "primitive by primitive"
            print(f"   {label:23s} first call {r['first_s']:.2f} s, then {r['after_ms']:.2f} ms", flush=True)
    a, b = res["primitive"][-1], res["public"][-1]
    print(f"   primitive / public: first call {a['first_s'] / b['first_s']:.1f}x, later calls {a['after_ms'] / b['after_ms']:.0f}x")
    _jvp_section(args)


def _jvp_section(args):
    print(f"3. jit(jvp) of a statistic of simulate({args.jvp_n}) with respect to M_LMC (legacy emitters, fresh process each)")
    for _ in range(args.repeats):
        r = run(JVP, str(args.jvp_n), xla_flags=LEGACY)
        print(f"   trace + lower {r['lower_s']:5.1f} s, compile {r['compile_s']:5.1f} s, run {r['run_s']:.2f} s; "
              f"primal simulate(256): {r['primal_eqns_256']} jaxpr equations", flush=True)


if __name__ == "__main__":
    main()
