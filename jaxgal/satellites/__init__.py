"""A satellite and its host as a system: the MW–LMC pair of Brooks et al.

- :func:`integrate_two_body` — both rigid centres moving under each other's gravity, with
  Chandrasekhar dynamical friction on the satellite, integrated by the shared solvers of
  :mod:`jaxgal.integrators`; returns a :class:`TwoBodyOrbit` (Hermite-interpolated
  separation, pericentre);
- :func:`host_satellite_field` — that system's vector field (:class:`MutualGravity` +
  :class:`SatelliteFriction`);
- :class:`ChandrasekharFriction`, :func:`chandrasekhar_factor`, :func:`coulomb_logarithm`;
- :class:`SatelliteInHostFrame` — the satellite's tidal force on tracers in the host's
  accelerating frame.

The equations are in ``docs/satellites.md``.
"""

from ._field import MutualGravity, SatelliteFriction, host_satellite_field
from ._friction import ChandrasekharFriction, chandrasekhar_factor, coulomb_logarithm
from ._orbit import TwoBodyOrbit, integrate_two_body
from ._tidal import SatelliteInHostFrame

__all__ = [
    "ChandrasekharFriction",
    "MutualGravity",
    "SatelliteFriction",
    "SatelliteInHostFrame",
    "TwoBodyOrbit",
    "chandrasekhar_factor",
    "coulomb_logarithm",
    "host_satellite_field",
    "integrate_two_body",
]
