"""The bulge's force with its incomplete-gamma series in float32
(``PowerLawCutoff(series_dtype="float32")``, what ``simulate`` gives its tracers by
``SimulationConfig.bulge_dtype``) against the closed form with SciPy's P(a, x), and its
tangent against the float64 series'; and the derivatives of the series itself (its custom
JVP: ∂P/∂x in closed form, ∂P/∂a through the series) against central differences of
SciPy's P.

References: G M P(3/2 − α/2, r²/r_c²) x / r³ with ``scipy.special.gammainc`` (float64);
Q(a, 20) < 1.1e-8 (SciPy) bounds the error beyond the float32 series' end, r > r_c √20.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from jaxgal import units as U
from jaxgal.potentials import PowerLawCutoff, milky_way
from jaxgal.potentials._spherical import X_MAX, gammainc_series, gammainc_series_in


def _positions(n=3000, seed=2):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, 3))
    r = np.exp(rng.uniform(np.log(1e-3), np.log(200.0), n))
    return u / np.linalg.norm(u, axis=1, keepdims=True) * r[:, None]


def _closed_form(b, x):
    r = np.linalg.norm(x, axis=1)
    m = float(b.mass) * special.gammainc(1.5 - 0.5 * float(b.alpha), (r / float(b.r_c)) ** 2)
    return U.G * m[:, None] * x / r[:, None] ** 3


def test_float32_series_force_matches_scipy():
    b64 = milky_way()["bulge"]
    b32 = PowerLawCutoff(b64.mass, b64.alpha, b64.r_c, series_dtype="float32")
    x = _positions()
    g32 = np.asarray(jax.jit(jax.vmap(lambda q: b32.grad_phi(q, 0.0)))(jnp.asarray(x)))
    g64 = np.asarray(jax.jit(jax.vmap(lambda q: b64.grad_phi(q, 0.0)))(jnp.asarray(x)))
    assert g32.dtype == np.float64
    ref = _closed_form(b64, x)
    rel = np.linalg.norm(g32 - ref, axis=1) / np.linalg.norm(ref, axis=1)
    # float32's P: a few float32 ulp (measured ≤ 4e-6)
    assert rel.max() < 1e-5, rel.max()
    # beyond the float32 series' end (x = r²/r_c² > 20) it returns P = 1: off by Q(a, 20)
    # < 1.1e-8, where the float64 series still resolves Q
    beyond = np.linalg.norm(x, axis=1) > float(b64.r_c) * np.sqrt(20.0) * 1.0001
    assert beyond.sum() > 500
    assert rel[beyond].max() < 1.2e-8, rel[beyond].max()
    rel64 = np.linalg.norm(g64 - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert rel64.max() < 1e-12  # the float64 series, for scale


def test_float32_series_tangent_is_the_float64_one():
    b64 = milky_way()["bulge"]
    b32 = PowerLawCutoff(b64.mass, b64.alpha, b64.r_c, series_dtype="float32")
    x = jnp.asarray(_positions(200, seed=3))
    dx = jnp.asarray(np.random.default_rng(4).normal(size=x.shape))

    def tangent(pot):
        return jax.jit(jax.vmap(lambda q, d: jax.jvp(lambda y: pot.grad_phi(y, 0.0), (q,), (d,))[1]))(x, dx)

    t32, t64 = np.asarray(tangent(b32)), np.asarray(tangent(b64))
    # the float32 primal enters the tangent only through −G M(<r) ∇(1/r³)·dx terms
    scale = np.linalg.norm(t64, axis=1)
    assert np.max(np.linalg.norm(t32 - t64, axis=1) / scale) < 1e-5
    # and it stays finite where a float32 tangent would overflow (|dx| ~ 1e40)
    big = jax.jvp(lambda y: b32.grad_phi(y, 0.0), (x[0],), (dx[0] * 1e40,))[1]
    assert np.all(np.isfinite(np.asarray(big)))


def test_series_dtype_must_be_a_float():
    with pytest.raises(ValueError, match="series_dtype"):
        PowerLawCutoff(1e10, 1.8, 1.9, series_dtype="int32")


@jax.jit
def _series_derivatives(a, x):
    """∂P/∂x and ∂P/∂a of the series by jvp and by grad, the float32 variant's total tangent,
    and the tangent in x beyond X_MAX: one compiled program for every a."""
    one = jnp.ones_like(x)
    t_x = jax.jvp(lambda y: gammainc_series(a, y), (x,), (one,))[1]
    t_a = jax.jvp(lambda b: gammainc_series(b, x), (a,), (jnp.ones_like(a),))[1]
    g_x = jax.vmap(jax.grad(lambda y: gammainc_series(a, y)))(x)
    g_a = jax.vmap(jax.grad(lambda b, y: gammainc_series(b, y)), in_axes=(None, 0))(a, x)
    t32 = jax.jvp(lambda b, y: gammainc_series_in(b, y, jnp.float32), (a, x), (jnp.ones_like(a), one))[1]
    beyond = jnp.asarray([X_MAX, 40.0, 1e3])
    t_out = jax.jvp(lambda y: gammainc_series(a, y), (beyond,), (jnp.ones(3),))[1]
    return t_x, t_a, g_x, g_a, t32, t_out


@pytest.mark.parametrize("a", [0.1, 0.6, 1.0, 1.45])
def test_series_derivatives_match_scipy_central_differences(a):
    """∂P/∂x and ∂P/∂a of ``gammainc_series`` (forward and reverse mode) against central
    differences of ``scipy.special.gammainc`` (relative step 1e-5: truncation ~1e-10,
    round-off ~1e-11 of P), x from 1e-3 to 35; zero at and beyond X_MAX = 36, where the
    series returns 1. The float32-evaluated ``gammainc_series_in`` has the same tangents."""
    x = np.concatenate([np.geomspace(1e-3, 1.0, 20), np.linspace(1.0, 35.0, 40)])
    hx, ha = 1e-5 * x, 1e-5 * a
    fd_x = (special.gammainc(a, x + hx) - special.gammainc(a, x - hx)) / (2 * hx)
    fd_a = (special.gammainc(a + ha, x) - special.gammainc(a - ha, x)) / (2 * ha)
    t_x, t_a, g_x, g_a, t32, t_out = (np.asarray(o) for o in _series_derivatives(jnp.asarray(a), jnp.asarray(x)))
    # 1e-6 relative, plus 1e-10 absolute for the differences' round-off (ε P / h ≈ 2e-11):
    # measured 3e-8 relative for ∂P/∂x and ≤ 1e-11 absolute where ∂P/∂a ~ e^{−x} is tiny
    for got, ref in ((t_x, fd_x), (g_x, fd_x), (t_a, fd_a), (g_a, fd_a)):
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(t32, t_x + t_a, rtol=1e-12)
    assert np.all(t_out == 0.0)
