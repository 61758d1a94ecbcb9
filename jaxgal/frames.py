"""Coordinate frames: Galactocentric ⇄ heliocentric (Galactic, ICRS, GD-1), v_GSR and v_t,b.

Every transform here is pure JAX (jit-, vmap- and grad-able, any leading batch shape) and
agrees with astropy to round-off. Units at the boundary: positions in **kpc**, velocities in
**km/s**, angles in **deg**, proper motions in **mas/yr** (astropy Quantities are accepted for
the spherical arguments and converted before any tracing). Proper motions and tangential
speeds are related by v_t [km/s] = k μ [mas/yr] d [kpc] with k = 1 AU/yr = 4.740470463533348
km/s (:data:`jaxgal.units.MASYR_KPC_TO_KMS`).

**Galactocentric frame** (astropy ≥ 4.0 defaults, :class:`GalactocentricFrame`). For a
heliocentric (barycentric) ICRS Cartesian position x and velocity v,

    x_gc = A x + x☉,        v_gc = A v + v☉,
    A = H · R_x(ψ₀ − roll) · R_y(−δ_GC) · R_z(α_GC),   H = R_y(−θ),   θ = asin(z☉ / R☉),
    x☉ = −H (R☉, 0, 0) = (−R☉ cos θ, 0, z☉),

where (α_GC, δ_GC) are the ICRS coordinates of Sgr A*, ψ₀ = 58.5986320306° is astropy's
``Galactocentric.get_roll0()`` (it puts the Galactocentric z axis in the Galactic yz plane),
and R_a(φ) is astropy's ``rotation_matrix(φ, a)`` (a passive rotation: R_z(φ) =
[[cos φ, sin φ, 0], [−sin φ, cos φ, 0], [0, 0, 1]]). This is the construction of astropy's
``Galactocentric`` frame (astropy v4.0 paper: Astropy Collaboration 2022, ApJ 935, 167;
the defaults R☉ = 8.122 kpc from GRAVITY 2018, z☉ = 20.8 pc from Bennett & Bovy 2019,
v☉ = (12.9, 245.6, 7.78) km/s from Drimmel & Poggio 2018).

**Galactic** and **ICRS** are heliocentric frames related by the fixed rotation
:data:`ICRS_TO_GALACTIC` (astropy's ICRS → FK5(J2000) → Galactic chain). **GD-1** is the
stream frame (φ1, φ2) of Koposov, Rix & Hogg (2010, ApJ 712, 260, appendix), related to ICRS
by :data:`ICRS_TO_GD1` (the matrix gala's ``GD1Koposov10`` uses).

Spherical ⇄ Cartesian: with unit vectors
ê_r = (cos b cos l, cos b sin l, sin b), ê_l = (−sin l, cos l, 0),
ê_b = (−sin b cos l, −sin b sin l, cos b),

    x = d ê_r,    v = v_r ê_r + k d μ_l* ê_l + k d μ_b ê_b,

and conversely d = |x|, v_r = v·ê_r, μ_l* = v·ê_l / (k d), μ_b = v·ê_b / (k d).

Longitudes are returned in [0°, 360°) (l, ra) or (−180°, 180°] (φ1, as gala's wrap at 180°).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from . import units as U

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

_K = U.MASYR_KPC_TO_KMS  # km/s per (mas/yr · kpc)

#: ICRS → Galactic rotation matrix (Cartesian, x_gal = M x_icrs). This is astropy's: the
#: product of its ``fk5_to_gal`` matrix (Galactic pole at FK5 J2000 (192.8594812065348°,
#: 27.12825118085622°), l of the celestial pole 122.9319185680026°) and its ICRS → FK5(J2000)
#: frame-bias matrix (USNO circular 179), evaluated in float64 with astropy 8.0. Orthogonal
#: to 2e-15; it reproduces ``SkyCoord.transform_to(Galactic())`` to ≈1e-15.
ICRS_TO_GALACTIC: np.ndarray = np.array(
    [
        [-0.05487565771259163, -0.8734370519556158, -0.4838350736167154],
        [0.4941094371927268, -0.4448297212232952, 0.7469821839866676],
        [-0.8676661375596576, -0.19807633727300053, 0.4559838136873017],
    ]
)
_GALACTIC_TO_ICRS: np.ndarray = ICRS_TO_GALACTIC.T.copy()
_IDENTITY: np.ndarray = np.eye(3)

#: ICRS → GD-1 rotation matrix of Koposov, Rix & Hogg (2010, appendix), the 10-digit values
#: gala's ``GD1Koposov10`` uses. Being rounded, it is orthogonal only to ~6e-11 (gala's own
#: inverse, its transpose, round-trips to ~4e-9 deg); jaxgal applies it exactly for
#: ICRS → GD-1 (bit-compatible with gala) and its exact inverse for GD-1 → ICRS, so round
#: trips are exact and GD-1 → ICRS differs from gala's by ≲ 1e-10 rad.
ICRS_TO_GD1: np.ndarray = np.array(
    [
        [-0.4776303088, -0.1738432154, 0.8611897727],
        [0.510844589, -0.8524449229, 0.111245042],
        [0.7147776536, 0.4930681392, 0.4959603976],
    ]
)
_GD1_TO_ICRS: np.ndarray = np.linalg.inv(ICRS_TO_GD1)

#: astropy's ``Galactocentric.get_roll0()``: the roll about the final x axis that puts the
#: Galactocentric z axis in the Galactic yz plane [deg].
ROLL0_DEG: float = 58.5986320306


# ---------------------------------------------------------------------------------------
# Result containers
# ---------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------
# The Galactocentric frame
# ---------------------------------------------------------------------------------------


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _param(value, unit: str, name: str, shape: tuple[int, ...] = ()) -> Array:
    v = U.to_value(value, unit)
    if isinstance(v, jax.core.Tracer):
        arr = v
    else:
        arr = jnp.asarray(v)
        if not jnp.issubdtype(arr.dtype, jnp.inexact):
            arr = arr.astype(jnp.result_type(float))
    if arr.shape != shape:
        raise ValueError(f"GalactocentricFrame: {name} must have shape {shape}; got {arr.shape}")
    return arr


def _xyz(v):
    """The (3,) Quantity of an astropy CartesianDifferential or CartesianRepresentation."""
    return v.d_xyz if hasattr(v, "d_xyz") else v.xyz


def _rotation_matrix(angle_rad: Array, axis: int) -> Array:
    """astropy's ``rotation_matrix(angle, axis)`` (passive rotation) for axis 0, 1, 2 = x, y, z."""
    return _rotation_matrix_cs(jnp.cos(angle_rad), jnp.sin(angle_rad), axis)


