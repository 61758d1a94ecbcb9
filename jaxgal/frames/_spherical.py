"""Spherical ⇄ Cartesian phase space on the sky (any heliocentric frame).

With unit vectors ê_r = (cos b cos l, cos b sin l, sin b), ê_l = (−sin l, cos l, 0),
ê_b = (−sin b cos l, −sin b sin l, cos b):

    x = d ê_r,    v = v_r ê_r + k d μ_l* ê_l + k d μ_b ê_b,

and conversely d = |x|, v_r = v·ê_r, μ_l* = v·ê_l / (k d), μ_b = v·ê_b / (k d), with
k = 1 AU/yr = 4.740470463533348 km/s (:data:`jaxgal.units.MASYR_KPC_TO_KMS`).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array

from .. import units as U

__all__ = ["sph_to_cart", "cart_to_sph", "sph_stack", "wrap_360", "wrap_180"]

_K = U.MASYR_KPC_TO_KMS  # km/s per (mas/yr · kpc)


def sph_to_cart(lon, lat, d, v_r, pm_lon, pm_lat) -> tuple[Array, Array]:
    """(lon, lat [deg], d [kpc], v_r [km/s], μ_lon*, μ_lat [mas/yr]) → x [kpc], v [km/s]."""
    lon = jnp.deg2rad(lon)
    lat = jnp.deg2rad(lat)
    cl, sl = jnp.cos(lon), jnp.sin(lon)
    cb, sb = jnp.cos(lat), jnp.sin(lat)
    e_r = jnp.stack([cb * cl, cb * sl, sb], axis=-1)
    e_lon = jnp.stack([-sl, cl, jnp.zeros_like(cl)], axis=-1)
    e_lat = jnp.stack([-sb * cl, -sb * sl, cb], axis=-1)
    x = d[..., None] * e_r
    v = (
        v_r[..., None] * e_r
        + (_K * d * pm_lon)[..., None] * e_lon
        + (_K * d * pm_lat)[..., None] * e_lat
    )
    return x, v


def cart_to_sph(x: Array, v: Array):
    """x [kpc], v [km/s] → lon [deg, (−180, 180]], lat [deg], d, v_r, μ_lon*, μ_lat, and the
    tangential speeds v_lon = v·ê_lon, v_lat = v·ê_lat [km/s].

    The unit vectors use cos l = x/R, sin l = y/R, cos b = R/d, sin b = z/d (R = √(x² + y²)),
    with (cos l, sin l) = (1, 0) on the poles.
    """
    X, Y, Z = x[..., 0], x[..., 1], x[..., 2]
    r2 = X * X + Y * Y
    on_axis = r2 == 0
    safe_rxy = jnp.sqrt(jnp.where(on_axis, 1.0, r2))  # finite gradients on the z axis
    rxy = jnp.where(on_axis, 0.0, safe_rxy)
    d = jnp.sqrt(r2 + Z * Z)
    lon = jnp.arctan2(Y, X)
    lat = jnp.arctan2(Z, rxy)
    cl = jnp.where(on_axis, 1.0, X / safe_rxy)
    sl = jnp.where(on_axis, 0.0, Y / safe_rxy)
    cb, sb = rxy / d, Z / d
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    v_rxy = cl * vx + sl * vy
    v_r = cb * v_rxy + sb * vz
    v_lon = -sl * vx + cl * vy
    v_lat = -sb * v_rxy + cb * vz
    pm_lon, pm_lat = v_lon / (_K * d), v_lat / (_K * d)
    return jnp.rad2deg(lon), jnp.rad2deg(lat), d, v_r, pm_lon, pm_lat, v_lon, v_lat


def wrap_360(lon_deg: Array) -> Array:
    """Longitude from (−180, 180] to [0, 360)."""
    lon = jnp.where(lon_deg < 0, lon_deg + 360.0, lon_deg)
    return jnp.where(lon >= 360.0, lon - 360.0, lon)


def wrap_180(lon_deg: Array) -> Array:
    """Longitude to (−180, 180]."""
    return jnp.where(lon_deg <= -180.0, lon_deg + 360.0, lon_deg)


def sph_stack(x: Array, v: Array, wrap: int) -> Array:
    """(6, N) stack of (lon, lat, d, v_r, μ_lon*, μ_lat), longitudes wrapped at 360 or 180."""
    lon, lat, d, vr, pm1, pm2, _, _ = cart_to_sph(x, v)
    lon = wrap_360(lon) if wrap == 360 else wrap_180(lon)
    return jnp.stack([lon, lat, d, vr, pm1, pm2])
