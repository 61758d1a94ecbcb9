"""Spherical potentials with closed forms: NFW, Hernquist, Plummer, and the power-law bulge
with an exponential cutoff (MWPotential2014's bulge).

Each class stores its parameters in the internal units (Msun, kpc) as differentiable leaves
and implements Φ(r) [kpc²/Myr²] and M(<r) [Msun]; forces use ∇Φ = G M(<r) x / r³.
"""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
from jaxtyping import Array, Float

from .. import units as U
from ._base import AbstractSphericalPotential, safe_norm, squared_norm
from .._validation import check_float_dtype
from ._validation import as_param, check_positive, check_range

__all__ = ["NFW", "Hernquist", "Plummer", "PowerLawCutoff", "rho_crit", "r200_from_m200", "gammainc_series"]


def rho_crit(h0: float = U.H0_DEFAULT) -> float:
    """Critical density 3H0²/(8πG) [Msun/kpc³] for H0 in km/s/Mpc (126.83 for H0 = 67.6)."""
    h_per_myr = h0 * 1e-3 * U.KMS_TO_KPC_MYR  # km/s/Mpc → 1/Myr
    return 3.0 * h_per_myr**2 / (8.0 * jnp.pi * U.G)


def r200_from_m200(m200, h0: float = U.H0_DEFAULT):
    """r200 [kpc] such that M200 = 200 ρ_crit (4/3)π r200³."""
    return (3.0 * m200 / (4.0 * jnp.pi * 200.0 * rho_crit(h0))) ** (1.0 / 3.0)


def _nfw_mu(c):
    """μ(c) = ln(1 + c) − c/(1 + c), the NFW mass function.

    The two terms cancel to c²/2 as c → 0 (relative error ~2ε/c: 2e-10 at c = 1e-6), so
    below c = 0.01 the Taylor series Σₙ₌₂ (−1)ⁿ (n−1)/n cⁿ is used, to c⁸ (truncation
    < 2e-14 relative); both branches stay finite for autodiff."""
    small = c < 1e-2
    cs = jnp.where(small, c, 0.0)
    series = cs * cs * (1 / 2 - cs * (2 / 3 - cs * (3 / 4 - cs * (4 / 5 - cs * (5 / 6 - cs * (6 / 7 - cs * 7 / 8))))))
    cl = jnp.where(small, 1.0, c)
    return jnp.where(small, series, jnp.log1p(cl) - cl / (1.0 + cl))


class NFW(AbstractSphericalPotential):
    r"""Navarro, Frenk & White (1996) halo.

    ρ(r) = M_s / (4π r_s³) / [(r/r_s)(1 + r/r_s)²],
    Φ(r) = −G M_s ln(1 + r/r_s) / r,
    M(<r) = M_s [ln(1 + r/r_s) − (r/r_s)/(1 + r/r_s)].

    **Arguments:**

    - `m_s`: scale mass M_s = 4π ρ_s r_s³ [Msun] (gala's ``m``; the mass inside r_s is
      0.193 M_s).
    - `r_s`: scale radius [kpc].

    Use :meth:`NFW.from_m200_c200` for the virial parameterisation.
    """

    m_s: Float[Array, ""]
    r_s: Float[Array, ""]

    def __init__(self, m_s, r_s):
        self.m_s = as_param(m_s, "Msun", name="NFW: m_s")
        self.r_s = as_param(r_s, "kpc", name="NFW: r_s")
        check_positive("NFW", m_s=self.m_s, r_s=self.r_s)

    @classmethod
    def from_m200_c200(cls, m200, c200, h0: float = U.H0_DEFAULT) -> "NFW":
        """NFW from M200 [Msun] and c200 = r200/r_s, with ρ_crit = 3H0²/(8πG) and
        H0 [km/s/Mpc] (default 67.6, as Brooks et al.). Differentiable in m200 and c200."""
        m200 = as_param(m200, "Msun", name="NFW.from_m200_c200: m200")
        c200 = as_param(c200, name="NFW.from_m200_c200: c200")
        check_positive("NFW.from_m200_c200", m200=m200, c200=c200)
        r_s = r200_from_m200(m200, h0) / c200
        return cls(m200 / _nfw_mu(c200), r_s)

    def _potential_r(self, r):
        x = r / self.r_s
        small = x < 1e-6
        xs = jnp.where(small, 1.0, x)
        # ln(1+x)/x → 1 − x/2 + x²/3 as x → 0
        f = jnp.where(small, 1.0 - x / 2.0 + x * x / 3.0, jnp.log1p(xs) / xs)
        return -U.G * self.m_s / self.r_s * f

    def _mass_r(self, r):
        # r · (1/r_s): a product by a per-call constant, fused into every user of c (a
        # division with several users, here both branches of μ, is left a kernel of its own
        # by XLA:CPU; its cost alone was not measured)
        return self.m_s * _nfw_mu(r * (1.0 / self.r_s))

    def _density(self, x, t):
        s = safe_norm(x) / self.r_s
        return self.m_s / (4.0 * jnp.pi * self.r_s**3) / (s * (1.0 + s) ** 2)


