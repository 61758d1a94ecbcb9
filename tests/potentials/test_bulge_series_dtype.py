"""The bulge's force with its incomplete-gamma series in float32
(``PowerLawCutoff(series_dtype="float32")``, what ``simulate`` gives its tracers by
``SimulationConfig.bulge_dtype``) against the closed form with SciPy's P(a, x), and its
tangent against the float64 series'.

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
