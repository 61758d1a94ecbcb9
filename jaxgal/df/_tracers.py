"""Tracer density profiles ν(r) for the distribution functions: small pure equinox Modules.

A tracer is anything with a differentiable ``log_density(r)`` (r in kpc, any shape); the DF
construction only needs ln ν and its first two derivatives with respect to ln r, which it
takes by autodiff, so a new profile is a subclass with one method. Normalisation is
arbitrary (ν is the tracer's number or mass density in whatever units ``rho_s`` carries);
sampling does not depend on it, ``ConstantBetaDF.f`` and ``.density`` scale with it.

The Brooks et al. stellar halo (their eq. 2; ``docs/df.md``) is

    ν(r) ∝ (r / r_dens)⁻¹ [1 + r / r_dens]^(1 − γ),

with inner logarithmic slope −1 and outer slope −γ; the paper's Table 1 draws
r_dens ~ U(10, 20) kpc and γ ~ U(3, 5) (its text quotes the slope, "γ ∈ [−3, −5]"). The
paper's r̃ is taken as the spherical radius: no flattening is given and a constant-β DF
needs a spherical tracer. It is the α = 1, inner = 1, outer = γ member of the
double-power-law (Zhao 1996; AGAMA's ``Spheroid`` with its β = outer, γ = inner) family
implemented by :class:`DoublePowerLaw`.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import units as U
from .._validation import as_float_array, check_positive, check_range

__all__ = [
    "AbstractTracerDensity",
    "DoublePowerLaw",
    "stellar_halo_density",
    "hernquist_density",
]


def _param(x, unit=None, name="parameter"):
    return as_float_array(x, name, unit)


class AbstractTracerDensity(eqx.Module):
    """A spherical tracer density ν(r). Subclasses implement ``log_density(r)``."""

    @abc.abstractmethod
    def log_density(self, r: Float[ArrayLike, "..."]) -> Float[Array, "..."]:
        """ln ν(r) for r [kpc] of any shape (r > 0)."""

    def density(self, r) -> Float[Array, "..."]:
        """ν(r) for r [kpc] of any shape."""
        return jnp.exp(self.log_density(jnp.asarray(U.to_value(r, "kpc"))))


class DoublePowerLaw(AbstractTracerDensity):
    r"""ν(r) = ρ_s (r/r_s)^(−inner) [1 + (r/r_s)^α]^((inner − outer)/α).

    Zhao's (1996) (α, β, γ) family, AGAMA's ``Spheroid`` with β = ``outer`` and
    γ = ``inner`` (renamed here so that β is free for the anisotropy). Examples: Hernquist
    (α, outer, inner) = (1, 4, 1); the Brooks et al. stellar halo (1, γ, 1); the AGAMA
    reference sample's tracer (1, 4.5, 1) with r_s = 15 kpc.

    **Arguments:** `r_s` [kpc]; `alpha` (transition sharpness, > 0); `outer`, `inner`: the
    asymptotic logarithmic slopes (ν ∝ r^−inner inside, r^−outer outside); `rho_s`: the
    amplitude (any density unit; default 1).
    """

    r_s: Float[Array, ""]
    alpha: Float[Array, ""]
    outer: Float[Array, ""]
    inner: Float[Array, ""]
    rho_s: Float[Array, ""]

    def __init__(self, r_s, alpha=1.0, outer=4.0, inner=1.0, rho_s=1.0):
        self.r_s = check_positive(_param(r_s, "kpc", "DoublePowerLaw: r_s"), "DoublePowerLaw: r_s", unit="kpc")
        self.alpha = check_positive(_param(alpha, name="DoublePowerLaw: alpha"), "DoublePowerLaw: alpha")
        self.outer = check_range(_param(outer, name="DoublePowerLaw: outer"), "DoublePowerLaw: outer")
        self.inner = check_range(_param(inner, name="DoublePowerLaw: inner"), "DoublePowerLaw: inner")
        self.rho_s = check_positive(_param(rho_s, name="DoublePowerLaw: rho_s"), "DoublePowerLaw: rho_s")

    def log_density(self, r):
        lx = jnp.log(r) - jnp.log(self.r_s)
        # ln(1 + x^α) = softplus(α ln x), stable for tiny and huge x
        return (
            jnp.log(self.rho_s)
            - self.inner * lx
            + (self.inner - self.outer) / self.alpha * jnp.logaddexp(0.0, self.alpha * lx)
        )


def stellar_halo_density(r_dens, gamma, rho_s=1.0) -> DoublePowerLaw:
    """The Brooks et al. stellar-halo tracer (their eq. 2):
    ν ∝ (r/r_dens)⁻¹ (1 + r/r_dens)^(1−γ), outer slope −γ (Table 1: r_dens ∈ [10, 20] kpc,
    γ ∈ [3, 5]). Traceable in ``r_dens`` and ``gamma``."""
    return DoublePowerLaw(r_dens, 1.0, gamma, 1.0, rho_s)


def hernquist_density(mass, a) -> DoublePowerLaw:
    """Hernquist (1990) density M a / (2π r (r + a)³) [Msun/kpc³] for M [Msun], a [kpc]."""
    mass = check_positive(_param(mass, "Msun", "hernquist_density: mass"), "hernquist_density: mass", unit="Msun")
    a = check_positive(_param(a, "kpc", "hernquist_density: a"), "hernquist_density: a", unit="kpc")
    return DoublePowerLaw(a, 1.0, 4.0, 1.0, mass / (2.0 * jnp.pi * a**3))