class Hernquist(AbstractSphericalPotential):
    r"""Hernquist (1990) sphere.

    Φ(r) = −G M / (r + r_s),  M(<r) = M r² / (r + r_s)²,  ρ = M r_s / (2π r (r + r_s)³)

    (Hernquist's a is r_s here, ``docs/conventions.md``).

    **Arguments:** `mass`: total mass M [Msun]; `r_s`: scale radius [kpc].
    """

    mass: Float[Array, ""]
    r_s: Float[Array, ""]

    def __init__(self, mass, r_s):
        self.mass = as_param(mass, "Msun", name="Hernquist: mass")
        self.r_s = as_param(r_s, "kpc", name="Hernquist: r_s")
        check_positive("Hernquist", mass=self.mass, r_s=self.r_s)

    def _potential_r(self, r):
        return -U.G * self.mass / (r + self.r_s)

    def _mass_r(self, r):
        return self.mass * r * r / (r + self.r_s) ** 2

    def _gradient(self, x, t):
        # ∇Φ = G M x / (r (r + r_s)²) in one expression: one √ and one division, each with a
        # single user, so that XLA:CPU fuses the force into one kernel (the generic
        # M(<r) x / r³ form: 3.9 ns per evaluation vmapped over 624 lanes, this one 2.9 ns;
        # ``benchmarks/step_cost.py``).
        # Its tangent's denominator is r² (r + r_s)⁴: finite in float32 down to r ~ 1e-12 kpc.
        r2 = squared_norm(x)
        safe = r2 > 0
        r = jnp.sqrt(jnp.where(safe, r2, 1.0))
        rp = r + self.r_s
        return jnp.where(safe, U.G * self.mass / (r * rp * rp), 0.0) * x

    def _density(self, x, t):
        r = safe_norm(x)
        return self.mass * self.r_s / (2.0 * jnp.pi * r * (r + self.r_s) ** 3)


class Plummer(AbstractSphericalPotential):
    r"""Plummer (1911) sphere.

    Φ(r) = −G M / √(r² + r_s²),  M(<r) = M r³ / (r² + r_s²)^{3/2},
    ρ = 3M / (4π r_s³) (1 + r²/r_s²)^{−5/2}

    (the literature's b is r_s here, the name every spherical profile's scale radius has in
    jaxgal: ``docs/conventions.md``).

    **Arguments:** `mass`: total mass M [Msun]; `r_s`: scale radius [kpc].
    """

    mass: Float[Array, ""]
    r_s: Float[Array, ""]

    def __init__(self, mass, r_s):
        self.mass = as_param(mass, "Msun", name="Plummer: mass")
        self.r_s = as_param(r_s, "kpc", name="Plummer: r_s")
        check_positive("Plummer", mass=self.mass, r_s=self.r_s)

    def _potential_r(self, r):
        return -U.G * self.mass / jnp.sqrt(r * r + self.r_s**2)

    def _mass_r(self, r):
        return self.mass * r**3 / (r * r + self.r_s**2) ** 1.5

    # The cored Plummer sphere is smooth at the origin, so Φ, ∇Φ and ρ are written in
    # terms of r² = x·x: the generic spherical forms go through |x| and set the force
    # coefficient to 0 at r = 0, whose autodiff Hessian would be zero there (ρ(0) must be
    # 3M/(4π r_s³)).
    def _potential(self, x, t):
        return -U.G * self.mass / jnp.sqrt(jnp.sum(x * x) + self.r_s**2)

    def _gradient(self, x, t):
        return U.G * self.mass * x / (jnp.sum(x * x) + self.r_s**2) ** 1.5

    def _density(self, x, t):
        s2 = jnp.sum(x * x) / self.r_s**2
        return 3.0 * self.mass / (4.0 * jnp.pi * self.r_s**3) * (1.0 + s2) ** -2.5


