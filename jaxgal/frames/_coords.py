"""The named tuples the transforms return (one per coordinate system)."""

from __future__ import annotations

from typing import NamedTuple

from jaxtyping import Array

__all__ = ["GalacticCoords", "ICRSCoords", "ICRSSkyCoords", "GD1Coords", "GD1SkyCoords"]


class GalacticCoords(NamedTuple):
    """Heliocentric Galactic coordinates: l, b [deg], distance [kpc], v_los [km/s],
    pm_l_cosb, pm_b [mas/yr]."""

    l: Array
    b: Array
    distance: Array
    v_los: Array
    pm_l_cosb: Array
    pm_b: Array


class ICRSCoords(NamedTuple):
    """ICRS coordinates: ra, dec [deg], distance [kpc], radial_velocity [km/s],
    pm_ra_cosdec, pm_dec [mas/yr]."""

    ra: Array
    dec: Array
    distance: Array
    radial_velocity: Array
    pm_ra_cosdec: Array
    pm_dec: Array


class ICRSSkyCoords(NamedTuple):
    """ICRS sky position and proper motion: ra, dec [deg], pm_ra_cosdec, pm_dec [mas/yr]."""

    ra: Array
    dec: Array
    pm_ra_cosdec: Array
    pm_dec: Array


class GD1Coords(NamedTuple):
    """GD-1 (Koposov et al. 2010) coordinates: phi1, phi2 [deg], distance [kpc],
    pm_phi1_cosphi2, pm_phi2 [mas/yr], radial_velocity [km/s] (gala's attribute order)."""

    phi1: Array
    phi2: Array
    distance: Array
    pm_phi1_cosphi2: Array
    pm_phi2: Array
    radial_velocity: Array


class GD1SkyCoords(NamedTuple):
    """GD-1 sky position and proper motion: phi1, phi2 [deg], pm_phi1_cosphi2, pm_phi2
    [mas/yr]."""

    phi1: Array
    phi2: Array
    pm_phi1_cosphi2: Array
    pm_phi2: Array