def _rotation_matrix_cs(c: Array, s: Array, axis: int) -> Array:
    """The same from (cos φ, sin φ): R[a1, a1] = R[a2, a2] = cos φ, R[a1, a2] = sin φ,
    R[a2, a1] = −sin φ, R[i, i] = 1, with (i, a1, a2) cyclic starting at the axis i."""
    o, z = jnp.ones_like(c), jnp.zeros_like(c)
    a1, a2 = (axis + 1) % 3, (axis + 2) % 3
    rows = [[z, z, z], [z, z, z], [z, z, z]]
    rows[axis][axis] = o
    rows[a1][a1] = c
    rows[a1][a2] = s
    rows[a2][a1] = -s
    rows[a2][a2] = c
    return jnp.stack([jnp.stack(r) for r in rows])


def _matmul(a: Array, b: Array) -> Array:
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


class GalactocentricFrame(eqx.Module):
    """The Galactocentric frame: the Sun's position and velocity relative to the Galaxy.

    Matches ``astropy.coordinates.Galactocentric`` exactly (module docstring for the
    equations). Every parameter is a differentiable JAX leaf, so ``jax.grad`` with respect to
    R☉, z☉ or v☉ works and nothing is precomputed outside a trace.

    **Arguments:**

    - `galcen_distance`: Sun–Galactic-centre distance R☉ [kpc] (default 8.122).
    - `z_sun`: height of the Sun above the mid-plane z☉ [kpc] (default 0.0208 = 20.8 pc).
    - `galcen_v_sun`: the Sun's Galactocentric Cartesian velocity (v_x, v_y, v_z) [km/s]
      (default (12.9, 245.6, 7.78)).
    - `roll`: extra rotation about the final x axis [deg] (default 0).
    - `galcen_ra`, `galcen_dec`: ICRS position of the Galactic centre (Sgr A*) [deg]
      (default 266.4051, −28.936175, astropy's).

    Each argument may be an astropy Quantity. Example (the solar parameters of published
    reflex-motion fits): ``GalactocentricFrame(8.3, 0.02, (11.1, 244.24, 7.25))``.
    """

    galcen_distance: Float[Array, ""]
    z_sun: Float[Array, ""]
    galcen_v_sun: Float[Array, "3"]
    roll: Float[Array, ""]
    galcen_ra: Float[Array, ""]
    galcen_dec: Float[Array, ""]

    def __init__(
        self,
        galcen_distance=8.122,
        z_sun=0.0208,
        galcen_v_sun=(12.9, 245.6, 7.78),
        roll=0.0,
        galcen_ra=266.4051,
        galcen_dec=-28.936175,
    ):
        self.galcen_distance = _param(galcen_distance, "kpc", "galcen_distance")
        self.z_sun = _param(z_sun, "kpc", "z_sun")
        if hasattr(galcen_v_sun, "d_xyz") or hasattr(galcen_v_sun, "xyz"):
            galcen_v_sun = _xyz(galcen_v_sun)  # an astropy CartesianDifferential
        elif isinstance(galcen_v_sun, (tuple, list)):
            galcen_v_sun = jnp.stack([_as_float(U.to_value(c, "km/s")) for c in galcen_v_sun])
        self.galcen_v_sun = _param(galcen_v_sun, "km/s", "galcen_v_sun", (3,))
        self.roll = _param(roll, "deg", "roll")
        self.galcen_ra = _param(galcen_ra, "deg", "galcen_ra")
        self.galcen_dec = _param(galcen_dec, "deg", "galcen_dec")
        if _is_concrete(self.galcen_distance) and _is_concrete(self.z_sun):
            r0, z0 = float(self.galcen_distance), float(self.z_sun)
            if not r0 > 0:
                raise ValueError(f"GalactocentricFrame: galcen_distance must be > 0 kpc; got {r0}")
            if not abs(z0) < r0:
                raise ValueError(
                    f"GalactocentricFrame: |z_sun| must be < galcen_distance; got z_sun={z0} kpc"
                )

    @classmethod
    def from_astropy(cls, frame) -> "GalactocentricFrame":
        """Build from an ``astropy.coordinates.Galactocentric`` frame instance."""
        import astropy.coordinates as coord
        import astropy.units as u

        gc = frame.galcen_coord.transform_to(coord.ICRS())
        return cls(
            galcen_distance=frame.galcen_distance.to_value(u.kpc),
            z_sun=frame.z_sun.to_value(u.kpc),
            galcen_v_sun=_xyz(frame.galcen_v_sun).to_value(u.km / u.s),
            roll=frame.roll.to_value(u.deg),
            galcen_ra=gc.ra.to_value(u.deg),
            galcen_dec=gc.dec.to_value(u.deg),
        )

    def to_astropy(self):
        """The equivalent ``astropy.coordinates.Galactocentric`` frame (concrete values only)."""
        import astropy.coordinates as coord
        import astropy.units as u

        return coord.Galactocentric(
            galcen_coord=coord.ICRS(
                ra=float(self.galcen_ra) * u.deg, dec=float(self.galcen_dec) * u.deg
            ),
            galcen_distance=float(self.galcen_distance) * u.kpc,
            z_sun=float(self.z_sun) * u.kpc,
            galcen_v_sun=np.asarray(self.galcen_v_sun, dtype=float) * u.km / u.s,
            roll=float(self.roll) * u.deg,
        )

    def rotation(self) -> Float[Array, "3 3"]:
        """A = H R_x(ψ₀ − roll) R_y(−δ_GC) R_z(α_GC): ICRS axes → Galactocentric axes."""
        r_z = _rotation_matrix(jnp.deg2rad(self.galcen_ra), 2)
        r_y = _rotation_matrix(jnp.deg2rad(-self.galcen_dec), 1)
        r_x = _rotation_matrix(jnp.deg2rad(ROLL0_DEG - self.roll), 0)
        return _matmul(self._tilt(), _matmul(r_x, _matmul(r_y, r_z)))

    def _tilt(self) -> Float[Array, "3 3"]:
        """H = R_y(−θ), θ = asin(z☉/R☉), built from sin θ = z☉/R☉, cos θ = √(1 − sin²θ)."""
        s = self.z_sun / self.galcen_distance
        return _rotation_matrix_cs(jnp.sqrt(1.0 - s * s), -s, 1)

    def sun_position(self) -> Float[Array, "3"]:
        """Galactocentric position of the Sun x☉ = −H (R☉, 0, 0) = (−R☉ cos θ, 0, z☉) [kpc]."""
        return -self._tilt()[:, 0] * self.galcen_distance

    def sun_velocity(self) -> Float[Array, "3"]:
        """Galactocentric velocity of the Sun v☉ [km/s]."""
        return self.galcen_v_sun


