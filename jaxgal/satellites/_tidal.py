r"""The satellite's force on tracers in the host's frame.

The tracers of a simulation are integrated in the frame centred on the host, which
accelerates towards the satellite; their equation of motion gains the satellite's tidal
field (``docs/satellites.md``).
"""

from __future__ import annotations

from typing import ClassVar

from jaxtyping import Array, Float

from ..integrators import AbstractForceTerm
from ..potentials import AbstractPotential
from ._orbit import TwoBodyOrbit, hermite_position

__all__ = ["SatelliteInHostFrame"]


class SatelliteInHostFrame(AbstractForceTerm):
    r"""The satellite's pull on a tracer, in the host-centred (non-inertial) frame.

    a(t, x) = −∇Φ_sat(x − r(t)) − a_host(t),  a_host(t) = −∇Φ_sat(−r(t)),

    with r(t) the satellite–host separation of a :class:`TwoBodyOrbit` (Hermite
    interpolated). Add it to the host's gravity: ẍ = −∇Φ_host(x) + this. The
    second term is the fictitious force of the accelerating host frame; together they are
    the satellite's tidal field, which vanishes at the host centre.

    The orbit's Hermite interpolant is tabulated once, at construction
    (:meth:`TwoBodyOrbit.hermite_table`): each evaluation reads one row of polynomial
    coefficients, one gather instead of four grid points (``benchmarks/README.md``,
    "Fewer kernels").

    **Arguments:** `satellite`: its potential (centred at the origin); `orbit`.
    """

    satellite: AbstractPotential
    orbit: TwoBodyOrbit
    table: Float[Array, "m 12"]
    velocity_dependent: ClassVar[bool] = False

    def __init__(self, satellite: AbstractPotential, orbit: TwoBodyOrbit):
        self.satellite = satellite
        self.orbit = orbit
        self.table = orbit.hermite_table()

    def _separation(self, t) -> Float[Array, "3"]:
        ts = self.orbit.t
        return hermite_position(self.table, ts[0], ts[1] - ts[0], t)

    def host_acceleration(self, t) -> Float[Array, "3"]:
        """a_host(t) [kpc/Myr²]: the host centre's acceleration towards the satellite."""
        return -self.satellite.grad_phi(-self._separation(t), t)

    def acceleration(self, t, x, v, args):
        r = self._separation(t).astype(x.dtype)
        return (-self.satellite.grad_phi(x - r, t) + self.satellite.grad_phi(-r, t)).astype(x.dtype)
