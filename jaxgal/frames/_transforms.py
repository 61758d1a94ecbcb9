"""The heliocentric ⇄ Galactocentric transforms (Galactic, ICRS, GD-1 stream frame).

Every transform is pure JAX (jit-, vmap- and grad-able, any leading batch shape) and agrees
with astropy to round-off (``docs/frames.md`` has the construction). The cores below take
arrays with one batch axis and the frame's arrays; the public functions convert and check
their arguments at the boundary (``_boundary.py``) and restore the batch shape.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._boundary import GALACTIC, GD1, GD1_SKY, ICRS, ICRS_SKY, coordinates, phase_space, run_sph, run_w
from ._coords import GalacticCoords, GD1Coords, GD1SkyCoords, ICRSCoords, ICRSSkyCoords
from ._galactocentric import FrameArrays, GalactocentricFrame, resolve_frame
from ._matrices import GALACTIC_TO_ICRS, GD1_TO_ICRS, ICRS_TO_GALACTIC, ICRS_TO_GD1, IDENTITY, apply, apply_t
from ._spherical import sph_stack, sph_to_cart

__all__ = [
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
]


def _gc_to_icrs_cart(w: Array, fa: FrameArrays) -> tuple[Array, Array]:
    """Galactocentric (x, v) → heliocentric ICRS Cartesian: Aᵀ(x − x☉), Aᵀ(v − v☉)."""
    a = fa.a.astype(w.dtype)
    x = apply_t(a, w[..., :3] - fa.x_sun.astype(w.dtype))
    v = apply_t(a, w[..., 3:] - fa.v_sun.astype(w.dtype))
    return x, v


def _icrs_cart_to_gc(x: Array, v: Array, fa: FrameArrays) -> Array:
    """Heliocentric ICRS Cartesian → Galactocentric (..., 6): A x + x☉, A v + v☉."""
    a = fa.a.astype(x.dtype)
    xg = apply(a, x) + fa.x_sun.astype(x.dtype)
    vg = apply(a, v) + fa.v_sun.astype(x.dtype)
    return jnp.concatenate([xg, vg], axis=-1)


# --- jitted cores ----------------------------------------------------------------------
# Each takes arrays with one batch axis (N,) or (N, 6) and the frame arrays. Cores that
# produce spherical coordinates return them stacked as one (6, N) array: XLA compiles a
# single output noticeably faster than six.


@jax.jit
def _core_gc_to_gal(w, fa):
    x, v = _gc_to_icrs_cart(w, fa)
    return sph_stack(apply(ICRS_TO_GALACTIC, x), apply(ICRS_TO_GALACTIC, v), 360)


@jax.jit
def _core_gc_to_icrs(w, fa):
    x, v = _gc_to_icrs_cart(w, fa)
    return sph_stack(x, v, 360)


@jax.jit
def _core_gc_to_gd1(w, fa):
    x, v = _gc_to_icrs_cart(w, fa)
    return sph_stack(apply(ICRS_TO_GD1, x), apply(ICRS_TO_GD1, v), 180)


@jax.jit
def _core_sph_to_gc(lon, lat, d, vr, pml, pmb, m, fa):
    """Heliocentric spherical in the frame whose axes are m·(ICRS axes) → Galactocentric."""
    x, v = sph_to_cart(lon, lat, d, vr, pml, pmb)
    return _icrs_cart_to_gc(apply(m, x), apply(m, v), fa)


@functools.partial(jax.jit, static_argnames="wrap")
def _core_rotate6(lon, lat, d, vr, pml, pmb, m, wrap):
    x, v = sph_to_cart(lon, lat, d, vr, pml, pmb)
    return sph_stack(apply(m, x), apply(m, v), wrap)


def galactocentric_to_galactic(w, frame=None) -> GalacticCoords:
    """Galactocentric phase space → heliocentric Galactic coordinates.

    x_gal = M Aᵀ (x − x☉), v_gal = M Aᵀ (v − v☉) (M = :data:`ICRS_TO_GALACTIC`, A and x☉ of
    :class:`GalactocentricFrame`), then spherical: l = atan2(y, x) ∈ [0°, 360°),
    b = atan2(z, √(x² + y²)), d = |x|, v_los = v·ê_r, μ_l* = v·ê_l/(k d), μ_b = v·ê_b/(k d).
    Agrees with ``SkyCoord(..., frame=Galactocentric).transform_to(Galactic())``.

    **Arguments:**

    - `w`: (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** a :class:`GalacticCoords` ``(l, b, distance, v_los, pm_l_cosb, pm_b)`` of
    arrays of shape (...): deg, deg, kpc, km/s, mas/yr, mas/yr.
    """
    return GalacticCoords(*run_w(_core_gc_to_gal, phase_space(w), resolve_frame(frame), stacked=True))


def galactic_to_galactocentric(
    l, b, distance, v_los, pm_l_cosb, pm_b, frame=None
) -> Float[Array, "... 6"]:
    """Heliocentric Galactic coordinates → Galactocentric phase space (inverse of
    :func:`galactocentric_to_galactic`).

    x = A Mᵀ d ê_r + x☉, v = A Mᵀ (v_los ê_r + k d μ_l* ê_l + k d μ_b ê_b) + v☉.

    **Arguments:**

    - `l`, `b`: Galactic longitude and latitude [deg].
    - `distance`: heliocentric distance [kpc].
    - `v_los`: heliocentric line-of-sight velocity [km/s].
    - `pm_l_cosb`, `pm_b`: proper motions μ_l cos b, μ_b [mas/yr].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    All arguments broadcast together (astropy Quantities accepted).

    **Returns:** (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    """
    args = coordinates("galactic_to_galactocentric", GALACTIC, (l, b, distance, v_los, pm_l_cosb, pm_b))
    return run_sph(_core_sph_to_gc, args, GALACTIC_TO_ICRS, resolve_frame(frame), stacked=False)


def galactocentric_to_icrs(w, frame=None) -> ICRSCoords:
    """Galactocentric phase space → ICRS (barycentric) coordinates.

    x_icrs = Aᵀ (x − x☉), v_icrs = Aᵀ (v − v☉), then spherical (ra ∈ [0°, 360°)).
    Agrees with ``SkyCoord(..., frame=Galactocentric).transform_to(ICRS())``.

    **Arguments:**

    - `w`: (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** an :class:`ICRSCoords` ``(ra, dec, distance, radial_velocity, pm_ra_cosdec,
    pm_dec)``: deg, deg, kpc, km/s, mas/yr, mas/yr.
    """
    return ICRSCoords(*run_w(_core_gc_to_icrs, phase_space(w), resolve_frame(frame), stacked=True))


def icrs_to_galactocentric(
    ra,
    dec,
    distance,
    radial_velocity,
    pm_ra_cosdec,
    pm_dec,
    frame=None,
) -> Float[Array, "... 6"]:
    """ICRS coordinates → Galactocentric phase space: x = A d ê_r + x☉,
    v = A (v_r ê_r + k d μ_α* ê_α + k d μ_δ ê_δ) + v☉.

    **Arguments:**

    - `ra`, `dec`: right ascension and declination [deg].
    - `distance`: heliocentric distance [kpc].
    - `radial_velocity`: heliocentric radial velocity [km/s].
    - `pm_ra_cosdec`, `pm_dec`: proper motions μ_α cos δ, μ_δ [mas/yr].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    """
    args = coordinates("icrs_to_galactocentric", ICRS, (ra, dec, distance, radial_velocity, pm_ra_cosdec, pm_dec))
    return run_sph(_core_sph_to_gc, args, IDENTITY, resolve_frame(frame), stacked=False)


def galactic_to_icrs(l, b, distance, v_los, pm_l_cosb, pm_b) -> ICRSCoords:
    """Heliocentric Galactic → ICRS (a fixed rotation, x_icrs = Mᵀ x_gal; no solar
    parameters involved).

    **Arguments:** `l`, `b` [deg], `distance` [kpc], `v_los` [km/s], `pm_l_cosb`, `pm_b`
    [mas/yr] (broadcast together; Quantities accepted).

    **Returns:** an :class:`ICRSCoords` ``(ra, dec, distance, radial_velocity, pm_ra_cosdec,
    pm_dec)``.
    """
    args = coordinates("galactic_to_icrs", GALACTIC, (l, b, distance, v_los, pm_l_cosb, pm_b))
    return ICRSCoords(*run_sph(_core_rotate6, args, GALACTIC_TO_ICRS, 360, stacked=True))


def icrs_to_galactic(ra, dec, distance, radial_velocity, pm_ra_cosdec, pm_dec) -> GalacticCoords:
    """ICRS → heliocentric Galactic (x_gal = M x_icrs, M = :data:`ICRS_TO_GALACTIC`).

    **Arguments:** `ra`, `dec` [deg], `distance` [kpc], `radial_velocity` [km/s],
    `pm_ra_cosdec`, `pm_dec` [mas/yr] (broadcast together; Quantities accepted).

    **Returns:** a :class:`GalacticCoords` ``(l, b, distance, v_los, pm_l_cosb, pm_b)``.
    """
    args = coordinates("icrs_to_galactic", ICRS, (ra, dec, distance, radial_velocity, pm_ra_cosdec, pm_dec))
    return GalacticCoords(*run_sph(_core_rotate6, args, ICRS_TO_GALACTIC, 360, stacked=True))


def icrs_to_gd1(ra, dec, pm_ra_cosdec, pm_dec) -> GD1SkyCoords:
    """ICRS sky position and proper motion → GD-1 frame of Koposov et al. (2010).

    x_gd1 = R x_icrs with R = :data:`ICRS_TO_GD1` (gala's ``GD1Koposov10``), applied to the
    unit vector and the tangential velocity; φ1 ∈ (−180°, 180°]. Proper motions do not depend
    on distance for a rotation.

    **Arguments:** `ra`, `dec` [deg], `pm_ra_cosdec`, `pm_dec` [mas/yr].

    **Returns:** a :class:`GD1SkyCoords` ``(phi1, phi2, pm_phi1_cosphi2, pm_phi2)``: deg, deg,
    mas/yr, mas/yr.
    """
    ra, dec, pm1, pm2 = coordinates("icrs_to_gd1", ICRS_SKY, (ra, dec, pm_ra_cosdec, pm_dec))
    return GD1SkyCoords(*_rotate_sky(ra, dec, pm1, pm2, ICRS_TO_GD1, 180))


def gd1_to_icrs(phi1, phi2, pm_phi1_cosphi2, pm_phi2) -> ICRSSkyCoords:
    """GD-1 (Koposov et al. 2010) → ICRS sky position and proper motion; the exact inverse of
    :func:`icrs_to_gd1` (x_icrs = R⁻¹ x_gd1).

    **Arguments:** `phi1`, `phi2` [deg], `pm_phi1_cosphi2`, `pm_phi2` [mas/yr].

    **Returns:** an :class:`ICRSSkyCoords` ``(ra, dec, pm_ra_cosdec, pm_dec)``, ra ∈ [0°, 360°).
    """
    p1, p2, m1, m2 = coordinates("gd1_to_icrs", GD1_SKY, (phi1, phi2, pm_phi1_cosphi2, pm_phi2))
    return ICRSSkyCoords(*_rotate_sky(p1, p2, m1, m2, GD1_TO_ICRS, 360))


def _rotate_sky(lon, lat, pm_lon, pm_lat, matrix, wrap):
    """Rotate sky positions and proper motions by ``matrix`` (unit distance, zero radial
    velocity: a rotation's proper motions do not depend on either); longitudes wrapped at
    ``wrap`` (180 or 360). Returns (lon, lat, pm_lon, pm_lat)."""
    one, zero = jnp.ones_like(lon), jnp.zeros_like(lon)
    lon2, lat2, _, _, pm1, pm2 = run_sph(
        _core_rotate6, [lon, lat, one, zero, pm_lon, pm_lat], matrix, wrap, stacked=True
    )
    return lon2, lat2, pm1, pm2


def galactocentric_to_gd1(w, frame=None) -> GD1Coords:
    """Galactocentric phase space → GD-1 stream coordinates (Koposov et al. 2010).

    x_gd1 = R Aᵀ (x − x☉), v_gd1 = R Aᵀ (v − v☉), then spherical with φ1 ∈ (−180°, 180°].

    **Arguments:**

    - `w`: (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** a :class:`GD1Coords` ``(phi1, phi2, distance, pm_phi1_cosphi2, pm_phi2,
    radial_velocity)``: deg, deg, kpc, mas/yr, mas/yr, km/s.
    """
    lon, lat, d, vr, pm1, pm2 = run_w(
        _core_gc_to_gd1, phase_space(w), resolve_frame(frame), stacked=True
    )
    return GD1Coords(lon, lat, d, pm1, pm2, vr)


def gd1_to_galactocentric(
    phi1,
    phi2,
    distance,
    pm_phi1_cosphi2,
    pm_phi2,
    radial_velocity,
    frame=None,
) -> Float[Array, "... 6"]:
    """GD-1 stream coordinates → Galactocentric phase space (inverse of
    :func:`galactocentric_to_gd1`): x = A R⁻¹ d ê_r + x☉, v = A R⁻¹ (v_r ê_r + k d μ_φ1* ê_φ1 +
    k d μ_φ2 ê_φ2) + v☉.

    **Arguments:** `phi1`, `phi2` [deg], `distance` [kpc], `pm_phi1_cosphi2`, `pm_phi2`
    [mas/yr], `radial_velocity` [km/s] (broadcast together; Quantities accepted; a NaN, e.g. a
    missing radial velocity, propagates to the velocity components), `frame`.

    **Returns:** (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    """
    p1, p2, d, m1, m2, vr = coordinates("gd1_to_galactocentric", GD1, (phi1, phi2, distance, pm_phi1_cosphi2, pm_phi2, radial_velocity))
    return run_sph(
        _core_sph_to_gc, [p1, p2, d, vr, m1, m2], GD1_TO_ICRS, resolve_frame(frame), stacked=False
    )
