r"""The host–satellite pair as a vector field (galax's ``NBodyField`` shape), integrated by
the shared solvers of :mod:`jaxgal.integrators`.

Both centres move (Brooks et al. 2025 §3.1.3; ``docs/satellites.md``). The configuration
is the 6-vector x = (x_host, x_sat) [kpc] with velocities v = (v_host, v_sat) [kpc/Myr];
with r = x_sat − x_host and u = v_sat − v_host,

    ẍ_host = −∇Φ_sat(−r),        ẍ_sat = −∇Φ_host(r) + a_DF(r, u),

where a_DF is the satellite's dynamical friction (:class:`ChandrasekharFriction`, or
none). The field is a sum of two force terms — the mutual gravity, which depends on
positions only, and the friction, which depends on the velocities — so that the symplectic
solvers carry the gravity between steps and solve the friction by implicit midpoint in
each kick, while the Runge–Kutta solvers evaluate their sum.
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp

from ..integrators import AbstractForceTerm, SumOfTerms
from ..potentials import AbstractPotential
from ._friction import ChandrasekharFriction

__all__ = ["MutualGravity", "SatelliteFriction", "host_satellite_field"]


class MutualGravity(AbstractForceTerm):
    """The two rigid centres' pull on each other: (a_host, a_sat) for x = (x_host, x_sat).

    **Arguments:** `host`, `satellite`: the two potentials, each centred on its own centre.
    """

    host: AbstractPotential
    satellite: AbstractPotential
    velocity_dependent: ClassVar[bool] = False

    def acceleration(self, t, x, v, args):
        r = x[3:] - x[:3]
        return jnp.concatenate([-self.satellite.grad_phi(-r, t), -self.host.grad_phi(r, t)])


class SatelliteFriction(AbstractForceTerm):
    """Dynamical friction on the satellite's motion relative to the host: (0, a_DF(r, u)).

    **Arguments:** `friction`: a :class:`ChandrasekharFriction` (relative coordinates).
    """

    friction: ChandrasekharFriction
    velocity_dependent: ClassVar[bool] = True

    def acceleration(self, t, x, v, args):
        a = self.friction.acceleration(t, x[3:] - x[:3], v[3:] - v[:3], args)
        return jnp.concatenate([jnp.zeros_like(a), a])


def host_satellite_field(
    host: AbstractPotential, satellite: AbstractPotential, friction: ChandrasekharFriction | None = None
) -> SumOfTerms:
    """The force of the host–satellite pair (module docstring) as a :class:`SumOfTerms`
    acting on x = (x_host, x_sat) (6,) [kpc], v (6,) [kpc/Myr] → [kpc/Myr²]."""
    if not isinstance(host, AbstractPotential) or not isinstance(satellite, AbstractPotential):
        raise TypeError(
            f"host and satellite must be potentials; got {type(host).__name__} and {type(satellite).__name__}"
        )
    terms: list[AbstractForceTerm] = [MutualGravity(host, satellite)]
    if friction is not None:
        if not isinstance(friction, ChandrasekharFriction):
            raise TypeError(f"friction must be a ChandrasekharFriction or None; got {type(friction).__name__}")
        terms.append(SatelliteFriction(friction))
    return SumOfTerms(terms)
