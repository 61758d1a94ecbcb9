"""Coordinate frames: Galactocentric ⇄ heliocentric (Galactic, ICRS, GD-1), v_GSR and v_t,b.

Every transform is pure JAX (jit-, vmap- and grad-able, any leading batch shape) and agrees
with astropy to round-off. Units at the boundary: positions in **kpc**, velocities in
**km/s**, angles in **deg**, proper motions in **mas/yr** (astropy Quantities accepted for
the spherical arguments, converted before any tracing). Latitudes must lie in [−90°, 90°]
and distances be ≥ 0, as in astropy. Longitudes are returned in [0°, 360°) (l, ra) or
(−180°, 180°] (φ1, as gala's wrap at 180°).

- :class:`GalactocentricFrame` — the Sun's position and velocity (astropy's v4.0 defaults:
  R☉ = 8.122 kpc, z☉ = 20.8 pc, v☉ = (12.9, 245.6, 7.78) km/s), differentiable leaves;
- transforms: :func:`galactocentric_to_galactic` / :func:`galactic_to_galactocentric`,
  :func:`galactocentric_to_icrs` / :func:`icrs_to_galactocentric`,
  :func:`galactic_to_icrs` / :func:`icrs_to_galactic`, :func:`icrs_to_gd1` /
  :func:`gd1_to_icrs`, :func:`galactocentric_to_gd1` / :func:`gd1_to_galactocentric`;
- velocities at a star: :func:`v_gsr`, :func:`v_tb`, :func:`v_los_to_v_gsr`,
  :func:`v_gsr_to_v_los`;
- the fixed rotations :data:`ICRS_TO_GALACTIC`, :data:`ICRS_TO_GD1`, :data:`ROLL0_DEG`.

The equations and their sources are in ``docs/frames.md``.
"""

from ._coords import GalacticCoords, GD1Coords, GD1SkyCoords, ICRSCoords, ICRSSkyCoords
from ._galactocentric import GalactocentricFrame
from ._matrices import ICRS_TO_GALACTIC, ICRS_TO_GD1, ROLL0_DEG
from ._transforms import (
    galactic_to_galactocentric,
    galactic_to_icrs,
    galactocentric_to_galactic,
    galactocentric_to_gd1,
    galactocentric_to_icrs,
    gd1_to_galactocentric,
    gd1_to_icrs,
    icrs_to_galactic,
    icrs_to_galactocentric,
    icrs_to_gd1,
)
from ._velocities import v_gsr, v_gsr_to_v_los, v_los_to_v_gsr, v_tb

__all__ = [
    "GalactocentricFrame",
    "GalacticCoords",
    "ICRSCoords",
    "GD1Coords",
    "GD1SkyCoords",
    "ICRSSkyCoords",
    "ICRS_TO_GALACTIC",
    "ICRS_TO_GD1",
    "ROLL0_DEG",
    "galactocentric_to_galactic",
    "galactic_to_galactocentric",
    "galactocentric_to_icrs",
    "icrs_to_galactocentric",
    "galactic_to_icrs",
    "icrs_to_galactic",
    "icrs_to_gd1",
    "gd1_to_icrs",
    "galactocentric_to_gd1",
    "gd1_to_galactocentric",
    "v_gsr",
    "v_tb",
    "v_los_to_v_gsr",
    "v_gsr_to_v_los",
]
