"""Abel-type integrals over the radial grid: the numerical core of the DF inversion.

For every grid energy ε_j = Ψ(r_j) we need integrals of the form

    A_p[g](ε_j) = ∫_0^(ε_j) g(Ψ) (ε_j − Ψ)^p dΨ,   p > −1,

over the whole potential range, written as an integral in ln r from r_j outward (Ψ
decreases with r). Per segment we use the grid's Gauss–Legendre nodes (ln r = ln r_i + h y²).
The kernel is singular at Ψ = ε_j, i.e. at the inner end of segment j; there we subtract
the value at the singular point (AGAMA's trick, done here exactly rather than to first
order):

    ∫_seg j g (ε_j − Ψ)^p dΨ = ∫_seg j [g − g(ε_j)] (ε_j − Ψ)^p dΨ + g(ε_j) D_j^(p+1) / (p+1),

D_j = Ψ_j − Ψ_(j+1); the remainder vanishes like (ε_j − Ψ)^(p+1) and the y² map makes it
smooth for the Gauss rule. The segment j + 1 is only near-singular and the same y² map
clusters its nodes where the kernel is steep.

Beyond the grid (Ψ < Ψ_N = Ψ(r_max)) integrands are modelled as power laws in Ψ and
integrated with the series :func:`powerlaw_moment`. All of it is dense linear algebra on an
(N × (N−1)·n) kernel matrix: no Python loop over grid points, jit/vmap-friendly.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._grid import RadialGrid

__all__ = ["abel", "powerlaw_moment"]


def _safe_pow(x, p):
    """x^p for x > 0; 0 where x ≤ 0, with a finite gradient there."""
    pos = x > 0
    return jnp.where(pos, jnp.where(pos, x, 1.0) ** p, 0.0)


def abel(grid: RadialGrid, g_grid, g_nodes, p, *, scale=1.0, scale_over_p1=None):
    """Σ over the grid of ∫_0^(ε_j) g(Ψ) (ε_j − Ψ)^p dΨ restricted to Ψ ∈ [Ψ_N, ε_j].

    **Arguments:** `g_grid` (N,) and `g_nodes` (N−1, n): the integrand per unit Ψ at the
    grid radii and at the segment nodes; `p` > −1 (traced). The result is
    ``scale × (Gauss part) + scale_over_p1 × g_j D_j^(p+1)``, default
    ``scale_over_p1 = scale / (p + 1)`` (pass it explicitly when the caller cancels a
    1/(p + 1) pole analytically). Entry N−1 (no segment) is 0.

    **Returns:** (N,) array.
    """
    if scale_over_p1 is None:
        scale_over_p1 = scale / (p + 1.0)
    n_seg, n = grid.node_psi.shape
    n_grid = n_seg + 1
    psi = grid.psi
    # regular part: segments i > j
    # Ψ_j − Ψ(node ik) = (Ψ_j − Ψ_i) + drop_ik
    d_ji = psi[:, None] - psi[None, :-1]  # (N, S), Ψ_j − Ψ_i
    diff = d_ji[:, :, None] + grid.node_drop[None, :, :]  # (N, S, n)
    seg_idx = jnp.arange(n_seg)
    mask = seg_idx[None, :] > jnp.arange(n_grid)[:, None]  # (N, S)
    kern = jnp.where(mask[:, :, None], _safe_pow(diff, p), 0.0)
    regular = jnp.einsum("jsk,sk->j", kern, g_nodes * grid.node_jac)
    # singular segment j (j ≤ N−2)
    sing_k = _safe_pow(grid.node_drop, p) * grid.node_jac * (g_nodes - g_grid[:-1, None])
    sing = jnp.sum(sing_k, axis=1)
    d = psi[:-1] - psi[1:]
    moment = g_grid[:-1] * _safe_pow(d, p + 1.0)
    sing = jnp.concatenate([sing, jnp.zeros((1,), sing.dtype)])
    moment = jnp.concatenate([moment, jnp.zeros((1,), moment.dtype)])
    return scale * (regular + sing) + scale_over_p1 * moment


def powerlaw_moment(x, a, q, n_terms: int = 60):
    """∫_0^1 u^(a−1) (1 − x u)^q du = Σ_k (−q)_k / k! · x^k / (a + k) for 0 ≤ x ≤ 1, a > 0.

    (= ₂F₁(−q, a; a + 1; x) / a.) Geometric convergence for x < 1; the callers use it only
    where x ≤ 1/2 (60 terms: error < 1e-18) and overwrite the rest. Differentiable in x, a, q.
    """
    q = jnp.asarray(q)
    a = jnp.asarray(a)
    x = jnp.asarray(x)
    k = jnp.arange(n_terms, dtype=jnp.result_type(x, a, q, float))
    # (−q)_k / k! = Π_(m<k) (m − q) / (m + 1); q and a are scalars
    coef = jnp.concatenate([jnp.ones((1,), k.dtype), jnp.cumprod((k[:-1] - q) / (k[:-1] + 1.0))])
    return jnp.sum(coef * x[..., None] ** k / (a + k), axis=-1)
