"""Step-size sweep of the finite difference in the gradient test (tests/simulation/test_simulation.py,
test_gradient_of_southern_mean_vgsr_wrt_lmc_mass): tangents and secants of the southern mean v_GSR
(70-160 kpc) with respect to M_LMC at M = 1.5e11 Msun and M +- delta (docs/simulation.md, "Gradients").

    python benchmarks/gradient_sweep.py [N_STARS]     # 20000 by default (~10 min on 2 cores)

Writes benchmarks/gradient_sweep_<N>.json.
"""
import json
import os
import sys
import time

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "simulation"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jaxgal.simulation as S  # noqa: E402
import test_simulation as T  # noqa: E402  (the test's statistic and θ)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    key = jax.random.PRNGKey(7)
    base = S.as_theta(T._EXTENDED)

    def stat(m):
        return T._soft_mean_vgsr_south_outer(S.simulate(base._replace(m_lmc=m), key, n).particles)

    f = jax.jit(lambda m: jax.jvp(stat, (m,), (jnp.asarray(1.0),)))
    m0 = 1.5e11
    out = {}
    t0 = time.time()
    for d in [0.0, 1e8, -1e8, 3e8, -3e8, 1e9, -1e9, 3e9, -3e9, 1e10, -1e10]:
        v, t = f(jnp.asarray(m0 + d))
        out[d] = (float(v), float(t))
        print(f"{d:+.0e}: stat {float(v):.10f} km/s, tangent {float(t):.5e} km/s/Msun ({time.time() - t0:.0f} s)",
              flush=True)
    t_m = out[0.0][1]
    for d in [1e8, 3e8, 1e9, 3e9, 1e10]:
        fd = (out[d][0] - out[-d][0]) / (2 * d)
        trap = (out[-d][1] + 2 * t_m + out[d][1]) / 4
        print(f"delta {d:.0e}: secant {fd:.5e}; secant/tangent(M) - 1 = {fd / t_m - 1:+.4f}; "
              f"secant/trapezoid mean of the tangents at M-d, M, M+d - 1 = {fd / trap - 1:+.4f}")
    with open(os.path.join(ROOT, "benchmarks", f"gradient_sweep_{n}.json"), "w") as fh:
        json.dump({"n_stars": n, "m_lmc": m0, "stat_and_tangent": {str(k): v for k, v in out.items()}}, fh, indent=1)


if __name__ == "__main__":
    main()
