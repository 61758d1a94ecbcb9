r"""A spherical potential whose force is read from a table of its enclosed mass.

The force of a spherical mass distribution is −G M(<r) x / r³, so one function of one
variable, M(<r), carries all of it. :class:`TabulatedSphericalPotential` tabulates M(<r) of
one or several spherical potentials once (the Milky Way's halo and bulge together, say) and
evaluates the force from a cubic Hermite spline of M on cells found from the bits of r²:
one row of four coefficients, a few integer operations and one √ per evaluation, whatever
the profiles — instead of NFW's log1p plus the bulge's incomplete-gamma series
(``benchmarks/README.md``, "One table for the spherical components"). AGAMA represents
spherical profiles by splines too (its ``Multipole`` potential interpolates the l = 0 term
in ln r; Vasiliev 2019, MNRAS 482, 1525, §2.2).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import units as U
from .._validation import check_finite_scalar, check_power_of_two
from ._base import AbstractPotential, AbstractSphericalPotential, CompositePotential, squared_norm

__all__ = ["TabulatedSphericalPotential", "tabulate_spherical"]


def _spherical_components(potential) -> tuple[AbstractSphericalPotential, ...]:
    comps = potential.components if isinstance(potential, CompositePotential) else (potential,)
    comps = tuple(comps)
    bad = [type(c).__name__ for c in comps if not isinstance(c, AbstractSphericalPotential)]
    if not comps or bad:
        raise TypeError(
            "TabulatedSphericalPotential: potential must be a spherical potential (AbstractSphericalPotential) "
            f"or a CompositePotential of spherical potentials; got components {bad or '()'}"
        )
    return comps


class TabulatedSphericalPotential(AbstractSphericalPotential):
    r"""The force of spherical potentials from a cubic Hermite spline of their M(<r).

    The table's cells split each octave of r², [2ᵉ, 2ᵉ⁺¹), into 2ᵏ equal steps
    (k = log₂ `cells_per_octave`), from the octave holding r_min² to the one holding r_max²:
    a cell is found from r²'s floating-point exponent and the k leading bits of its
    mantissa, with no logarithm, and spans a factor ≤ 1 + 2⁻ᵏ in r² (Δ ln r ≤ 0.016 for
    k = 5). On a cell, with s = (r² − r²ᵢ)/(r²ᵢ₊₁ − r²ᵢ) ∈ [0, 1), the enclosed mass
    M(<r) = Σ_c M_c(<r) of the components is the cubic Hermite polynomial in s that matches
    M and dM/d(r²) = 2π r ρ at both ends (the derivative from forward-mode autodiff of the
    components' own forces), and

        ∇Φ(x) = G M(<r) x / r³.

    The spline's error is ~Δ⁴ |d⁴M/ds⁴| / 384 per cell: with the default 32 cells per
    octave (2,560 cells from r = 9.5e-7 to 1.05e6 kpc, an 80 kB table) the force of
    ``milky_way``'s halo + bulge is within 3.7e-9 of the components' own (median 2e-10;
    64 cells: 2.3e-10), tested in ``tests/potentials/test_tabulated.py``.

    Outside the table M(<r) is held at its end value: beyond it the force is that of a
    point mass M(<r_end) (Kepler's), exact if no mass lies beyond; inside it, that of the
    point mass M(<r_start) at the centre (for ``milky_way``'s bulge, ~350 Msun inside
    9.5e-7 kpc).

    Φ, the density and the public ``potential``/``density`` are the components' own
    (exact): only ``grad_phi`` (what integrators call), ``acceleration`` and
    ``mass_enclosed`` read the table. The tabulated force is conservative (central, a
    function of r only); it differs from −∇Φ of the components by the spline's error.

    The table is built when the potential is constructed, as a function of the components'
    parameters, so derivatives with respect to them (M200 of ``milky_way``, say) flow
    through it; changing a component afterwards (``eqx.tree_at``) does not rebuild it, so
    construct a new one instead. Tangents with respect to positions are the spline's own
    derivative (continuous: the spline is C¹ in r²; s is computed from r² in floating point,
    exactly, so it carries the tangent).

    **Arguments:**

    - `potential`: a spherical potential, or a ``CompositePotential`` of spherical ones
      (time-independent, centred on the origin).
    - `r_min`, `r_max` [kpc]: the table's range, rounded outwards to octaves of r² (default
      1e-6 and 1e6).
    - `cells_per_octave`: cells per octave of r² (a factor √2 in r), a power of two from 2
      to 2²⁰ (default 32).
    """

    components: tuple[AbstractSphericalPotential, ...]
    table: Float[Array, "cells 4"]
    e_min: int = eqx.field(static=True)
    bits: int = eqx.field(static=True)
    n_cells: int = eqx.field(static=True)

    def __init__(
        self, potential: AbstractPotential, *, r_min: float = 1e-6, r_max: float = 1e6, cells_per_octave: int = 32
    ):
        self.components = _spherical_components(potential)
        r_min = check_finite_scalar(r_min, "TabulatedSphericalPotential: r_min", lo=0.0, closed=(False, True), unit="kpc")
        r_max = check_finite_scalar(r_max, "TabulatedSphericalPotential: r_max", lo=float(r_min), closed=(False, True), unit="kpc")
        bits = check_power_of_two(cells_per_octave, "TabulatedSphericalPotential: cells_per_octave").bit_length() - 1
        # octaves of r²: [2^e, 2^(e+1)) for e_min ≤ e < e_max, each split into 2^bits cells
        self.e_min = math.floor(math.log2(r_min**2))
        e_max = math.ceil(math.log2(r_max**2))
        self.bits, self.n_cells = bits, (e_max - self.e_min) << bits
        j = np.arange(self.n_cells + 1)
        octave = np.ldexp(1.0, self.e_min + (j >> bits))  # 2^e of node j (exact)
        nodes = octave * (1.0 + (j & (2**bits - 1)) / 2.0**bits)
        widths = np.ldexp(1.0, self.e_min + (j[:-1] >> bits) - bits)  # r² width of cell j
        self.table = self._build_table(jnp.asarray(nodes), jnp.asarray(widths))

    def _mass_exact(self, r2):
        """M(<r) [Msun] of the components at r² [kpc²], from their forces: |∇Φ| r² / G."""
        r = jnp.sqrt(r2)
        x = jnp.stack([r, jnp.zeros_like(r), jnp.zeros_like(r)])
        return sum(c.grad_phi(x, 0.0)[0] for c in self.components) * r2 / U.G

    def _build_table(self, nodes, widths):
        m, dm = jax.vmap(lambda q: jax.jvp(self._mass_exact, (q,), (jnp.ones_like(q),)))(nodes)
        m0, m1, d0, d1 = m[:-1], m[1:], dm[:-1] * widths, dm[1:] * widths
        # M on a cell as c0 + c1 s + c2 s² + c3 s³ (Hermite form in the power basis)
        return jnp.stack([m0, d0, 3.0 * (m1 - m0) - 2.0 * d0 - d1, 2.0 * (m0 - m1) + d0 + d1], axis=-1)

    def _mass_from_r2(self, r2):
        """M(<r) [Msun] from the spline at r² > 0 (held at the end values outside).

        The cell comes from r²'s bits: its exponent and the leading ``bits`` bits of its
        mantissa, offset by the table's first octave (integer operations). s is
        (r² − the cell's start) · 2^bits / 2^e with the start and 2^−e also made from the
        bits: exact in floating point (the subtraction by Sterbenz's lemma, the rest powers
        of two), and linear in r², so tangents flow through it."""
        itype = jnp.int64 if r2.dtype == jnp.float64 else jnp.int32
        nmant = jnp.finfo(r2.dtype).nmant
        bias = jnp.finfo(r2.dtype).maxexp - 1
        word = jax.lax.bitcast_convert_type(r2, itype)
        low = nmant - self.bits
        i = (word >> low) - ((self.e_min + bias) << self.bits)
        start = jax.lax.bitcast_convert_type(word & ~((1 << low) - 1), r2.dtype)
        inv_octave = jax.lax.bitcast_convert_type((2 * bias - (word >> nmant)) << nmant, r2.dtype)  # 2^−e
        s = (r2 - start) * (inv_octave * 2.0**self.bits)
        s = jnp.where(i < 0, 0.0, jnp.where(i >= self.n_cells, 1.0, s))
        c = self.table[jnp.clip(i, 0, self.n_cells - 1).astype(jnp.int32)].astype(r2.dtype)
        return c[0] + s * (c[1] + s * (c[2] + s * c[3]))

    def _gradient(self, x, t):
        # G M(<r) x / r³ with 1/r³ = rsqrt(r²)³ (as AbstractSphericalPotential._gradient)
        r2 = squared_norm(x)
        safe = r2 > 0
        r2s = jnp.where(safe, r2, 1.0)
        inv_r = jax.lax.rsqrt(r2s)
        return jnp.where(safe, U.G * self._mass_from_r2(r2s) * (inv_r * inv_r * inv_r), 0.0) * x

    def _mass_r(self, r):
        safe = r > 0
        return jnp.where(safe, self._mass_from_r2(jnp.where(safe, r * r, 1.0)), 0.0)

    def _potential_r(self, r):
        return sum(c._potential_r(r) for c in self.components)

    def _potential(self, x, t):
        return sum(c.phi(x, t) for c in self.components)

    def _density(self, x, t):
        return sum(c.rho(x, t) for c in self.components)


def tabulate_spherical(
    potential: CompositePotential, *, r_min: float = 1e-6, r_max: float = 1e6, cells_per_octave: int = 32
) -> CompositePotential:
    """``potential`` with its spherical components (e.g. ``milky_way``'s halo and bulge)
    summed into one :class:`TabulatedSphericalPotential` named ``"spherical"``, first, and
    the other components (discs, …) unchanged after it: the same force to the table's
    accuracy (3.7e-9 for ``milky_way``), at the cost of one table lookup for all the
    spherical components. A potential without spherical components is returned as is.

    **Arguments:** `potential`: a ``CompositePotential`` (or a single potential);
    `r_min`, `r_max` [kpc], `cells_per_octave`: as :class:`TabulatedSphericalPotential`.
    """
    if not isinstance(potential, CompositePotential):
        potential = CompositePotential.of(potential)
    comps, names = potential.components, potential.names
    sph = [i for i, c in enumerate(comps) if isinstance(c, AbstractSphericalPotential)]
    if not sph:
        return potential
    table = TabulatedSphericalPotential(
        CompositePotential(tuple(comps[i] for i in sph)), r_min=r_min, r_max=r_max, cells_per_octave=cells_per_octave
    )
    rest = [i for i in range(len(comps)) if i not in sph]
    return CompositePotential((table,) + tuple(comps[i] for i in rest), ("spherical",) + tuple(names[i] for i in rest))
