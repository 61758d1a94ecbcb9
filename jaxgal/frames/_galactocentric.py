"""The Galactocentric frame: the Sun's position and velocity relative to the Galaxy.

For a heliocentric (barycentric) ICRS Cartesian position x and velocity v,

    x_gc = A x + x☉,        v_gc = A v + v☉,
    A = H · R_x(ψ₀ − roll) · R_y(−δ_GC) · R_z(α_GC),   H = R_y(−θ),   θ = asin(z☉ / R☉),
    x☉ = −H (R☉, 0, 0) = (−R☉ cos θ, 0, z☉),

the construction of astropy's ``Galactocentric`` frame (``docs/frames.md``).
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._validation import as_float_array, check_range, is_concrete
from ._matrices import ROLL0_DEG, matmul, rotation_matrix, rotation_matrix_cs

__all__ = ["GalactocentricFrame", "FrameArrays", "frame_arrays", "resolve_frame"]


def _param(value, unit: str, name: str, shape: tuple[int, ...] = ()) -> Array:
    arr = as_float_array(value, f"GalactocentricFrame: {name}", unit)
    if arr.shape != shape:
        raise ValueError(f"GalactocentricFrame: {name} must have shape {shape}; got {arr.shape}")
    return arr


def _xyz(v):
    """The (3,) Quantity of an astropy CartesianDifferential or CartesianRepresentation."""
    return v.d_xyz if hasattr(v, "d_xyz") else v.xyz


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
            galcen_v_sun = jnp.stack([as_float_array(c, "GalactocentricFrame: galcen_v_sun", "km/s") for c in galcen_v_sun])
        self.galcen_v_sun = _param(galcen_v_sun, "km/s", "galcen_v_sun", (3,))
        self.roll = _param(roll, "deg", "roll")
        self.galcen_ra = _param(galcen_ra, "deg", "galcen_ra")
        self.galcen_dec = _param(galcen_dec, "deg", "galcen_dec")
        check_range(self.galcen_distance, "GalactocentricFrame: galcen_distance", 0.0, unit="kpc", closed=(False, True))
        check_range(self.galcen_v_sun, "GalactocentricFrame: galcen_v_sun", unit="km/s")
        check_range(self.galcen_dec, "GalactocentricFrame: galcen_dec", -90.0, 90.0, unit="deg")
        for name in ("roll", "galcen_ra"):
            check_range(getattr(self, name), f"GalactocentricFrame: {name}", unit="deg")
        if is_concrete((self.galcen_distance, self.z_sun)):
            r0, z0 = float(self.galcen_distance), float(self.z_sun)
            if not abs(z0) < r0:
                raise ValueError(
                    f"GalactocentricFrame: |z_sun| must be < galcen_distance = {r0} kpc; got z_sun={z0} kpc"
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
        r_z = rotation_matrix(jnp.deg2rad(self.galcen_ra), 2)
        r_y = rotation_matrix(jnp.deg2rad(-self.galcen_dec), 1)
        r_x = rotation_matrix(jnp.deg2rad(ROLL0_DEG - self.roll), 0)
        return matmul(self._tilt(), matmul(r_x, matmul(r_y, r_z)))

    def _tilt(self) -> Float[Array, "3 3"]:
        """H = R_y(−θ), θ = asin(z☉/R☉), built from sin θ = z☉/R☉, cos θ = √(1 − sin²θ)."""
        s = self.z_sun / self.galcen_distance
        return rotation_matrix_cs(jnp.sqrt(1.0 - s * s), -s, 1)

    def sun_position(self) -> Float[Array, "3"]:
        """Galactocentric position of the Sun x☉ = −H (R☉, 0, 0) = (−R☉ cos θ, 0, z☉) [kpc]."""
        return -self._tilt()[:, 0] * self.galcen_distance

    def sun_velocity(self) -> Float[Array, "3"]:
        """Galactocentric velocity of the Sun v☉ [km/s]."""
        return self.galcen_v_sun


class FrameArrays(NamedTuple):
    """What the transforms need from a frame: A (ICRS → Galactocentric axes), x☉ [kpc],
    v☉ [km/s]."""

    a: Array
    x_sun: Array
    v_sun: Array


@jax.jit
def frame_arrays(frame: GalactocentricFrame) -> FrameArrays:
    # jitted on its own (its trace does not depend on the data's shape), so the trig on the
    # solar parameters is compiled once rather than once per batch shape
    return FrameArrays(frame.rotation(), frame.sun_position(), frame.sun_velocity())


def resolve_frame(frame) -> FrameArrays:
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
    return frame_arrays(frame)
