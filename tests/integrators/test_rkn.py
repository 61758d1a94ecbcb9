"""The Runge–Kutta–Nyström pair ``ErrorControlledRK("dprkn6")`` (the RKN6(4) pair of Dormand
& Prince 1987): its coefficients against the order conditions, its orders of
convergence on a Kepler orbit (analytic: the orbit closes after one period), and the
error-controlled solver on Milky Way orbits against gala."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgal import integrators as IG
from jaxgal import potentials as P
from jaxgal.integrators._rk import TABLEAUX, _lane_rkn_step

TAB = TABLEAUX["dprkn6"]


def _bhat():
    """The embedded order-4 weights b̂ = b − e."""
    return (np.subtract(TAB["b_x"], TAB["e_x"]), np.subtract(TAB["b_v"], TAB["e_v"]))


def test_order_conditions():
    """Nyström quadrature conditions (Hairer, Nørsett & Wanner I, §II.14): velocity weights
    Σ b′ᵢ cᵢ^q = 1/(q+1), position weights Σ bᵢ cᵢ^q = 1/((q+1)(q+2)) — to order 6 for the
    solution and order 4 for the embedded estimate; stage consistency Σⱼ aᵢⱼ = cᵢ²/2; and
    first-same-as-last (the last stage is the new position at c = 1)."""
    c, bx, bv = np.asarray(TAB["c"]), np.asarray(TAB["b_x"]), np.asarray(TAB["b_v"])
    hx, hv = _bhat()
    for q in range(6):
        assert abs(bv @ c**q - 1 / (q + 1)) < 1e-14, q
    for q in range(5):
        assert abs(bx @ c**q - 1 / ((q + 1) * (q + 2))) < 1e-14, q
    for q in range(4):
        assert abs(hv @ c**q - 1 / (q + 1)) < 1e-14, q
    for q in range(3):
        assert abs(hx @ c**q - 1 / ((q + 1) * (q + 2))) < 1e-14, q
    # the embedded pair really is of lower order (else the estimate would vanish)
    assert abs(hv @ c**5 - 1 / 6) > 1e-4
    for i, row in enumerate(TAB["a"]):
        assert abs(sum(row) - c[i + 1] ** 2 / 2) < 1e-14, i
    assert c[-1] == 1.0 and np.allclose(TAB["a"][-1], bx[:-1], rtol=0, atol=1e-16)


class _Kepler:
    """ẍ = −x/|x|³ (G M = 1)."""

    velocity_dependent = False

    def acceleration(self, t, x, v, args):
        return -x / jnp.sum(x * x) ** 1.5


def _one_period(n_steps, e=0.5):
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
        x1, v1, a1, *_ = _lane_rkn_step(term, TAB, None, big, jnp.asarray(0.0), jnp.asarray(0.9), 1.0, x, v, a, t, h,
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


def test_embedded_estimate_is_fifth_order_locally():
    """The error estimate of one step (order-6 minus order-4 solution) is the order-4
    solution's local error, O(h⁵): halving h divides it by ≈ 32."""
    term = _Kepler()
    x0 = jnp.asarray([0.5, 0.0, 0.0])
    v0 = jnp.asarray([0.0, np.sqrt(3.0), 0.0])
    k = jnp.concatenate([v0, term.acceleration(0.0, x0, v0, None)])
    hx, hv = _bhat()
    c = TAB["c"]

    def estimate(h):
        acc = [k[3:]]
        for s, row in enumerate(TAB["a"]):
            xs = x0 + c[s + 1] * h * v0 + h * h * sum(w * a for w, a in zip(row, acc))
            acc.append(term.acceleration(0.0, xs, v0, None))
        ex = h * h * sum(w * a for w, a in zip(TAB["e_x"], acc))
        ev = h * sum(w * a for w, a in zip(TAB["e_v"], acc))
        return float(jnp.linalg.norm(jnp.concatenate([ex, ev])))

    e1, e2 = estimate(0.02), estimate(0.01)
    assert 26 < e1 / e2 < 38, (e1, e2)


def test_milky_way_orbits_against_scipy_dop853():
    """8 Milky Way orbits (3–100 kpc, bound), 550 Myr: the error-controlled dprkn6 at
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
    res = IG.integrate_orbits(mw, jnp.asarray(w0), 0.0, 550.0, solver=IG.ErrorControlledRK("dprkn6", rtol=1e-9))
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
