"""The fast force path: gradients of the expensive potential components without special
function loops or fractional powers.

Nearly all of the cost of one Milky Way force evaluation is the bulge: the power law with
a Gaussian cutoff (:class:`~jaxgal.potentials.PowerLawCutoff`) has M(<r) = M P(a, r²/r_c²)
with the regularised incomplete gamma function P, and ``jax.scipy.special.gammainc`` is a
data-dependent iteration that XLA runs about 50× slower than the rest of the force
(measured: 6×10⁵ vs 2.6×10⁷ NFW gradients per second on one core).

Here P(a, x) is evaluated with its power series (Abramowitz & Stegun 6.5.29),

    P(a, x) = x^a e^{−x} / Γ(a + 1) · Σ_{n≥0} xⁿ / ((a + 1)(a + 2)…(a + n)),

summed in Horner form with a fixed number of terms (:data:`N_SERIES`), which XLA fuses
into one vectorised loop: every term is positive, so there is no cancellation and the
relative error is a few ulp. For x ≥ :data:`X_MAX` the complement Q(a, x) < 2×10⁻¹⁵ and P = 1.
The result equals the component's own gradient to ~1e-15 relative (tested), is
differentiable in every parameter, and runs under float32.

:func:`fast_gradient` walks a potential (composites and translating potentials included)
and uses the series for every ``PowerLawCutoff``, a fused form of the Miyamoto–Nagai
gradient for ``MiyamotoNagai`` and ``MN3ExponentialDisc`` (one shared √(z² + b²), D·√D
instead of D^{3/2}: the fractional power, exp(1.5 log D), made the three-disc exponential
the most expensive component), and the component's own analytic ``_gradient`` for
everything else.
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp
import jax.scipy.special as jsp
from jaxtyping import Array, ArrayLike, Float

from .. import units as U
from ..potentials import (
    AbstractPotential,
    CompositePotential,
    MiyamotoNagai,
    MN3ExponentialDisc,
    PowerLawCutoff,
    TranslatingPotential,
)

__all__ = ["fast_gradient", "powerlaw_cutoff_mass_fraction", "N_SERIES", "X_MAX"]

#: Above this x = r²/r_c², P(a, x) = 1 to double precision (Q(a, 36) < 2e-15 for a ≤ 1.5).
X_MAX = 36.0
#: Number of series terms: the truncated tail at x = X_MAX is < e^{−45} of the sum.
N_SERIES = 104
_BLOCK = 13
_BLOCKS = N_SERIES // _BLOCK


def powerlaw_cutoff_mass_fraction(a: Float[ArrayLike, ""], x: Float[Array, ""]) -> Float[Array, ""]:
    """P(a, x), the regularised lower incomplete gamma function, for a > 0 and x ≥ 0, by a
    fixed-length power series (exact to round-off for x < ``X_MAX``, 1 beyond).

    With y = x / X_MAX ∈ [0, 1] the series is Σₙ dₙ yⁿ, dₙ = X_MAXⁿ / ((a + 1)…(a + n)),
    whose coefficients (1 … 10¹⁵, no under/overflow in float32) depend only on the shared
    parameter a, so they are computed once per force call (unbatched under ``vmap``). All
    terms are positive, so any summation order is accurate: the polynomial is evaluated as
    :data:`_BLOCKS` independent Horner chains of :data:`_BLOCK` terms joined by a Horner
    sum in y^_BLOCK, which keeps the CPU's pipelines full (a single 104-term Horner chain
    is latency bound and cost 4× more).
    """
    inside = x < X_MAX
    # Clamp before the series so that neither branch overflows (the tail is discarded by
    # the where, but its NaN would poison the gradient).
    xs = jnp.clip(x, jnp.finfo(x.dtype).tiny, X_MAX)
    a = jnp.asarray(a, x.dtype)
    n = jnp.arange(1, N_SERIES, dtype=x.dtype)
    log_d = n * jnp.log(jnp.asarray(X_MAX, x.dtype)) - jnp.cumsum(jnp.log(a + n))
    d = jnp.concatenate([jnp.ones((1,), x.dtype), jnp.exp(log_d)])  # (N_SERIES,)
    y = xs / X_MAX
    chains = []
    for m in range(_BLOCKS):
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


def _mn_sum_gradient(masses, a, b, x):
    """∇Φ of Σᵢ Miyamoto–Nagai(Mᵢ, aᵢ, b) with a common b: one √(z² + b²) and, per disc,
    one √ and one division (no fractional powers)."""
    R2 = x[0] * x[0] + x[1] * x[1]
    zb = jnp.sqrt(x[2] * x[2] + b * b)
    f_R = 0.0
    f_z = 0.0
    for i in range(masses.shape[0]):
        az = a[i] + zb
        D = R2 + az * az
        gm = (U.G * masses[i]) / (D * jnp.sqrt(D))
        f_R = f_R + gm
        f_z = f_z + gm * az
    return jnp.stack([f_R * x[0], f_R * x[1], f_z * x[2] / zb])


def _powerlaw_cutoff_gradient(pot: PowerLawCutoff, x: Float[Array, "3"]) -> Float[Array, "3"]:
    r2 = jnp.sum(x * x)
    safe = r2 > 0
    r2s = jnp.where(safe, r2, 1.0)
    a = 1.5 - 0.5 * pot.alpha
    m = pot.mass * powerlaw_cutoff_mass_fraction(a.astype(x.dtype), r2s / pot.r_c**2)
    return jnp.where(safe, U.G * m / (r2s * jnp.sqrt(r2s)), 0.0) * x


def fast_gradient(pot: AbstractPotential) -> Callable[[Array, Array], Array]:
    """A function ``g(x, t)`` equal to ``pot._gradient(x, t)`` [kpc/Myr²] for one position,
    with every :class:`~jaxgal.potentials.PowerLawCutoff` evaluated by the series above.

    The walk happens once, in Python, when the integrator is traced; the returned function
    closes over ``pot``'s (possibly traced) parameters, so gradients flow through it.
    """
    if isinstance(pot, CompositePotential):
        parts = [fast_gradient(c) for c in pot.components]

        def composite(x, t):
            out = parts[0](x, t)
            for p in parts[1:]:
                out = out + p(x, t)
            return out

        return composite
    if isinstance(pot, PowerLawCutoff):
        return lambda x, t: _powerlaw_cutoff_gradient(pot, x)
    if isinstance(pot, MN3ExponentialDisc):

        def mn3(x, t):
            m, a, b = pot.parameters()
            return _mn_sum_gradient(m.astype(x.dtype), a.astype(x.dtype), b.astype(x.dtype), x)

        return mn3
    if isinstance(pot, MiyamotoNagai):
        return lambda x, t: _mn_sum_gradient(
            jnp.reshape(pot.mass, (1,)), jnp.reshape(pot.a, (1,)), pot.b, x
        )
    if isinstance(pot, TranslatingPotential):
        inner = fast_gradient(pot.potential0)
        return lambda x, t: inner(x - pot.centre_at(t), t)
    return pot._gradient