#: Above this x = r²/r_c², P(a, x) = 1 to double precision (Q(a, 36) < 2e-15 for a ≤ 1.5).
X_MAX = 36.0
#: Number of series terms: the truncated tail at x = X_MAX is < e^{−45} of the sum.
N_SERIES = 104
#: The same two for float32 input: Q(a, 20) < 1.1e-8 for a ≤ 1.5 (below float32's half
#: ulp, 6e-8) and 52 terms leave a tail < 3e-9 of the sum at x = 20.
X_MAX_F32 = 20.0
N_SERIES_F32 = 52
_BLOCK = 13


def gammainc_series(a: Float[ArrayLike, ""], x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    """P(a, x), the regularised lower incomplete gamma function, for a > 0 and x ≥ 0, by a
    fixed-length power series (exact to round-off for x < ``X_MAX``, 1 beyond).

    The power series of Abramowitz & Stegun 6.5.29,

        P(a, x) = x^a e^{−x} / Γ(a + 1) · Σ_{n≥0} xⁿ / ((a + 1)(a + 2)…(a + n)),

    summed with a fixed number of terms (:data:`N_SERIES`; for float32 ``x`` the series
    stops at :data:`X_MAX_F32` with :data:`N_SERIES_F32` terms, which is exact to float32
    round-off at half the cost), which XLA fuses into one
    vectorised loop, unlike ``jax.scipy.special.gammainc``, a data-dependent iteration about
    50× slower than the rest of a Milky Way force. Every term is positive, so there is no
    cancellation: relative error a few ulp (1e-13 against scipy, 2e-5 in float32; tested).
    Differentiable in a and x.

    With y = x / X_MAX ∈ [0, 1] the series is Σₙ dₙ yⁿ, dₙ = X_MAXⁿ / ((a + 1)…(a + n)),
    whose coefficients (1 … 10¹⁵, no under/overflow in float32) depend only on the shared
    parameter a, so they are computed once per force call (unbatched under ``vmap``). All
    terms are positive, so any summation order is accurate: the polynomial is evaluated as
    independent Horner chains of :data:`_BLOCK` terms joined by a Horner
    sum in y^_BLOCK, which keeps the CPU's pipelines full (a single 104-term Horner chain
    is latency bound and cost 4× more).

    Derivatives (a custom JVP): with respect to x the exact ∂P/∂x = x^{a−1} e^{−x} / Γ(a)
    (A&S 6.5.25; one logarithm and one exponential, where the series' own tangent is a second
    series of the same length), zero where the series returns 1 (x ≥ ``X_MAX``) or x is
    clipped; with respect to a, the tangent of the series, computed only when a carries
    one (the Milky Way's bulge slope is usually a constant). In forward-mode programs the
    bulge then costs about what it costs in the primal: the jvp of a 1,000-star ``simulate``
    with respect to M_LMC (the fast gradient test's program) compiled in 15.7–17.5 s against
    23.6–25.4 s with the series' own tangent and ran in 0.65–0.71 s against 0.77–0.81 s;
    and since the DF's radial grid differentiates the Milky Way's M(<r), even the primal
    ``simulate`` program is 4 % smaller (16,779 → 16,081 jaxpr equations at 256 stars;
    ``benchmarks/compile_cost.py --jvp-only``, 2026-11-27, ``benchmarks/README.md``).
    """
    return _gammainc_series(a, x)


def _series_limits(dtype) -> tuple[float, int]:
    """(x where the series stops and returns 1, number of terms) for x of ``dtype``: the value
    and the tangent of :func:`gammainc_series` share them, so the tangent is zero exactly
    where the value is constant."""
    return (X_MAX_F32, N_SERIES_F32) if jnp.dtype(dtype).itemsize <= 4 else (X_MAX, N_SERIES)


def _gammainc_series_value(a, x):
    """The series of :func:`gammainc_series` (its primal value)."""
    x_max, n_series = _series_limits(x.dtype)
    inside = x < x_max
    # Clamp before the series so that neither branch overflows (the tail is discarded by
    # the where, but its NaN would poison the gradient).
    xs = jnp.clip(x, jnp.finfo(x.dtype).tiny, x_max)
    a = jnp.asarray(a, x.dtype)
    n = jnp.arange(1, n_series, dtype=x.dtype)
    log_d = n * jnp.log(jnp.asarray(x_max, x.dtype)) - jnp.cumsum(jnp.log(a + n))
    d = jnp.concatenate([jnp.ones((1,), x.dtype), jnp.exp(log_d)])  # (n_series,)
    y = xs / x_max
    chains = []
    for m in range(n_series // _BLOCK):
        c = d[m * _BLOCK : (m + 1) * _BLOCK]
        p = c[_BLOCK - 1] * jnp.ones_like(y)
        for i in range(_BLOCK - 2, -1, -1):
            p = p * y + c[i]
        chains.append(p)
    yb = y
    for _ in range(_BLOCK - 1):
        yb = yb * y  # y^_BLOCK (13 multiplies; cheap and accurate)
    s = chains[-1]
    for p in chains[-2::-1]:
        s = s * yb + p
    p = jnp.exp(a * jnp.log(xs) - xs - jsp.gammaln(a + 1.0)) * s
    return jnp.where(inside, jnp.minimum(p, 1.0), 1.0)


def _gammainc_series_tangent(a, x, ta, tx):
    """The tangent of :func:`gammainc_series` for tangents ``ta`` of a and ``tx`` of x, each
    None when it is (symbolically) zero (not both); in x's dtype."""
    x_max, _ = _series_limits(x.dtype)
    a = jnp.asarray(a, x.dtype)
    terms = []
    if tx is not None:
        tiny = jnp.finfo(x.dtype).tiny
        inside = (x > tiny) & (x < x_max)
        xs = jnp.clip(x, tiny, x_max)
        dp_dx = jnp.exp((a - 1.0) * jnp.log(xs) - xs - jsp.gammaln(a))
        terms.append(jnp.where(inside, dp_dx, 0.0) * tx)
    if ta is not None:
        terms.append(jax.jvp(lambda a_: _gammainc_series_value(a_, x), (a,), (jnp.asarray(ta, x.dtype),))[1])
    return sum(terms[1:], terms[0])


def _tangent_or_none(t):
    return None if isinstance(t, jax.custom_derivatives.SymbolicZero) else t


@jax.custom_jvp
def _gammainc_series(a, x):
    return _gammainc_series_value(a, x)


def _gammainc_series_jvp(primals, tangents):
    a, x = primals
    ta, tx = (_tangent_or_none(t) for t in tangents)
    return _gammainc_series_value(a, x), _gammainc_series_tangent(a, x, ta, tx)


_gammainc_series.defjvp(_gammainc_series_jvp, symbolic_zeros=True)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def gammainc_series_in(a, x, dtype):
    """:func:`gammainc_series` evaluated in ``dtype`` (``a`` and ``x`` cast), returned in
    ``x``'s dtype: mixed precision for a force. Its tangent is the one of
    :func:`gammainc_series` in ``x``'s own precision (float32 tangents of chaotic orbits in
    a cusp overflow)."""
    return gammainc_series(jnp.asarray(a).astype(dtype), x.astype(dtype)).astype(x.dtype)


def _gammainc_series_in_jvp(dtype, primals, tangents):
    a, x = primals
    ta, tx = (_tangent_or_none(t) for t in tangents)
    return gammainc_series_in(a, x, dtype), _gammainc_series_tangent(a, x, ta, tx)


gammainc_series_in.defjvp(_gammainc_series_in_jvp, symbolic_zeros=True)


class PowerLawCutoff(AbstractSphericalPotential):
    r"""Power law with a Gaussian cutoff (galpy's ``PowerSphericalPotentialwCutoff``, gala's
    ``PowerLawCutoffPotential``; the bulge of MWPotential2014, Bovy 2015).

    ρ(r) = ρ₀ r^{−α} exp(−r²/r_c²), normalised by the total mass M:
    M(<r) = M P(3/2 − α/2, r²/r_c²),
    Φ(r) = −G M(<r)/r − G M Γ(1 − α/2) Q(1 − α/2, r²/r_c²) / (r_c Γ(3/2 − α/2)),
    with P and Q the regularised lower and upper incomplete gamma functions (needs α < 2).
    M(<r) and the force evaluate P by the fixed-length series :func:`gammainc_series` (the
    force every integrator uses: no data-dependent special-function loop); Φ uses
    ``jax.scipy``'s P and Q, so the registry's check of the force against autodiff of Φ
    compares two independent evaluations of P.

    **Arguments:** `mass`: total mass M [Msun]; `alpha`: inner slope α ∈ [0, 2);
    `r_c`: cutoff radius [kpc]; `series_dtype` (static, default None: the position's
    dtype): the precision of P in the **force** only (``"float32"``: half the terms,
    :data:`N_SERIES_F32`, on CPU vectors twice as wide; M(<r) in the force then has a
    relative error ≤ 4e-6 inside r_c √20 and < 1.1e-8 beyond, where P = 1 is taken;
    tangents stay in the position's precision). ``simulate`` uses it for the tracers
    (``SimulationConfig.bulge_dtype``); Φ, M(<r) and the density are unaffected.
    """

    mass: Float[Array, ""]
    alpha: Float[Array, ""]
    r_c: Float[Array, ""]
    series_dtype: Any = eqx.field(static=True, default=None)

    def __init__(self, mass, alpha, r_c, *, series_dtype=None):
        self.mass = as_param(mass, "Msun", name="PowerLawCutoff: mass")
        self.alpha = as_param(alpha, name="PowerLawCutoff: alpha")
        self.r_c = as_param(r_c, "kpc", name="PowerLawCutoff: r_c")
        self.series_dtype = check_float_dtype(series_dtype, "PowerLawCutoff: series_dtype", or_none=True)
        check_positive("PowerLawCutoff", mass=self.mass, r_c=self.r_c)
        check_range("PowerLawCutoff", "alpha", self.alpha, 0.0, 2.0, closed=(True, False))

    def _mass_r(self, r):
        return self.mass * gammainc_series(1.5 - 0.5 * self.alpha, (r / self.r_c) ** 2)

    def _gradient(self, x, t):
        # ∇Φ = G M(<r) x / r³ written in r² = x·x (one √, no fractional power): the form
        # every integrator uses, tested against autodiff of Φ by the registry.
        r2 = squared_norm(x)
        safe = r2 > 0
        r2s = jnp.where(safe, r2, 1.0)
        a, u = 1.5 - 0.5 * self.alpha, r2s * (1.0 / self.r_c**2)
        if self.series_dtype is None or self.series_dtype == u.dtype:
            m = self.mass * gammainc_series(a, u)
        else:
            m = self.mass * gammainc_series_in(a, u, self.series_dtype)
        # 1/r³ as rsqrt(r²)³ (tangents finite in float32 down to r ~ 1e-12 kpc; see
        # AbstractSphericalPotential._gradient)
        inv_r = jax.lax.rsqrt(r2s)
        return jnp.where(safe, U.G * m * inv_r * inv_r * inv_r, 0.0) * x

    def _potential_r(self, r):
        a2 = 1.0 - 0.5 * self.alpha
        a3 = 1.5 - 0.5 * self.alpha
        s2 = (r / self.r_c) ** 2
        rs = jnp.where(r > 0, r, 1.0)
        # Φ's closed form with jax.scipy's P and Q (autodiff of it, for Hessians and
        # densities, stays small); M(<r) and the force use the series form of P.
        inner = jnp.where(r > 0, self.mass * jsp.gammainc(a3, (rs / self.r_c) ** 2) / rs, 0.0)
        outer = jnp.exp(jsp.gammaln(a2) - jsp.gammaln(a3)) * jsp.gammaincc(a2, s2) / self.r_c
        return -U.G * (inner + self.mass * outer)

    def _density(self, x, t):
        r = safe_norm(x)
        a3 = 1.5 - 0.5 * self.alpha
        rho0 = self.mass / (2.0 * jnp.pi * self.r_c ** (3.0 - self.alpha) * jnp.exp(jsp.gammaln(a3)))
        return rho0 * r ** (-self.alpha) * jnp.exp(-((r / self.r_c) ** 2))
