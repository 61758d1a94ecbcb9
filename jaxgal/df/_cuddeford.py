r"""The constant-anisotropy distribution function of Cuddeford (1991) on a grid.

    f(E, L) = f̂(ε) L^(−2β),   ε = −E = Ψ(r) − v²/2 > 0,   β(r) = β everywhere,

for a spherical tracer ν(r) in the monopole Ψ(r) = −Φ₀(r) of any jaxgal potential
(:mod:`jaxgal.df._grid`). With the augmented density ρ̂(Ψ) = r^(2β) ν(r) the DF satisfies

    ρ̂(Ψ) = 2π B(β) 2^(1/2−β) ∫_0^Ψ f̂(ε) (Ψ − ε)^(1/2−β) dε,
    B(β) = ∫_0^π sin^(1−2β) η dη = √π Γ(1−β) / Γ(3/2−β),

a Riemann–Liouville integral of order 3/2 − β, inverted by

- β < 1/2, second-derivative branch:
  f̂(ε) = C₂ [ρ̂'(0) ε^(β−1/2) + ∫_0^ε ρ̂''(Ψ) (ε−Ψ)^(β−1/2) dΨ],
- 1/2 ≤ β < 1, first-derivative branch:
  f̂(ε) = C₁ ∫_0^ε ρ̂'(Ψ) (ε−Ψ)^(β−3/2) dΨ,   C₁ = (β − 1/2) C₂,
- β = 1/2: f̂(ε) = ρ̂'(ε) / (2π²),

with C₂ = 2^β / [(2π)^(3/2) Γ(1−β) Γ(β+1/2)] and primes d/dΨ. (β = 0 is Eddington's
formula.) Γ(β − 1/2) in C₁ has a pole at β = 1/2; writing C₁ = (β − 1/2) C₂ and
integrating the singular grid segment analytically (its moment carries 1/(β − 1/2), see
:mod:`jaxgal.df._abel`) removes it: the first-derivative branch evaluated at β = 1/2 *is*
the closed form, and it is continuous on [1/2, 1). Since β is a traced value (vmapped),
both branches are computed and selected with ``jnp.where`` (the first one at
max(β, 1/2), so the unused branch is always finite and gradients stay NaN-free). The
second-derivative formula is in fact valid for every −1/2 < β < 1 (both are D^(3/2−β) ρ̂);
it is kept as ``fhat_second_raw`` and the test suite checks that the two agree for β > 1/2.

Derivatives of ρ̂ with respect to Ψ come from autodiff of ln ν(ln r) and of M(<r) (exact;
no finite differences):
dρ̂/dΨ = ρ̂ (2β + ℓ) / Ψ', d²ρ̂/dΨ² = ρ̂ / Ψ'² [(2β + ℓ)² + ℓ' − (2β + ℓ) Ψ''/Ψ'],
with ℓ = d ln ν / d ln r and Ψ' = dΨ/d ln r.

Ends of the energy range: the deep cusp is handled by the log-r grid (default down to
r_min = 1e-4 kpc; the DF is not tabulated for ε > Ψ(r_min) and the sample has no star
inside r_min); beyond r_max (default 1e6 kpc) ρ̂ is continued as a power law in Ψ and its
contribution integrated analytically (hypergeometric series, :func:`powerlaw_moment`).
Grid energies with Ψ_j < 2 Ψ(r_max) (r ≳ r_max/2, where that series would converge
slowly) are replaced by the asymptotic power law f̂ ∝ ε^(s − 3/2 + β),
s = d ln ρ̂ / d ln Ψ at r_max.

Numerics (defaults): 256 radii uniform in ln r on [1e-4, 1e6] kpc (h = 0.09), 6
Gauss–Legendre nodes per segment; the kernel matrices are 256 × 255 × 6. Measured against
analytic DFs (Hernquist 1990; ρ̂ ∝ Ψ^s tracers at β = 0 … 0.95): relative error ≤ 4e-7
at the grid energies, ≤ 5e-6 after interpolation; the DF's density reproduces ν to
≤ 4e-5 (outside the clip radius); its velocity moments match an independent Jeans
solution to ≤ 1e-6 (MW, β0 ≤ 0.8). Cost: ~1 s to build in the MW and ~1.3 s to draw
20,000 stars on a loaded 2-core CPU (after compilation, which takes 10–40 s).

Negative values: where the tracer's inner slope is below 2β (An & Evans 2006; the Brooks
et al. tracer has slope 1) the inversion is negative for the most bound energies. As AGAMA
does, f̂ is clipped to zero there (``fhat_raw`` keeps the unclipped values). The DF's own
density (``density``) then exceeds ν inside ``clip_radius`` — the largest grid radius whose
energy Ψ(r) had f̂ < 0 — and equals it outside (every energy reachable there is
unaffected). Samples follow the DF, i.e. its own density, exactly as AGAMA's do.
Measured for the Brooks et al. tracer (r_dens = 20 kpc, γ = 4) in ``milky_way(1e12)``:
clip radius 1.1, 1.7, 2.3, 2.7 kpc for β0 = 0.61, 0.7, 0.8, 0.85 (none for β0 ≤ 0.5);
ρ_DF/ν = 1.38, 2.16, 3.79 at 0.1 kpc and 1.001, 1.065, 1.22 at 1 kpc for β0 = 0.61,
0.7, 0.8; the extra central mass is 0.008 %, 0.06 %, 0.19 % of the total (so every count
beyond the clip radius drops by that fraction). Over the whole Table 1 box
(M200 = 10^10.5–10^12.5, r_dens = 10–20 kpc, γ = 3–5, β0 ≤ 0.85) the clip radius stays
below 4.7 kpc and the extra mass below 0.6 %: the observables (r ≥ 30 kpc) are untouched.

Interpolation: ln f̂ is tabulated at ε_j = Ψ(r_j) and interpolated (monotone cubic, PCHIP) in
ξ = ln(1/ε − 1/Ψ(0)), AGAMA's scaled variable, nearly linear at both ends.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
from jaxtyping import Array, Float

from .. import units as U
from ._abel import abel, powerlaw_moment
from ._grid import RadialGrid, gauss_legendre01, radial_grid
from ._interp import hermite, pchip_slopes
from ._sampling import sample_df
from ._tracers import AbstractTracerDensity

__all__ = ["ConstantBetaDF", "cuddeford_df", "DFConfig"]

#: Default grid: radii [kpc], number of ln-r grid points, Gauss–Legendre nodes per segment.
R_MIN, R_MAX, N_GRID, N_GL = 1e-4, 1e6, 256, 6
_LN_FLOOR_BELOW_MAX = 700.0


class DFConfig(eqx.Module):
    """Static numerical settings of :class:`ConstantBetaDF` (documented defaults)."""

    r_min: float = eqx.field(static=True, default=R_MIN)
    r_max: float = eqx.field(static=True, default=R_MAX)
    n_grid: int = eqx.field(static=True, default=N_GRID)
    n_gl: int = eqx.field(static=True, default=N_GL)


def _c2(beta):
    """C₂(β) = 2^β / [(2π)^(3/2) Γ(1−β) Γ(β+1/2)] (finite for −1/2 < β < 1)."""
    return jnp.exp(beta * np.log(2.0) - 1.5 * np.log(2 * np.pi) - jsp.gammaln(1.0 - beta) - jsp.gammaln(beta + 0.5))


def _b_angle(beta):
    """B(β) = ∫_0^π sin^(1−2β) η dη = √π Γ(1−β)/Γ(3/2−β)."""
    return jnp.exp(0.5 * np.log(np.pi) + jsp.gammaln(1.0 - beta) - jsp.gammaln(1.5 - beta))


def _tracer_derivs(tracer: AbstractTracerDensity, x):
    """ln ν, ℓ = d ln ν/d ln r and ℓ' = dℓ/d ln r at ln r = x (scalar)."""

    def lnnu(xx):
        return tracer.log_density(jnp.exp(xx))

    def first(xx):
        return jax.jvp(lnnu, (xx,), (jnp.ones_like(xx),))

    (ln_nu, ell), (_, dell) = jax.jvp(first, (x,), (jnp.ones_like(x),))
    return ln_nu, ell, dell


