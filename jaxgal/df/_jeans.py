r"""Spherical Jeans equation for a constant anisotropy β (Binney & Tremaine 2008 eq. 4.216; ``docs/df.md``).

    ν(r) σ_r²(r) = r^(−2β) ∫_r^∞ r'^(2β) ν(r') dΦ/dr' dr',   dΦ/dr = G M(<r) / r²,
    σ_θ = σ_φ = √(1 − β) σ_r,

with M(<r) the potential's spherically averaged enclosed mass (``m_enc``: the
monopole, as used for the DF). Quadrature: the ln r' range [ln r, ln r_max] is split into
``n_panels`` equal panels with ``n_gl`` Gauss–Legendre nodes each (default 48 × 8; the
integrand is smooth in ln r, so this is at round-off for panels narrower than ~1);
beyond r_max the integrand is continued as the power law of its local log-slope at r_max
(autodiff) and integrated analytically. The integrand is handled relative to r^(2β) ν(r)
so nothing over- or underflows. Pure JAX: jit-able, vmappable over β, the tracer's and the
potential's parameters.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import units as U
from ._grid import gauss_legendre01

__all__ = ["jeans_dispersions"]


@functools.partial(jax.jit, static_argnames=("r_max", "n_panels", "n_gl"))
def _sigma_r2(r, potential, tracer, beta, t, r_max, n_panels, n_gl):
    y, w = gauss_legendre01(n_gl)
    lo = jnp.log(r)
    hi = jnp.log(r_max)
    width = (hi - lo) / n_panels
    starts = lo + width * jnp.arange(n_panels, dtype=lo.dtype)
    x = (starts[:, None] + width * jnp.asarray(y)[None, :]).reshape(-1)
    wx = jnp.tile(jnp.asarray(w), n_panels) * width

    def ln_integrand(xx):
        # ln [ r^(2β) ν G M / r² · r ]  (integrand per d ln r)
        m = potential.m_enc(jnp.exp(xx), t)
        return (2.0 * beta - 1.0) * xx + tracer.log_density(jnp.exp(xx)) + jnp.log(U.G * m)

    ref = 2.0 * beta * lo + tracer.log_density(r)
    vals = jax.vmap(ln_integrand)(x)
    body = jnp.sum(wx * jnp.exp(vals - ref))
    ln_end, slope = jax.jvp(ln_integrand, (hi,), (jnp.ones_like(hi),))
    tail = jnp.where(slope < 0, jnp.exp(ln_end - ref) / -jnp.where(slope < 0, slope, -1.0), jnp.inf)
    return body + tail


def jeans_dispersions(r, potential, tracer_density, beta, *, t=0.0, r_max: float = 1e6, n_panels: int = 48, n_gl: int = 8):
    """Constant-β spherical Jeans dispersions.

    **Arguments:** `r` [kpc] (any shape, r < r_max); `potential`: a jaxgal potential (its
    monopole is used); `tracer_density`: an :class:`~jaxgal.df.AbstractTracerDensity`;
    `beta` (< 1); `t` [Myr]; `r_max` [kpc], `n_panels`, `n_gl`: quadrature (static).

    **Returns:** ``(sigma_r, sigma_t)`` [km/s], the shape of ``r``; σ_t is the
    one-dimensional tangential dispersion σ_θ = σ_φ = √(1−β) σ_r.
    """
    r = jnp.asarray(U.to_value(r, "kpc"), dtype=float)
    beta = jnp.asarray(beta, dtype=float)
    if not isinstance(beta, jax.core.Tracer) and not bool(np.all(np.asarray(beta) < 1.0)):
        raise ValueError(f"jeans_dispersions: beta must be < 1; got {beta}")
    t = jnp.asarray(U.to_value(t, "Myr"), dtype=float)
    flat = r.reshape(-1)
    s2 = jax.vmap(lambda rr: _sigma_r2(rr, potential, tracer_density, beta, t, float(r_max), int(n_panels), int(n_gl)))(flat)
    sr = jnp.sqrt(s2).reshape(r.shape) / U.KMS_TO_KPC_MYR
    return sr, jnp.sqrt(1.0 - beta) * sr
