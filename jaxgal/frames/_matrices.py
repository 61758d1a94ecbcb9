"""Fixed rotations between the heliocentric frames, and the rotation helpers.

Sources and conventions are in ``docs/frames.md``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

__all__ = ["ICRS_TO_GALACTIC", "ICRS_TO_GD1", "ROLL0_DEG"]

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
GALACTIC_TO_ICRS: np.ndarray = ICRS_TO_GALACTIC.T.copy()
IDENTITY: np.ndarray = np.eye(3)

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
GD1_TO_ICRS: np.ndarray = np.linalg.inv(ICRS_TO_GD1)

#: astropy's ``Galactocentric.get_roll0()``: the roll about the final x axis that puts the
#: Galactocentric z axis in the Galactic yz plane [deg].
ROLL0_DEG: float = 58.5986320306



def rotation_matrix(angle_rad: Array, axis: int) -> Array:
    """astropy's ``rotation_matrix(angle, axis)`` (passive rotation) for axis 0, 1, 2 = x, y, z."""
    return rotation_matrix_cs(jnp.cos(angle_rad), jnp.sin(angle_rad), axis)


def rotation_matrix_cs(c: Array, s: Array, axis: int) -> Array:
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


def matmul(a: Array, b: Array) -> Array:
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


def apply(m: ArrayLike, x: Array) -> Array:
    """m @ x over the last axis of x, elementwise (exact in float64 on every backend)."""
    m = jnp.asarray(m, dtype=x.dtype)
    return jnp.sum(m * x[..., None, :], axis=-1)


def apply_t(m: ArrayLike, x: Array) -> Array:
    """mᵀ @ x over the last axis of x."""
    m = jnp.asarray(m, dtype=x.dtype)
    return jnp.sum(m * x[..., :, None], axis=-2)