class ConstantBetaDF(eqx.Module):
    """A tabulated constant-β (Cuddeford 1991) DF of a spherical tracer in a potential's
    monopole. Build it with :meth:`ConstantBetaDF.build` (or :func:`cuddeford_df`).

    Everything is a JAX array leaf, so a DF can be built under ``jit`` and ``vmap`` (over
    β, tracer and potential parameters); the grid sizes live in the static ``config``.

    Public methods take and return public units: energies and Ψ in (km/s)², L in
    kpc km/s, velocities in km/s, radii in kpc; the DF f is a phase-space density
    [ν]/(km/s)³, [ν] being the tracer's density unit (ν's ``rho_s``, e.g. Msun/kpc³).

    Attributes: ``beta``; ``grid`` (:class:`~jaxgal.df._grid.RadialGrid`, internal units);
    ``fhat_raw`` (N,): the inverted f̂ at ε_j = Ψ(r_j) before clipping (internal units);
    ``fhat_second_raw`` (N,): the second-derivative formula's f̂ (the same as ``fhat_raw``
    for β < 1/2, an independent cross-check for β ≥ 1/2; outermost nodes not replaced);
    ``ln_fhat`` (N,): ln of the clipped f̂ (a floor 700 e-folds below the maximum where
    clipped) and ``dlnf`` its PCHIP slopes in ``xi`` (N,), the interpolation abscissa;
    ``q_tail``: f̂ ∝ ε^q_tail below Ψ(r_max); ``ln_nu`` (N,): the target ln ν;
    ``ln_rho``, ``dln_rho`` (N,): ln of the DF's own density and its slopes in ln r;
    ``cum_mass`` (N,): the DF's mass inside r_j (from r_min; [ν] kpc³; per cell 8-point
    Gauss–Legendre on the monotone cubic of ln ρ, accurate to ~1e-7).
    """

    beta: Float[Array, ""]
    grid: RadialGrid
    fhat_raw: Float[Array, " N"]
    fhat_second_raw: Float[Array, " N"]
    ln_fhat: Float[Array, " N"]
    xi: Float[Array, " N"]
    dlnf: Float[Array, " N"]
    dln_rho: Float[Array, " N"]
    q_tail: Float[Array, ""]
    ln_nu: Float[Array, " N"]
    ln_rho: Float[Array, " N"]
    cum_mass: Float[Array, " N"]
    config: DFConfig = eqx.field(static=True)

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        potential,
        tracer: AbstractTracerDensity,
        beta,
        *,
        t=0.0,
        r_min: float = R_MIN,
        r_max: float = R_MAX,
        n_grid: int = N_GRID,
        n_gl: int = N_GL,
    ) -> "ConstantBetaDF":
        """Invert the tracer ``tracer`` in the monopole of ``potential`` at time ``t`` [Myr]
        for the anisotropy ``beta`` ∈ (−1/2, 1) (Brooks et al.: [0, 0.85]).

        ``r_min``, ``r_max`` [kpc]: the ln-r grid (static); ``n_grid`` points, ``n_gl``
        Gauss–Legendre nodes per segment (static). Jit-compiled internally; vmappable over
        ``beta``, the tracer's and the potential's parameters.
        """
        b = beta
        if not isinstance(b, jax.core.Tracer):
            bv = np.asarray(b, dtype=float)
            if not (np.all(np.isfinite(bv)) and np.all(bv > -0.5) and np.all(bv < 1.0)):
                raise ValueError(f"ConstantBetaDF: beta must lie in (-0.5, 1); got {bv}")
        if not (0 < r_min < r_max):
            raise ValueError(f"ConstantBetaDF: need 0 < r_min < r_max; got {r_min}, {r_max}")
        if n_grid < 16 or n_gl < 2:
            raise ValueError(f"ConstantBetaDF: n_grid >= 16 and n_gl >= 2 needed; got {n_grid}, {n_gl}")
        config = DFConfig(float(r_min), float(r_max), int(n_grid), int(n_gl))
        return _build(potential, tracer, jnp.asarray(beta, dtype=float), jnp.asarray(U.to_value(t, "Myr"), dtype=float), config)

    # ------------------------------------------------------------------ internal-unit API
    def _ln_fhat_eps(self, eps, cells=None):
        """ln f̂(ε) for ε [kpc²/Myr²] of any shape (a floor ~700 e-folds down where f̂ = 0).

        Monotone cubic (PCHIP) in ξ through the grid values; below Ψ(r_max) the power law
        ε^q_tail; above Ψ(r_min) the innermost value. ``cells``: a fitting
        ``_interp.cell_table`` of ``xi`` for many lookups (same values, no binary search)."""
        g = self.grid
        eps = jnp.asarray(eps, dtype=self.xi.dtype)
        pos = eps > 0
        e = jnp.where(pos, eps, 1.0)
        inv_c = jnp.where(jnp.isfinite(g.psi_c), 1.0 / g.psi_c, 0.0)
        xi = jnp.log(jnp.maximum(1.0 / e - inv_c, 1e-300))
        inside = hermite(self.xi, self.ln_fhat, self.dlnf, xi, cells)
        psi_n = g.psi[-1]
        tail = self.ln_fhat[-1] + self.q_tail * (jnp.log(e) - jnp.log(psi_n))
        out = jnp.where(e < psi_n, tail, inside)
        floor = jnp.max(self.ln_fhat) - _LN_FLOOR_BELOW_MAX
        return jnp.where(pos, jnp.maximum(out, floor), floor)

    def _fhat_eps(self, eps, cells=None):
        """f̂(ε) in internal units; 0 for ε ≤ 0 and where clipped (``cells``: as in
        :meth:`_ln_fhat_eps`)."""
        floor = jnp.max(self.ln_fhat) - _LN_FLOOR_BELOW_MAX
        lf = self._ln_fhat_eps(eps, cells)
        return jnp.where(lf > floor + 1.0, jnp.exp(lf), 0.0)

    def _psi_r(self, r):
        """Ψ(r) [kpc²/Myr²] for r [kpc] inside the grid (cubic Hermite in ln r)."""
        return self.grid.psi_at(jnp.log(r))

    # ------------------------------------------------------------------ public API
    def psi(self, r) -> Float[Array, "..."]:
        """Relative potential Ψ = −Φ₀ of the monopole at r [kpc] → (km/s)²."""
        return _psi_pub(self, jnp.asarray(U.to_value(r, "kpc"), dtype=self.xi.dtype))

    def fhat(self, eps) -> Float[Array, "..."]:
        """f̂(ε) for ε = −E [(km/s)²], in [ν] kpc^(2β) (km/s)^(2β−3) ([ν] = the tracer's
        density unit, e.g. Msun/kpc³), so that f̂ L^(−2β) is per (km/s)³."""
        return _fhat_pub(self, jnp.asarray(U.to_value(eps, "(km/s)^2"), dtype=self.xi.dtype))

    def f(self, energy, angular_momentum) -> Float[Array, "..."]:
        """f(E, L) = f̂(−E) L^(−2β): E [(km/s)²] (0 for E ≥ 0), L [kpc km/s] →
        phase-space density [[ν] / (km/s)³], e.g. Msun / (kpc³ (km/s)³)."""
        e = jnp.asarray(U.to_value(energy, "(km/s)^2"), dtype=self.xi.dtype)
        ang = jnp.asarray(angular_momentum, dtype=self.xi.dtype)
        return _f_pub(self, e, ang)

    def density(self, r) -> Float[Array, "..."]:
        """The DF's own density ∫ f d³v at r [kpc] (cubic in ln r between grid radii),
        in the tracer's unit. Equals ν(r) where no clipped energy is reachable."""
        return _density_pub(self, jnp.asarray(U.to_value(r, "kpc"), dtype=self.xi.dtype))

    def target_density(self, r) -> Float[Array, "..."]:
        """The input tracer ν(r) at r [kpc] (monotone cubic in ln r between grid radii)."""
        return _target_pub(self, jnp.asarray(U.to_value(r, "kpc"), dtype=self.xi.dtype))

    @property
    def clip_radius(self) -> Float[Array, ""]:
        """Largest grid radius [kpc] whose energy Ψ(r) has a negative (clipped) f̂; the DF's
        density equals ν beyond it. r_min if nothing was clipped."""
        neg = self.fhat_raw < 0
        idx = jnp.max(jnp.where(neg, jnp.arange(neg.shape[0]), 0))
        return jnp.exp(self.grid.ln_r[idx])

    def dispersions(self, r, n_v: int = 128):
        """σ_r and the one-dimensional tangential σ_t = σ_θ = σ_φ [km/s] of the DF at r [kpc]
        (velocity moments by Gauss–Legendre in v/v_esc with ``n_v`` nodes; reliable beyond
        ~0.01 of the tracer's scale radius). σ_t² = (1 − β) σ_r² by construction."""
        r = jnp.asarray(U.to_value(r, "kpc"), dtype=self.xi.dtype)
        return _dispersions(self, r, int(n_v))

    def _sigma_r2(self, r, n_v):
        t, w = (jnp.asarray(a, dtype=self.xi.dtype) for a in gauss_legendre01(n_v))
        psi = self._psi_r(r)
        v = t * jnp.sqrt(2.0 * psi)
        f = self._fhat_eps(psi - 0.5 * v * v)
        b = self.beta
        m0 = jnp.sum(w * f * v ** (2.0 - 2.0 * b))
        m2 = jnp.sum(w * f * v ** (4.0 - 2.0 * b))
        # ∫cos²η sin^(1−2β)η dη / ∫ sin^(1−2β)η dη = 1 / (3 − 2β)
        return m2 / m0 / (3.0 - 2.0 * b)

    def sample(self, key, n, *, r_max_sample=1e3, n_speed=256) -> Float[Array, "n 6"]:
        """Draw ``n`` stars from the DF: (n, 6) array of (x, y, z [kpc], vx, vy, vz [km/s]),
        centred on the potential's centre. See :mod:`jaxgal.df._sampling`."""
        return sample_df(self, key, n, r_max_sample=r_max_sample, n_speed=n_speed)


