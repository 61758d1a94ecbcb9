r"""Chandrasekhar dynamical friction on a satellite moving through a host.

Brooks et al. (2025, eq. 1; Chandrasekhar 1943; Binney & Tremaine 2008 eq. 8.7; derivation
and regularisation in ``docs/satellites.md``):

    a_DF = −(4π G² M_sat ρ_host(r) ln Λ / v³) · [erf X − (2X/√π) e^{−X²}] · λ_DF · v,
    X = v / (√2 σ),

with r and v the satellite's position and velocity relative to the host centre, ρ_host the
host's total density at r, σ the host's (fixed) velocity dispersion and λ_DF a free
strength. For a Hernquist satellite of scale radius a, ln Λ = ln(b_max / (1.6 a)) with
b_max = 100 kpc (:func:`coulomb_logarithm`).

Finite everywhere, with finite derivatives:

- v → 0: with F(X) = erf X − (2X/√π) e^{−X²} = (4/√π) ∫₀^X s² e^{−s²} ds,
  F(X)/v³ = F(X)/X³ / (2√2 σ³) and F(X)/X³ = (4/√π)(1/3 − X²/5 + X⁴/14 − X⁶/54 + X⁸/264)
  (the series is used for X < 0.1, error < 1e-12 relative), so a_DF → −(const)·v → 0;
- r → 0: the host density is evaluated at radius max(r, r_floor) along the same direction
  (default r_floor = 0.01 kpc), so a cuspy host (NFW ρ ∝ 1/r) gives a large but finite drag.
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import units as U
from .._validation import as_float_array, check_finite_scalar, check_positive
from ..integrators import AbstractForceTerm
from ..potentials import AbstractPotential

__all__ = ["ChandrasekharFriction", "coulomb_logarithm", "chandrasekhar_factor"]

_SQRT_PI = math.sqrt(math.pi)
_X_SERIES = 0.1


def chandrasekhar_factor(x: Float[ArrayLike, "..."]) -> Float[Array, "..."]:
    r"""F(X)/X³ with F(X) = erf X − (2X/√π) e^{−X²}, smooth and finite at X = 0 (→ 4/(3√π)).

    A series below X = 0.1, the closed form above (both branches are evaluated at safe
    arguments, so gradients are finite everywhere).
    """
    x = jnp.asarray(x)
    small = x < _X_SERIES
    xs = jnp.where(small, x, 0.0)
    x2 = xs * xs
    series = (4.0 / _SQRT_PI) * (1.0 / 3.0 + x2 * (-1.0 / 5.0 + x2 * (1.0 / 14.0 + x2 * (-1.0 / 54.0 + x2 / 264.0))))
    xl = jnp.where(small, 1.0, x)
    closed = (jax.scipy.special.erf(xl) - 2.0 * xl / _SQRT_PI * jnp.exp(-xl * xl)) / xl**3
    return jnp.where(small, series, closed)


def coulomb_logarithm(a_sat, *, b_max=100.0, softening_factor=1.6, floor=0.0):
    r"""ln Λ = ln(b_max / (softening_factor · a_sat)), floored at ``floor`` (default 0).

    Brooks et al.: b_max = 100 kpc (a typical MW–LMC separation) and the softening
    ε = 1.6 a_LMC appropriate for a Hernquist satellite of scale radius a_LMC [kpc].
    Within Table 1's prior (a_LMC = 1.9–38.5 kpc) ln Λ runs from 3.5 down to 0.48; the
    floor keeps the drag from turning into a push for a_sat > b_max/1.6.
    """
    a_sat = check_positive(as_float_array(a_sat, "coulomb_logarithm: a_sat", "kpc"), "coulomb_logarithm: a_sat", unit="kpc")
    return jnp.maximum(jnp.log(b_max / (softening_factor * a_sat)), floor)


class ChandrasekharFriction(AbstractForceTerm):
    r"""Dynamical friction on a satellite (Brooks et al. eq. 1), a velocity-dependent term.

    ``acceleration(t, x, v, args)`` takes the satellite's position x [kpc] and velocity v
    [kpc/Myr] **relative to the host centre** and returns a_DF [kpc/Myr²] (module
    docstring for the formula and its regularisation).

    **Arguments:**

    - `host`: the host potential, whose total density ρ_host(x, t) enters.
    - `mass`: the satellite mass M_sat [Msun].
    - `ln_coulomb`: ln Λ (e.g. :func:`coulomb_logarithm` of the satellite's scale radius).
    - `sigma`: the host's velocity dispersion [km/s] (default 120, Vasiliev et al. 2021).
    - `strength`: λ_DF (default 1; 0 switches friction off).
    - `r_floor` [kpc]: the density is evaluated no closer than this to the host centre.
    """

    host: AbstractPotential
    mass: Float[Array, ""]
    ln_coulomb: Float[Array, ""]
    sigma: Float[Array, ""]
    strength: Float[Array, ""]
    r_floor: float = eqx.field(static=True, default=0.01)
    velocity_dependent: ClassVar[bool] = True

    def __init__(self, host, mass, ln_coulomb, *, sigma=120.0, strength=1.0, r_floor: float = 0.01):
        if not isinstance(host, AbstractPotential):
            raise TypeError(f"host must be a potential; got {type(host).__name__}")
        self.host = host
        self.mass = check_positive(as_float_array(mass, "ChandrasekharFriction: mass", "Msun"), "ChandrasekharFriction: mass", unit="Msun")
        self.ln_coulomb = as_float_array(ln_coulomb, "ChandrasekharFriction: ln_coulomb")
        sigma = check_positive(as_float_array(sigma, "ChandrasekharFriction: sigma", "km/s"), "ChandrasekharFriction: sigma", unit="km/s")
        self.sigma = sigma * U.KMS_TO_KPC_MYR
        self.strength = as_float_array(strength, "ChandrasekharFriction: strength")
        self.r_floor = check_finite_scalar(r_floor, "ChandrasekharFriction: r_floor", unit="kpc", lo=0.0, closed=(False, True))

    def acceleration(self, t, x, v, args):
        r2 = jnp.sum(x * x)
        floor2 = self.r_floor**2
        inside = r2 > floor2
        # radius floored at r_floor along the same direction; any direction at x = 0
        scale = jnp.where(inside, 1.0, self.r_floor / jnp.sqrt(jnp.where(inside, floor2, jnp.maximum(r2, 1e-300))))
        x_eval = jnp.where(r2 > 0, x * scale, jnp.array([self.r_floor, 0.0, 0.0], x.dtype))
        rho = self.host.rho(x_eval, t)
        v2 = jnp.sum(v * v)
        speed = jnp.sqrt(jnp.where(v2 > 0, v2, 1.0))
        speed = jnp.where(v2 > 0, speed, 0.0)
        X = speed / (jnp.sqrt(2.0) * self.sigma)
        # F(X)/v³ = [F(X)/X³] / (2√2 σ³)
        f_over_v3 = chandrasekhar_factor(X) / (2.0 * jnp.sqrt(2.0) * self.sigma**3)
        coeff = 4.0 * jnp.pi * U.G**2 * self.mass * rho * self.ln_coulomb * self.strength * f_over_v3
        return (-coeff * v).astype(x.dtype)