# ---------------------------------------------------------------------------------------
# Internal helpers (all traced)
# ---------------------------------------------------------------------------------------


def _apply(m: Array, x: Array) -> Array:
    """m @ x over the last axis of x, elementwise (exact in float64 on every backend)."""
    m = jnp.asarray(m, dtype=x.dtype)
    return jnp.sum(m * x[..., None, :], axis=-1)


def _apply_t(m: Array, x: Array) -> Array:
    """mᵀ @ x over the last axis of x."""
    m = jnp.asarray(m, dtype=x.dtype)
    return jnp.sum(m * x[..., :, None], axis=-2)


def _sph_to_cart(lon, lat, d, v_r, pm_lon, pm_lat) -> tuple[Array, Array]:
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


def _cart_to_sph(x: Array, v: Array):
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


def _wrap_360(lon_deg: Array) -> Array:
    """Longitude from (−180, 180] to [0, 360)."""
    lon = jnp.where(lon_deg < 0, lon_deg + 360.0, lon_deg)
    return jnp.where(lon >= 360.0, lon - 360.0, lon)


def _wrap_180(lon_deg: Array) -> Array:
    """Longitude to (−180, 180]."""
    return jnp.where(lon_deg <= -180.0, lon_deg + 360.0, lon_deg)


class _FrameArrays(NamedTuple):
    """What the transforms need from a frame: A (ICRS → Galactocentric axes), x☉ [kpc],
    v☉ [km/s]."""

    a: Array
    x_sun: Array
    v_sun: Array