@jax.jit
def _psi_pub(df, r):
    return df._psi_r(r) / U.KMS2_TO_KPC2_MYR2


@jax.jit
def _fhat_pub(df, eps):
    c = U.KMS_TO_KPC_MYR
    return df._fhat_eps(eps * c * c) * c ** (3.0 - 2.0 * df.beta)


@jax.jit
def _f_pub(df, energy, ang):
    return _fhat_pub(df, -energy) * ang ** (-2.0 * df.beta)


@jax.jit
def _density_pub(df, r):
    return jnp.exp(hermite(df.grid.ln_r, df.ln_rho, df.dln_rho, jnp.log(r)))


@jax.jit
def _target_pub(df, r):
    return jnp.exp(hermite(df.grid.ln_r, df.ln_nu, pchip_slopes(df.grid.ln_r, df.ln_nu), jnp.log(r)))


@functools.partial(jax.jit, static_argnames=("n_v",))
def _dispersions(df, r, n_v):
    s2 = jax.vmap(lambda rr: df._sigma_r2(rr, n_v))(r.reshape(-1)).reshape(r.shape)
    sr = jnp.sqrt(s2) / U.KMS_TO_KPC_MYR
    return sr, jnp.sqrt(1.0 - df.beta) * sr


def cuddeford_df(potential, tracer, beta, **kwargs) -> ConstantBetaDF:
    """Shorthand for :meth:`ConstantBetaDF.build`."""
    return ConstantBetaDF.build(potential, tracer, beta, **kwargs)


