"""Orbit integration: vmapped symplectic schemes, per-orbit adaptive steps, diffrax.

- :func:`integrate_orbits` — the public entry point (kpc, km/s, Myr at the boundary);
  returns an :class:`OrbitResult`.
- fixed-step symplectic schemes on ``lax.scan`` (``_schemes.py``, ``_fixed.py``):
  kick–drift–kick leapfrog, Yoshida/Suzuki/Kahan–Li compositions, Blanes–Moan
  Runge–Kutta–Nyström splittings;
- :class:`ErrorControl` — embedded Runge–Kutta (dopri8, tsit5, dopri5) with per-orbit
  error control on load-balanced lanes (``_rk.py``): the fastest accurate engine;
- :class:`AdaptiveSteps` — per-orbit adaptive, time-symmetric compositions on the same
  lanes (``_adaptive.py``, step function in ``_stepfunction.py``);
- diffrax ``dopri8`` / ``tsit5`` per-orbit adaptive solves, vmapped (``_diffrax.py``);
- force terms (``_terms.py``): :class:`AbstractForceTerm`, :class:`GravityTerm`,
  :class:`ConstantAcceleration`, :class:`SumOfTerms`; velocity-dependent terms are kicked
  by implicit midpoint (``_kick.py``);
- sharding of the particle axis over devices (``_sharding.py``);
- the host–satellite (MW–LMC) two-body orbit (``_twobody.py``) with Chandrasekhar
  dynamical friction (``_friction.py``), and the satellite's force on tracers in the
  host's non-inertial frame (:class:`SatelliteInHostFrame`).
"""

from ._adaptive import AdaptiveSteps
from ._api import METHODS, integrate_orbits
from ._diffrax import DiffraxOptions
from ._friction import ChandrasekharFriction, chandrasekhar_factor, coulomb_logarithm
from ._result import OrbitResult
from ._rk import ErrorControl
from ._schemes import SCHEMES, Scheme
from ._sharding import map_over_devices, particle_mesh, shard_particles
from ._stepfunction import StepFunction
from ._terms import AbstractForceTerm, ConstantAcceleration, GravityTerm, SumOfTerms, as_force_term
from ._twobody import TWO_BODY_METHODS, SatelliteInHostFrame, TwoBodyOrbit, integrate_two_body

__all__ = [
    "AbstractForceTerm",
    "AdaptiveSteps",
    "ChandrasekharFriction",
    "ConstantAcceleration",
    "DiffraxOptions",
    "ErrorControl",
    "GravityTerm",
    "METHODS",
    "OrbitResult",
    "SCHEMES",
    "SatelliteInHostFrame",
    "Scheme",
    "StepFunction",
    "SumOfTerms",
    "TWO_BODY_METHODS",
    "TwoBodyOrbit",
    "as_force_term",
    "chandrasekhar_factor",
    "coulomb_logarithm",
    "integrate_orbits",
    "integrate_two_body",
    "map_over_devices",
    "particle_mesh",
    "shard_particles",
]