@jax.jit
def _frame_arrays(frame: GalactocentricFrame) -> _FrameArrays:
    # jitted on its own (its trace does not depend on the data's shape), so the trig on the
    # solar parameters is compiled once rather than once per batch shape
    return _FrameArrays(frame.rotation(), frame.sun_position(), frame.sun_velocity())


def _gc_to_icrs_cart(w: Array, fa: _FrameArrays) -> tuple[Array, Array]:
    """Galactocentric (x, v) → heliocentric ICRS Cartesian: Aᵀ(x − x☉), Aᵀ(v − v☉)."""
    a = fa.a.astype(w.dtype)
    x = _apply_t(a, w[..., :3] - fa.x_sun.astype(w.dtype))
    v = _apply_t(a, w[..., 3:] - fa.v_sun.astype(w.dtype))
    return x, v


def _icrs_cart_to_gc(x: Array, v: Array, fa: _FrameArrays) -> Array:
    """Heliocentric ICRS Cartesian → Galactocentric (..., 6): A x + x☉, A v + v☉."""
    a = fa.a.astype(x.dtype)
    xg = _apply(a, x) + fa.x_sun.astype(x.dtype)
    vg = _apply(a, v) + fa.v_sun.astype(x.dtype)
    return jnp.concatenate([xg, vg], axis=-1)


# --- jitted cores ----------------------------------------------------------------------
# Each takes arrays with one batch axis (N,) or (N, 6) and the frame arrays. Cores that
# produce spherical coordinates return them stacked as one (6, N) array: XLA compiles a
# single output noticeably faster than six.


def _sph_stack(x: Array, v: Array, wrap: int) -> Array:
    lon, lat, d, vr, pm1, pm2, _, _ = _cart_to_sph(x, v)
    lon = _wrap_360(lon) if wrap == 360 else _wrap_180(lon)
    return jnp.stack([lon, lat, d, vr, pm1, pm2])


@jax.jit
def _core_gc_to_gal(w, fa):
    x, v = _gc_to_icrs_cart(w, fa)
    return _sph_stack(_apply(ICRS_TO_GALACTIC, x), _apply(ICRS_TO_GALACTIC, v), 360)


@jax.jit
def _core_gc_to_icrs(w, fa):
    x, v = _gc_to_icrs_cart(w, fa)
    return _sph_stack(x, v, 360)


@jax.jit
def _core_gc_to_gd1(w, fa):
    x, v = _gc_to_icrs_cart(w, fa)
    return _sph_stack(_apply(ICRS_TO_GD1, x), _apply(ICRS_TO_GD1, v), 180)


@jax.jit
def _core_sph_to_gc(lon, lat, d, vr, pml, pmb, m, fa):
    """Heliocentric spherical in the frame whose axes are m·(ICRS axes) → Galactocentric."""
    x, v = _sph_to_cart(lon, lat, d, vr, pml, pmb)
    return _icrs_cart_to_gc(_apply(m, x), _apply(m, v), fa)