@functools.partial(jax.jit, static_argnames=("config",))
def _build(potential, tracer, beta, t, config: DFConfig) -> ConstantBetaDF:
    grid = radial_grid(potential, r_min=config.r_min, r_max=config.r_max, n_grid=config.n_grid, n_gl=config.n_gl, t=t)
    n_grid = config.n_grid
    x_all = jnp.concatenate([grid.ln_r, grid.node_ln_r.reshape(-1)])
    ln_nu_all, ell_all, dell_all = jax.vmap(lambda x: _tracer_derivs(tracer, x))(x_all)
    dpsi_all = jnp.concatenate([grid.dpsi, grid.node_dpsi.reshape(-1)])
    d2psi_all = jnp.concatenate([grid.d2psi, grid.node_d2psi.reshape(-1)])

    b = beta
    k = 2.0 * b + ell_all  # d ln ρ̂ / d ln r
    rhohat = jnp.exp(2.0 * b * x_all + ln_nu_all)
    g1 = rhohat * k / dpsi_all  # dρ̂/dΨ
    g2 = rhohat / dpsi_all**2 * (k * k + dell_all - k * d2psi_all / dpsi_all)  # d²ρ̂/dΨ²

    def split(a):
        return a[:n_grid], a[n_grid:].reshape(grid.node_psi.shape)

    g1_grid, g1_nodes = split(g1)
    g2_grid, g2_nodes = split(g2)

    psi = grid.psi
    psi_n = psi[-1]
    x_tail = psi_n / psi  # ≤ 1
    rhohat_n = rhohat[n_grid - 1]
    s_tail = k[n_grid - 1] * psi_n / grid.dpsi[-1]  # d ln ρ̂ / d ln Ψ at r_max

    def tail_dr(q):  # ∫_0^Ψ_N ρ̂'(Ψ) (ε − Ψ)^q dΨ with ρ̂ ∝ Ψ^s
        return rhohat_n * psi ** q * s_tail * powerlaw_moment(x_tail, s_tail, q)

    # second-derivative branch (valid for all β in (−1/2, 1); used for β < 1/2)
    p2 = b - 0.5
    ediff = psi - psi_n
    pos = ediff > 0
    bdry = g1_grid[-1] * jnp.where(pos, jnp.where(pos, ediff, 1.0) ** p2, 0.0)
    f2 = _c2(b) * (abel(grid, g2_grid, g2_nodes, p2) + bdry + p2 * tail_dr(p2 - 1.0))
    # first-derivative branch at β₁ = max(β, 1/2): C₁ = (β₁ − 1/2) C₂, moment pole cancelled
    b1 = jnp.maximum(b, 0.5)
    p1 = b1 - 1.5
    f1 = _c2(b1) * (abel(grid, g1_grid, g1_nodes, p1, scale=b1 - 0.5, scale_over_p1=1.0) + (b1 - 0.5) * tail_dr(p1))
    fraw = jnp.where(b < 0.5, f2, f1)

    # outermost energies (Ψ < 2 Ψ_N): asymptotic power law from the last reliable node
    valid = psi >= 2.0 * psi_n
    j_star = jnp.sum(valid) - 1
    q_tail = s_tail - 1.5 + b
    f_star = fraw[j_star]
    fraw = jnp.where(valid, fraw, f_star * (psi / psi[j_star]) ** q_tail)

    fpos = fraw > 0
    ln_f = jnp.where(fpos, jnp.log(jnp.where(fpos, fraw, 1.0)), -jnp.inf)
    ln_f = jnp.maximum(ln_f, jnp.max(ln_f) - _LN_FLOOR_BELOW_MAX)
    inv_c = jnp.where(jnp.isfinite(grid.psi_c), 1.0 / grid.psi_c, 0.0)
    xi = jnp.log(1.0 / psi - inv_c)
    dlnf = pchip_slopes(xi, ln_f)

    df = ConstantBetaDF(
        beta=b, grid=grid, fhat_raw=fraw, fhat_second_raw=f2, ln_fhat=ln_f, xi=xi, dlnf=dlnf, q_tail=q_tail,
        ln_nu=ln_nu_all[:n_grid], ln_rho=ln_nu_all[:n_grid], dln_rho=jnp.zeros_like(psi), cum_mass=jnp.zeros_like(psi), config=config,
    )

    # the DF's own density: ρ(r_j) = 2π B 2^(1/2−β) r_j^(−2β) ∫_0^Ψ_j f̂(ε)(Ψ_j − ε)^(1/2−β) dε
    p0 = 0.5 - b
    fh_grid = df._fhat_eps(psi)
    fh_nodes = df._fhat_eps(grid.node_psi)
    fn = jnp.exp(ln_f[-1])
    tail_f = fn * psi_n * psi**p0 * powerlaw_moment(x_tail, q_tail + 1.0, p0)
    integral = abel(grid, fh_grid, fh_nodes, p0) + tail_f
    pref = 2.0 * jnp.pi * _b_angle(b) * 2.0 ** (0.5 - b)
    ln_rho = jnp.log(jnp.maximum(pref * integral, 1e-300)) - 2.0 * b * grid.ln_r
    ln_nu = ln_nu_all[:n_grid]
    # outer points: the tracer itself, matched at the last reliable node
    ln_rho = jnp.where(valid, ln_rho, ln_nu + (ln_rho - ln_nu)[j_star])

    # cumulative mass from r_min: each cell's ∫ 4π r³ ρ d ln r by 8-point Gauss–Legendre on
    # the monotone cubic of ln ρ (the sampler redistributes it log-linearly inside the cell)
    dln_rho = pchip_slopes(grid.ln_r, ln_rho)
    y, w = (jnp.asarray(a, dtype=psi.dtype) for a in gauss_legendre01(8))
    xq = grid.ln_r[:-1, None] + grid.h * y[None, :]
    ln_mq = np.log(4 * np.pi) + 3.0 * xq + hermite(grid.ln_r, ln_rho, dln_rho, xq)
    cells = grid.h * jnp.sum(w * jnp.exp(ln_mq), axis=1)
    cum = jnp.concatenate([jnp.zeros((1,), cells.dtype), jnp.cumsum(cells)])
    return eqx.tree_at(lambda d: (d.ln_rho, d.dln_rho, d.cum_mass), df, (ln_rho, dln_rho, cum))
