"""Small, cheap-to-compile 1-D interpolation: monotone cubic Hermite (PCHIP) in pure JAX.

Fritsch & Carlson (1980) slopes with Fritsch & Butland's weighted harmonic mean (the
scipy ``PchipInterpolator`` rule), evaluated by cubic Hermite. Monotone data stay
monotone (no overshoot at the clipped edge of a DF), exact for linear data, third order in
smooth regions. Used instead of a general spline library because it compiles in a
fraction of the time and every lookup is one ``searchsorted``.
"""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["pchip_slopes", "hermite"]


def pchip_slopes(x, y):
    """dy/dx at the knots ``x`` (increasing) for the monotone cubic through ``y``."""
    h = jnp.diff(x)
    d = jnp.diff(y) / h
    h0, h1 = h[:-1], h[1:]
    d0, d1 = d[:-1], d[1:]
    w1 = 2.0 * h1 + h0
    w2 = h1 + 2.0 * h0
    same = (d0 * d1) > 0
    den = jnp.where(same, w1 / jnp.where(same, d0, 1.0) + w2 / jnp.where(same, d1, 1.0), 1.0)
    inner = jnp.where(same, (w1 + w2) / den, 0.0)

    def end(h0, h1, d0, d1):
        m = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
        m = jnp.where(jnp.sign(m) != jnp.sign(d0), 0.0, m)
        return jnp.where((jnp.sign(d0) != jnp.sign(d1)) & (jnp.abs(m) > 3.0 * jnp.abs(d0)), 3.0 * d0, m)

    first = end(h[0], h[1], d[0], d[1])
    last = end(h[-1], h[-2], d[-1], d[-2])
    return jnp.concatenate([first[None], inner, last[None]])


def hermite(x, y, m, xq):
    """Cubic Hermite through (x, y) with slopes m, at xq (clamped to [x₀, x_N])."""
    n = x.shape[0]
    xq = jnp.clip(xq, x[0], x[-1])
    i = jnp.clip(jnp.searchsorted(x, xq, side="right") - 1, 0, n - 2)
    h = x[i + 1] - x[i]
    t = (xq - x[i]) / h
    h00 = (1 + 2 * t) * (1 - t) ** 2
    h10 = t * (1 - t) ** 2
    h01 = t * t * (3 - 2 * t)
    h11 = t * t * (t - 1)
    return y[i] * h00 + y[i + 1] * h01 + h * (m[i] * h10 + m[i + 1] * h11)