@functools.partial(jax.jit, static_argnames="wrap")
def _core_rotate6(lon, lat, d, vr, pml, pmb, m, wrap):
    x, v = _sph_to_cart(lon, lat, d, vr, pml, pmb)
    return _sph_stack(_apply(m, x), _apply(m, v), wrap)


def _gsr_parts(w, fa):
    """The Galactocentric velocity on the heliocentric Galactic (ê_r, ê_l, ê_b) at the star:
    (v_GSR, v_t,l, v_t,b) [km/s]."""
    gal_from_gc = _matmul(jnp.asarray(ICRS_TO_GALACTIC, dtype=w.dtype), fa.a.astype(w.dtype).T)
    n = _apply(gal_from_gc, w[..., :3] - fa.x_sun.astype(w.dtype))
    v = _apply(gal_from_gc, w[..., 3:])
    _, _, _, v_r, _, _, v_lon, v_lat = _cart_to_sph(n, v)
    return v_r, v_lon, v_lat


@jax.jit
def _core_v_gsr(w, fa):
    return _gsr_parts(w, fa)[0]


@jax.jit
def _core_v_tb(w, fa):
    return _gsr_parts(w, fa)[2]


@jax.jit
def _core_vsun_dot_n(l, b, fa):
    """v☉ · n̂ [km/s], n̂ the heliocentric direction (l, b), both in Galactic axes."""
    l = jnp.deg2rad(l)
    b = jnp.deg2rad(b)
    n_gal = jnp.stack([jnp.cos(b) * jnp.cos(l), jnp.cos(b) * jnp.sin(l), jnp.sin(b)], axis=-1)
    # v☉ in Galactic axes: M Aᵀ v☉
    a = fa.a.astype(n_gal.dtype)
    vsun_gal = _apply(ICRS_TO_GALACTIC, _apply_t(a, fa.v_sun.astype(n_gal.dtype)))
    return jnp.sum(n_gal * vsun_gal, axis=-1)


# ---------------------------------------------------------------------------------------
# Boundary helpers (run eagerly or on tracers; no data-dependent Python control flow)
# ---------------------------------------------------------------------------------------


def _frame(frame) -> _FrameArrays:
    """A (default, astropy or jaxgal) frame → its matrix, solar position and velocity."""
    if frame is None:
        frame = GalactocentricFrame()
    elif not isinstance(frame, GalactocentricFrame):
        if type(frame).__name__ == "Galactocentric":  # an astropy frame
            frame = GalactocentricFrame.from_astropy(frame)
        else:
            raise TypeError(
                f"frame must be a jaxgal.frames.GalactocentricFrame (or astropy Galactocentric); "
                f"got {type(frame)}"
            )
    return _frame_arrays(frame)


def _as_float(a) -> Array:
    a = jnp.asarray(a)
    if not jnp.issubdtype(a.dtype, jnp.inexact):
        a = a.astype(jnp.result_type(float))
    return a


def _as_phase_space(w, name: str = "w") -> Array:
    if hasattr(w, "unit") and hasattr(w, "to_value"):
        raise ValueError(
            f"{name} mixes kpc and km/s, so it cannot be a single astropy Quantity; pass a plain "
            "array of shape (..., 6): x, y, z [kpc], v_x, v_y, v_z [km/s]"
        )
    w = _as_float(w)
    if w.ndim == 0 or w.shape[-1] != 6:
        raise ValueError(
            f"{name} must have shape (..., 6) (x, y, z [kpc], v_x, v_y, v_z [km/s]); got shape "
            f"{w.shape}"
        )
    return w


def _run_w(core, w, *rest, stacked: bool):
    """Run a core on a (..., 6) ``w`` flattened to (N, 6), so that every batch shape of the
    same size shares one compilation, and restore the batch shape: a list of k (...) arrays
    for a stacked (k, N) result, else one (...) array."""
    batch = w.shape[:-1]
    out = core(w.reshape(-1, 6), *rest)
    if stacked:
        return [o.reshape(batch) for o in out]
    return out.reshape(batch)


def _run_sph(core, args, *rest, stacked: bool):
    """Run a core on broadcast (...) arrays flattened to (N,) and restore the batch shape: a
    list of k (...) arrays for a stacked (k, N) result, else (..., 6) from (N, 6)."""
    batch = args[0].shape
    out = core(*(a.reshape(-1) for a in args), *rest)
    if stacked:
        return [o.reshape(batch) for o in out]
    return out.reshape(batch + out.shape[1:])


