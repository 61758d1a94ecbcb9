"""The Runge–Kutta–Nyström pairs ``ErrorControlledRK("dprkn6")`` (the RKN6(4) pair of Dormand
& Prince 1987) and ``"dprkn8"`` (the RKN8(6) pair of Dormand, El-Mikkawy & Prince 1987):
their coefficients against the order conditions, their orders of convergence on a Kepler
orbit (analytic: the orbit closes after one period), and the error-controlled solver on
Milky Way orbits against SciPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgal import integrators as IG
from jaxgal import potentials as P
from jaxgal.integrators._rk import TABLEAUX, _lane_rkn_step

TAB = TABLEAUX["dprkn6"]


def _bhat(tab=TAB):
    """The embedded weights b̂ = b − e (position, velocity)."""
    return (np.subtract(tab["b_x"], tab["e_x"]), np.subtract(tab["b_v"], tab["e_v"]))


@pytest.mark.parametrize("name", ["dprkn6", "dprkn8"])
def test_order_conditions(name):
    """Nyström quadrature conditions (Hairer, Nørsett & Wanner I, §II.14): velocity weights
    Σ b′ᵢ cᵢ^q = 1/(q+1), position weights Σ bᵢ cᵢ^q = 1/((q+1)(q+2)) — to the pair's order
    for the solution (6 or 8) and to its embedded order (4 or 6) for the estimate; stage
    consistency Σⱼ aᵢⱼ = cᵢ²/2; and first-same-as-last (the last stage is the new position
    at c = 1, which the lanes rely on)."""
    tab = TABLEAUX[name]
    p, q_hat = tab["order"], tab["err_order"]
    c, bx, bv = np.asarray(tab["c"]), np.asarray(tab["b_x"]), np.asarray(tab["b_v"])
    hx, hv = _bhat(tab)
    for q in range(p):
        assert abs(bv @ c**q - 1 / (q + 1)) < 1e-14, q
    for q in range(p - 1):
        assert abs(bx @ c**q - 1 / ((q + 1) * (q + 2))) < 1e-14, q
    for q in range(q_hat):
        assert abs(hv @ c**q - 1 / (q + 1)) < 1e-14, q
    for q in range(q_hat - 1):
        assert abs(hx @ c**q - 1 / ((q + 1) * (q + 2))) < 1e-14, q
    # the embedded pair really is of lower order (else the estimate would vanish)
    assert abs(hv @ c**q_hat - 1 / (q_hat + 1)) > 1e-4
    for i, row in enumerate(tab["a"]):
        assert abs(sum(row) - c[i + 1] ** 2 / 2) < 1e-14, i
    assert c[-1] == 1.0 and np.allclose(tab["a"][-1], bx[: len(tab["a"][-1])], rtol=0, atol=1e-16)


class _Kepler:
    """ẍ = −x/|x|³ (G M = 1)."""

    velocity_dependent = False

    def acceleration(self, t, x, v, args):
        return -x / jnp.sum(x * x) ** 1.5


def _one_period(n_steps, e=0.5, tab=TAB):
    """Kepler orbit of eccentricity e from pericentre, a = 1 (period 2π), in n fixed steps
    of the RKN step (tolerances so loose that every step is accepted): the final state's
    distance from the initial one."""
    term = _Kepler()
    x0 = jnp.asarray([1.0 - e, 0.0, 0.0])
    v0 = jnp.asarray([0.0, np.sqrt((1 + e) / (1 - e)), 0.0])
    a0 = term.acceleration(0.0, x0, v0, None)
    h = 2 * np.pi / n_steps
    big = jnp.asarray(1e30)

    def body(carry, i):
        x, v, a = carry
        t = i * h
        x1, v1, a1, *_ = _lane_rkn_step(term, tab, None, big, jnp.asarray(0.0), jnp.asarray(0.9), 1.0, x, v, a, t, h,
                                        jnp.asarray(1.0), jnp.asarray(2 * np.pi + 1.0))
        return (x1, v1, a1), None

    (x_end, v_end, _), _ = jax.lax.scan(body, (x0, v0, a0), jnp.arange(n_steps, dtype=x0.dtype))
    y, y_end = jnp.concatenate([x0, v0]), jnp.concatenate([x_end, v_end])
    return float(jnp.linalg.norm(y_end - y))


@pytest.mark.parametrize("ecc, lo, hi", [(0.0, 60.0, 72.0), (0.1, 45.0, 80.0)])
def test_sixth_order_convergence_on_a_kepler_orbit(ecc, lo, hi):
    """Global error after one period ∝ h⁶: halving the step (25 → 200 steps per orbit)
    divides it by ≈ 2⁶ = 64 (measured 65.6–68.5 for the circular orbit, 52–58 at e = 0.1;
    a fifth-order method would give ≈ 32, a seventh ≈ 128)."""
    errs = [_one_period(n, ecc) for n in (25, 50, 100, 200)]
    ratios = [errs[i] / errs[i + 1] for i in range(3)]
    assert errs[-1] < 2e-12, errs
    for r in ratios:
        assert lo < r < hi, (errs, ratios)


@pytest.mark.parametrize("ecc, lo, hi", [(0.0, 150.0, 230.0), (0.1, 400.0, 650.0)])
def test_eighth_order_convergence_on_a_kepler_orbit(ecc, lo, hi):
    """dprkn8: doubling the steps per orbit (16 → 32 and 24 → 48) divides the global error
    after one period by ≈ 2⁸ = 256: measured 178 and 191 for the circular orbit, 499 and
    522 at e = 0.1 (the order-9 term still large at these steps), where a seventh-order
    method would give ≈ 128 and dprkn6 gives 59–101 (more steps reach round-off)."""
    tab = TABLEAUX["dprkn8"]
    for n in (16, 24):
        e1, e2 = _one_period(n, ecc, tab), _one_period(2 * n, ecc, tab)
        assert lo < e1 / e2 < hi, (n, e1, e2)


@pytest.mark.parametrize("name, h, lo, hi", [("dprkn6", 0.02, 26.0, 38.0), ("dprkn8", 0.04, 115.0, 140.0)])
def test_embedded_estimate_has_the_local_order_of_the_embedded_solution(name, h, lo, hi):
    """The error estimate of one step (the solution minus the embedded one) is the embedded
    solution's local error, O(h^(q̂+1)): halving h divides it by ≈ 2⁵ = 32 for dprkn6
    (q̂ = 4) and ≈ 2⁷ = 128 for dprkn8 (q̂ = 6; measured 123, 127, 128 from h = 0.08)."""
    tab = TABLEAUX[name]
    term = _Kepler()
    x0 = jnp.asarray([0.5, 0.0, 0.0])
    v0 = jnp.asarray([0.0, np.sqrt(3.0), 0.0])
    a0 = term.acceleration(0.0, x0, v0, None)
    c = tab["c"]

    def estimate(h):
        acc = [a0]
        for s, row in enumerate(tab["a"]):
            xs = x0 + c[s + 1] * h * v0 + h * h * sum(w * a for w, a in zip(row, acc))
            acc.append(term.acceleration(0.0, xs, v0, None))
        ex = h * h * sum(w * a for w, a in zip(tab["e_x"], acc))
        ev = h * sum(w * a for w, a in zip(tab["e_v"], acc))
        return float(jnp.linalg.norm(jnp.concatenate([ex, ev])))

    e1, e2 = estimate(h), estimate(h / 2)
    assert lo < e1 / e2 < hi, (e1, e2)


@pytest.mark.parametrize("name", ["dprkn6", "dprkn8"])
def test_milky_way_orbits_against_scipy_dop853(name):
    """8 Milky Way orbits (3–100 kpc, bound), 550 Myr: the error-controlled pair at
    rtol 1e-9 against SciPy's DOP853 at rtol 1e-12 on an independent NumPy model of the same
    potential (``tests/_mw_numpy.py``): positions within 1e-3 kpc, velocities within
    1e-2 km/s; and a velocity-dependent force (friction) is refused."""
    from scipy.integrate import solve_ivp

    import _mw_numpy as M

    mwn = M.MilkyWay.from_m200(1e12, M.mw_params(P.milky_way(1e12, c200=10.0)))
    mw = P.milky_way(1e12, c200=mwn.c200)
    n = 8
    w0 = M.bound_orbits(mwn, n, seed=5, r_max=100.0, v_frac_max=1.0)
    x, v = w0[:, :3], w0[:, 3:]

    def rhs(t, y):
        xx = y[: 3 * n].reshape(n, 3)
        return np.concatenate([y[3 * n :], mwn.acc(xx).ravel()])

    y0 = np.concatenate([x.ravel(), (v * M.KMS).ravel()])
    sol = solve_ivp(rhs, (0.0, 550.0), y0, method="DOP853", rtol=1e-12, atol=1e-14)
    assert sol.success
    ref = np.concatenate([sol.y[: 3 * n, -1].reshape(n, 3), sol.y[3 * n :, -1].reshape(n, 3) / M.KMS], axis=1)
    res = IG.integrate_orbits(mw, jnp.asarray(w0), 0.0, 550.0, solver=IG.ErrorControlledRK(name, rtol=1e-9))
    w = np.asarray(res.w)
    dx = np.linalg.norm(w[:, :3] - ref[:, :3], axis=1)
    dv = np.linalg.norm(w[:, 3:] - ref[:, 3:], axis=1)
    assert dx.max() < 1e-3 and dv.max() < 1e-2, (dx.max(), dv.max())

    from jaxgal import satellites as SAT

    friction = SAT.ChandrasekharFriction(mw, 1e11, 3.0)
    with pytest.raises(ValueError, match="velocity"):
        IG.integrate_orbits(mw, jnp.asarray(w0[:2]), 0.0, 10.0, solver=IG.ErrorControlledRK("dprkn6"),
                            extra_terms=(friction,))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_materialised_acceleration_is_the_identity(dtype):
    """The identity product that makes XLA:CPU compute a stage's acceleration once returns
    the vector and its tangent bit for bit, over 60 decades and both signs (float32
    included, where a TF32 product on a GPU would round them)."""
    from jaxgal.integrators._rk import _materialised

    rng = np.random.default_rng(3)
    lo, hi = (-30, 30) if dtype == jnp.float64 else (-18, 18)
    a = (rng.choice([-1.0, 1.0], (500, 3)) * 10.0 ** rng.uniform(lo, hi, (500, 3))).astype(dtype)
    da = rng.normal(size=(500, 3)).astype(dtype)
    out, tangent = jax.jvp(jax.vmap(_materialised), (jnp.asarray(a),), (jnp.asarray(da),))
    assert out.dtype == dtype
    np.testing.assert_array_equal(np.asarray(out), a)
    np.testing.assert_array_equal(np.asarray(tangent), da)
