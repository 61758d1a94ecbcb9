"""Small, cheap-to-compile 1-D interpolation: monotone cubic Hermite (PCHIP) in pure JAX.

Fritsch & Carlson (1980) slopes with Fritsch & Butland's weighted harmonic mean (the
scipy ``PchipInterpolator`` rule), evaluated by cubic Hermite. Monotone data stay
monotone (no overshoot at the clipped edge of a DF), exact for linear data, third order in
smooth regions. Used instead of a general spline library because it compiles in a
fraction of the time and every lookup is one ``searchsorted``.

For millions of lookups into the same knots (the DF sampler's speed nodes) the binary
search dominates the cost. :func:`cell_table` indexes the knots once on a uniform grid of
bins; :func:`hermite` given that table finds a query's cell with one division and
``max_knots`` comparisons, and returns exactly what the search returns, provided no bin
holds more than ``max_knots`` knots (``CellTable.fits``; otherwise it searches).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["pchip_slopes", "hermite", "CellTable", "cell_table"]


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


class CellTable(eqx.Module):
    """Uniform bins over increasing knots x (:func:`cell_table`): bin k = [x₀ + kΔ,
    x₀ + (k+1)Δ) starts in cell ``first[k]``; ``fits``: no bin holds more than
    ``max_knots`` (static) knots, so that :func:`find_cell` is exact."""

    x0: jnp.ndarray
    dx: jnp.ndarray
    first: jnp.ndarray
    fits: jnp.ndarray
    max_knots: int = eqx.field(static=True)


def cell_table(x, n_bins: int, max_knots: int = 2) -> CellTable:
    """Index the knots ``x`` (increasing, N) on ``n_bins`` (static) uniform bins of
    [x₀, x_N]. With n_bins ≥ (x_N − x₀) / min Δx every bin holds at most one knot."""
    n = x.shape[0]
    dx = (x[-1] - x[0]) / n_bins
    edges = x[0] + dx * jnp.arange(n_bins + 1, dtype=x.dtype)
    first = jnp.searchsorted(x, edges, side="right") - 1
    fits = jnp.max(first[1:] - first[:-1]) <= max_knots
    return CellTable(x[0], dx, jnp.clip(first[:-1], 0, n - 2).astype(jnp.int32), fits, int(max_knots))


def find_cell(x, table: CellTable, xq):
    """The i with x[i] ≤ xq < x[i+1] (clipped to [0, N−2]), as ``searchsorted(x, xq,
    side="right") − 1`` gives it, without the search: the bin of xq, then the ≤
    ``max_knots`` knots between the bin's start and xq. Exact where ``table.fits``."""
    n = x.shape[0]
    k = jnp.clip(jnp.floor((xq - table.x0) / table.dx).astype(jnp.int32), 0, table.first.shape[0] - 1)
    i0 = table.first[k]
    i = i0
    for j in range(1, table.max_knots + 1):
        i = i + (x[jnp.minimum(i0 + j, n - 1)] <= xq).astype(jnp.int32)
    return jnp.clip(i, 0, n - 2)


def hermite(x, y, m, xq, cells: CellTable | None = None):
    """Cubic Hermite through (x, y) with slopes m, at xq (clamped to [x₀, x_N]).
    ``cells``: a :func:`cell_table` of x, to find the cells without a search (the search
    is taken instead if the table does not fit)."""
    n = x.shape[0]
    xq = jnp.clip(xq, x[0], x[-1])

    def search():
        return jnp.clip(jnp.searchsorted(x, xq, side="right") - 1, 0, n - 2).astype(jnp.int32)

    if cells is None:
        i = search()
    else:
        i = jax.lax.cond(cells.fits, lambda: find_cell(x, cells, xq), search)
    h = x[i + 1] - x[i]
    t = (xq - x[i]) / h
    h00 = (1 + 2 * t) * (1 - t) ** 2
    h10 = t * (1 - t) ** 2
    h01 = t * t * (3 - 2 * t)
    h11 = t * t * (t - 1)
    return y[i] * h00 + y[i + 1] * h01 + h * (m[i] * h10 + m[i + 1] * h11)