def _as_args(fname: str, **named) -> list[Array]:
    """Convert each (value, unit) to a float array and broadcast them together."""
    arrays = [_as_float(U.to_value(val, unit)) for val, unit in named.values()]
    dtype = jnp.result_type(*arrays)
    try:
        shape = jnp.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as err:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in zip(named, arrays))
        raise ValueError(f"{fname}: the arguments do not broadcast together: {shapes}") from err
    return [jnp.broadcast_to(a.astype(dtype), shape) for a in arrays]


# ---------------------------------------------------------------------------------------
# Public transforms
# ---------------------------------------------------------------------------------------


def galactocentric_to_galactic(w, frame: GalactocentricFrame | None = None) -> GalacticCoords:
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
    return GalacticCoords(*_run_w(_core_gc_to_gal, _as_phase_space(w), _frame(frame), stacked=True))


def galactic_to_galactocentric(
    l, b, distance, v_los, pm_l_cosb, pm_b, frame: GalactocentricFrame | None = None
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
    args = _as_args(
        "galactic_to_galactocentric",
        l=(l, "deg"),
        b=(b, "deg"),
        distance=(distance, "kpc"),
        v_los=(v_los, "km/s"),
        pm_l_cosb=(pm_l_cosb, "mas/yr"),
        pm_b=(pm_b, "mas/yr"),
    )
    return _run_sph(_core_sph_to_gc, args, _GALACTIC_TO_ICRS, _frame(frame), stacked=False)


def galactocentric_to_icrs(w, frame: GalactocentricFrame | None = None) -> ICRSCoords:
    """Galactocentric phase space → ICRS (barycentric) coordinates.

    x_icrs = Aᵀ (x − x☉), v_icrs = Aᵀ (v − v☉), then spherical (ra ∈ [0°, 360°)).
    Agrees with ``SkyCoord(..., frame=Galactocentric).transform_to(ICRS())``.

    **Arguments:**

    - `w`: (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** an :class:`ICRSCoords` ``(ra, dec, distance, radial_velocity, pm_ra_cosdec,
    pm_dec)``: deg, deg, kpc, km/s, mas/yr, mas/yr.
    """
    return ICRSCoords(*_run_w(_core_gc_to_icrs, _as_phase_space(w), _frame(frame), stacked=True))


def icrs_to_galactocentric(
    ra,
    dec,
    distance,
    radial_velocity,
    pm_ra_cosdec,
    pm_dec,
    frame: GalactocentricFrame | None = None,
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
    args = _as_args(
        "icrs_to_galactocentric",
        ra=(ra, "deg"),
        dec=(dec, "deg"),
        distance=(distance, "kpc"),
        radial_velocity=(radial_velocity, "km/s"),
        pm_ra_cosdec=(pm_ra_cosdec, "mas/yr"),
        pm_dec=(pm_dec, "mas/yr"),
    )
    return _run_sph(_core_sph_to_gc, args, _IDENTITY, _frame(frame), stacked=False)


def galactic_to_icrs(l, b, distance, v_los, pm_l_cosb, pm_b) -> ICRSCoords:
    """Heliocentric Galactic → ICRS (a fixed rotation, x_icrs = Mᵀ x_gal; no solar
    parameters involved).

    **Arguments:** `l`, `b` [deg], `distance` [kpc], `v_los` [km/s], `pm_l_cosb`, `pm_b`
    [mas/yr] (broadcast together; Quantities accepted).

    **Returns:** an :class:`ICRSCoords` ``(ra, dec, distance, radial_velocity, pm_ra_cosdec,
    pm_dec)``.
    """
    args = _as_args(
        "galactic_to_icrs",
        l=(l, "deg"),
        b=(b, "deg"),
        distance=(distance, "kpc"),
        v_los=(v_los, "km/s"),
        pm_l_cosb=(pm_l_cosb, "mas/yr"),
        pm_b=(pm_b, "mas/yr"),
    )
    return ICRSCoords(*_run_sph(_core_rotate6, args, _GALACTIC_TO_ICRS, 360, stacked=True))


def icrs_to_galactic(ra, dec, distance, radial_velocity, pm_ra_cosdec, pm_dec) -> GalacticCoords:
    """ICRS → heliocentric Galactic (x_gal = M x_icrs, M = :data:`ICRS_TO_GALACTIC`).

    **Arguments:** `ra`, `dec` [deg], `distance` [kpc], `radial_velocity` [km/s],
    `pm_ra_cosdec`, `pm_dec` [mas/yr] (broadcast together; Quantities accepted).

    **Returns:** a :class:`GalacticCoords` ``(l, b, distance, v_los, pm_l_cosb, pm_b)``.
    """
    args = _as_args(
        "icrs_to_galactic",
        ra=(ra, "deg"),
        dec=(dec, "deg"),
        distance=(distance, "kpc"),
        radial_velocity=(radial_velocity, "km/s"),
        pm_ra_cosdec=(pm_ra_cosdec, "mas/yr"),
        pm_dec=(pm_dec, "mas/yr"),
    )
    return GalacticCoords(*_run_sph(_core_rotate6, args, ICRS_TO_GALACTIC, 360, stacked=True))


def icrs_to_gd1(ra, dec, pm_ra_cosdec, pm_dec) -> GD1SkyCoords:
    """ICRS sky position and proper motion → GD-1 frame of Koposov et al. (2010).

    x_gd1 = R x_icrs with R = :data:`ICRS_TO_GD1` (gala's ``GD1Koposov10``), applied to the
    unit vector and the tangential velocity; φ1 ∈ (−180°, 180°]. Proper motions do not depend
    on distance for a rotation.

    **Arguments:** `ra`, `dec` [deg], `pm_ra_cosdec`, `pm_dec` [mas/yr].

    **Returns:** a :class:`GD1SkyCoords` ``(phi1, phi2, pm_phi1_cosphi2, pm_phi2)``: deg, deg,
    mas/yr, mas/yr.
    """
    ra, dec, pm1, pm2 = _as_args(
        "icrs_to_gd1",
        ra=(ra, "deg"),
        dec=(dec, "deg"),
        pm_ra_cosdec=(pm_ra_cosdec, "mas/yr"),
        pm_dec=(pm_dec, "mas/yr"),
    )
    return GD1SkyCoords(*_rotate_sky(ra, dec, pm1, pm2, ICRS_TO_GD1, 180))


def gd1_to_icrs(phi1, phi2, pm_phi1_cosphi2, pm_phi2) -> ICRSSkyCoords:
    """GD-1 (Koposov et al. 2010) → ICRS sky position and proper motion; the exact inverse of
    :func:`icrs_to_gd1` (x_icrs = R⁻¹ x_gd1).

    **Arguments:** `phi1`, `phi2` [deg], `pm_phi1_cosphi2`, `pm_phi2` [mas/yr].

    **Returns:** an :class:`ICRSSkyCoords` ``(ra, dec, pm_ra_cosdec, pm_dec)``, ra ∈ [0°, 360°).
    """
    p1, p2, m1, m2 = _as_args(
        "gd1_to_icrs",
        phi1=(phi1, "deg"),
        phi2=(phi2, "deg"),
        pm_phi1_cosphi2=(pm_phi1_cosphi2, "mas/yr"),
        pm_phi2=(pm_phi2, "mas/yr"),
    )
    return ICRSSkyCoords(*_rotate_sky(p1, p2, m1, m2, _GD1_TO_ICRS, 360))


def _rotate_sky(lon, lat, pm_lon, pm_lat, matrix, wrap):
    """Rotate sky positions and proper motions by ``matrix`` (unit distance, zero radial
    velocity: a rotation's proper motions do not depend on either); longitudes wrapped at
    ``wrap`` (180 or 360). Returns (lon, lat, pm_lon, pm_lat)."""
    one, zero = jnp.ones_like(lon), jnp.zeros_like(lon)
    lon2, lat2, _, _, pm1, pm2 = _run_sph(
        _core_rotate6, [lon, lat, one, zero, pm_lon, pm_lat], matrix, wrap, stacked=True
    )
    return lon2, lat2, pm1, pm2


def galactocentric_to_gd1(w, frame: GalactocentricFrame | None = None) -> GD1Coords:
    """Galactocentric phase space → GD-1 stream coordinates (Koposov et al. 2010).

    x_gd1 = R Aᵀ (x − x☉), v_gd1 = R Aᵀ (v − v☉), then spherical with φ1 ∈ (−180°, 180°].

    **Arguments:**

    - `w`: (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** a :class:`GD1Coords` ``(phi1, phi2, distance, pm_phi1_cosphi2, pm_phi2,
    radial_velocity)``: deg, deg, kpc, mas/yr, mas/yr, km/s.
    """
    lon, lat, d, vr, pm1, pm2 = _run_w(
        _core_gc_to_gd1, _as_phase_space(w), _frame(frame), stacked=True
    )
    return GD1Coords(lon, lat, d, pm1, pm2, vr)


def gd1_to_galactocentric(
    phi1,
    phi2,
    distance,
    pm_phi1_cosphi2,
    pm_phi2,
    radial_velocity,
    frame: GalactocentricFrame | None = None,
) -> Float[Array, "... 6"]:
    """GD-1 stream coordinates → Galactocentric phase space (inverse of
    :func:`galactocentric_to_gd1`): x = A R⁻¹ d ê_r + x☉, v = A R⁻¹ (v_r ê_r + k d μ_φ1* ê_φ1 +
    k d μ_φ2 ê_φ2) + v☉.

    **Arguments:** `phi1`, `phi2` [deg], `distance` [kpc], `pm_phi1_cosphi2`, `pm_phi2`
    [mas/yr], `radial_velocity` [km/s] (broadcast together; Quantities accepted; a NaN, e.g. a
    missing radial velocity, propagates to the velocity components), `frame`.

    **Returns:** (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    """
    p1, p2, d, m1, m2, vr = _as_args(
        "gd1_to_galactocentric",
        phi1=(phi1, "deg"),
        phi2=(phi2, "deg"),
        distance=(distance, "kpc"),
        pm_phi1_cosphi2=(pm_phi1_cosphi2, "mas/yr"),
        pm_phi2=(pm_phi2, "mas/yr"),
        radial_velocity=(radial_velocity, "km/s"),
    )
    return _run_sph(
        _core_sph_to_gc, [p1, p2, d, vr, m1, m2], _GD1_TO_ICRS, _frame(frame), stacked=False
    )


def v_gsr(w, frame: GalactocentricFrame | None = None) -> Float[Array, "..."]:
    """Galactic-standard-of-rest line-of-sight velocity (SPEC §B).

    v_GSR = v · n̂,  n̂ = (x − x☉)/|x − x☉|:

    the Galactocentric velocity projected on the heliocentric line of sight (the unit vector
    from the Sun to the star). Equivalently v_GSR = v_los + v☉·n̂ (:func:`v_los_to_v_gsr`).

    **Arguments:**

    - `w`: (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** v_GSR [km/s], shape (...).
    """
    return _run_w(_core_v_gsr, _as_phase_space(w), _frame(frame), stacked=False)


def v_tb(w, frame: GalactocentricFrame | None = None) -> Float[Array, "..."]:
    """Galactocentric velocity along increasing Galactic latitude at the star (SPEC §B).

    v_t,b = v · ê_b,  ê_b = (−sin b cos l, −sin b sin l, cos b) in Galactic axes,

    with (l, b) the heliocentric Galactic direction of the star (astropy's Galactic frame)
    and v the full Galactocentric velocity (v☉ not removed). Equals k d μ_b + v☉·ê_b.

    **Arguments:**

    - `w`: (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** v_t,b [km/s], shape (...).
    """
    return _run_w(_core_v_tb, _as_phase_space(w), _frame(frame), stacked=False)


def v_los_to_v_gsr(l, b, v_los, frame: GalactocentricFrame | None = None) -> Float[Array, "..."]:
    """Heliocentric line-of-sight velocity → v_GSR = v_los + v☉·n̂.

    n̂ is the heliocentric direction (l, b) and v☉ the Sun's Galactocentric velocity, both
    expressed in the same axes (v☉ in Galactic axes is M Aᵀ v☉, which differs from
    (U, V, W) = v☉ by the small tilt of the Galactocentric axes). No distance is needed.

    **Arguments:** `l`, `b` [deg], `v_los` [km/s] (broadcast together), `frame`.

    **Returns:** v_GSR [km/s].
    """
    l, b, v_los = _as_args("v_los_to_v_gsr", l=(l, "deg"), b=(b, "deg"), v_los=(v_los, "km/s"))
    return v_los + _run_sph(_core_vsun_dot_n, [l, b], _frame(frame), stacked=False)


def v_gsr_to_v_los(l, b, vgsr, frame: GalactocentricFrame | None = None) -> Float[Array, "..."]:
    """v_GSR → heliocentric line-of-sight velocity: v_los = v_GSR − v☉·n̂ (inverse of
    :func:`v_los_to_v_gsr`).

    **Arguments:** `l`, `b` [deg], `vgsr` (v_GSR) [km/s] (broadcast together), `frame`.

    **Returns:** v_los [km/s].
    """
    l, b, vg = _as_args("v_gsr_to_v_los", l=(l, "deg"), b=(b, "deg"), v_gsr=(vgsr, "km/s"))
    return vg - _run_sph(_core_vsun_dot_n, [l, b], _frame(frame), stacked=False)
