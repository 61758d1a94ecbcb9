r"""Accelerations from a stream track (Nibauer et al. 2022), enclosed mass and flattening.

Along a track x(φ1), v(φ1) made of local orbit segments, dφ1/dt = s |v| / |dx/dφ1| with
s = ±1 the direction of motion in φ1, so

    a(φ1) = s |v| / |dx/dφ1| · dv/dφ1                                   (Nibauer & Bonaca 2025, eq. 1)

(the cold-stream limit a = (v·∇)v). The sign s is measured on each draw from the track
itself: s = sign(v · dx/dφ1) (GD-1 moves towards decreasing φ1, s = −1). Derivatives are exact:
the spline quantities are differentiated analytically and pushed through the track model's
map to Galactocentric phase space (:meth:`TrackPosterior.phase_space`) with a forward-mode JVP.

Results are Galactocentric cylindrical (a_R, a_φ, a_z) [km/s/Myr], φ = atan2(y, x) in the
right-handed astropy frame (the Sun at φ = 180°), a_φ positive towards increasing φ.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import units as U
from ._track import TrackPosterior

__all__ = [
    "track_phase_space",
    "accelerations",
    "cylindrical",
    "cylindrical_positions",
    "enclosed_mass",
    "potential_flattening",
    "bands",
    "preset_accelerations",
]

# (km/s)^2/kpc -> km/s/Myr
_KMS2_PER_KPC_TO_KMS_PER_MYR = U.KMS_TO_KPC_MYR


@jax.jit
def _accel_from_phase_space(w, dw):
    """a = s |v| / |dx/dφ1| · dv/dφ1 [km/s/Myr] from draws w, dw/dφ1 (S, M, 6); s per draw."""
    v, dxd, dvd = w[..., 3:], dw[..., :3], dw[..., 3:]
    speed = jnp.linalg.norm(v, axis=-1, keepdims=True)
    dxn = jnp.linalg.norm(dxd, axis=-1, keepdims=True)
    s = jnp.sign(jnp.median(jnp.sum(v * dxd, axis=-1), axis=-1))[:, None, None]  # per draw
    return s * speed / dxn * dvd * _KMS2_PER_KPC_TO_KMS_PER_MYR


def track_phase_space(post: TrackPosterior, phi1) -> np.ndarray:
    """Posterior draws of the Galactocentric phase space along the track: (n_samples,
    len(phi1), 6), x [kpc] and v [km/s] (astropy v4.0 frame)."""
    return post.phase_space(phi1)[0]


def cylindrical(x, a) -> np.ndarray:
    """Cartesian vectors a (..., 3) at positions x (..., 3) → (a_R, a_φ, a_z)."""
    x, a = np.asarray(x), np.asarray(a)
    R = np.hypot(x[..., 0], x[..., 1])
    cphi, sphi = x[..., 0] / R, x[..., 1] / R
    return np.stack([a[..., 0] * cphi + a[..., 1] * sphi, -a[..., 0] * sphi + a[..., 1] * cphi, a[..., 2]], -1)


def cylindrical_positions(x) -> np.ndarray:
    """Positions (..., 3) → (R [kpc], z [kpc], φ [deg] in [0, 360))."""
    x = np.asarray(x)
    return np.stack([np.hypot(x[..., 0], x[..., 1]), x[..., 2], np.degrees(np.arctan2(x[..., 1], x[..., 0])) % 360], -1)


def accelerations(post: TrackPosterior, phi1, *, return_positions: bool = False, cartesian: bool = False):
    """Posterior draws of the acceleration along the stream (N22 relation, module docstring).

    **Arguments:**

    - `post`: a :class:`TrackPosterior` from :func:`fit_track`.
    - `phi1`: (M,) stream longitudes [deg], well inside the data (derivatives of a spline
      are poorly constrained near its ends; the paper drops the outer ~10–15°).
    - `return_positions`: also return the draws' Galactocentric positions (n, M, 3) [kpc].
    - `cartesian`: return (a_x, a_y, a_z) instead of the cylindrical components.

    **Returns:** (n_samples, M, 3) Galactocentric cylindrical (a_R, a_φ, a_z) [km/s/Myr]
    (and the positions if asked).
    """
    phi1 = np.atleast_1d(np.asarray(phi1, float))
    lo, hi = post.phi1_range
    if np.any(phi1 < lo - 1e-9) or np.any(phi1 > hi + 1e-9):
        raise ValueError(f"accelerations: phi1 must lie inside the data's range [{lo:.2f}, {hi:.2f}] deg "
                         "(inside every quantity's outer knots and the distance track)")
    w, dw = post.phase_space(phi1)
    a = np.asarray(_accel_from_phase_space(jnp.asarray(w), jnp.asarray(dw)))
    out = a if cartesian else cylindrical(w[..., :3], a)
    return (out, w[..., :3]) if return_positions else out


def enclosed_mass(x, a, *, radial_only: bool = False) -> np.ndarray:
    """M(<r) ≈ r² |a| / G [Msun] from accelerations a (..., 3) [km/s/Myr] at x (..., 3)
    [kpc] (the paper's spherical approximation; ``radial_only`` uses −a·r̂ instead of |a|).
    The paper's point (11.9, 7.3) kpc with |a| = 3.087 km/s/Myr gives 1.37e11 Msun."""
    x, a = np.asarray(x, float), np.asarray(a, float)
    r = np.linalg.norm(x, axis=-1)
    amp = -np.sum(a * x, -1) / r if radial_only else np.linalg.norm(a, axis=-1)
    return r**2 * amp / U.KMS_TO_KPC_MYR / U.G_KMS


def potential_flattening(R, z, a_R, a_z) -> np.ndarray:
    """Total potential flattening q = √(z a_R / (R a_z)) for Φ(R² + z²/q²) (GD-1 paper eq. 4);
    NaN where the ratio is negative."""
    ratio = np.asarray(z) * np.asarray(a_R) / (np.asarray(R) * np.asarray(a_z))
    return np.sqrt(np.where(ratio > 0, ratio, np.nan))


def bands(draws, axis: int = 0) -> dict[str, np.ndarray]:
    """Median and 68 %/95 % central intervals of posterior draws along ``axis``: a dict with
    ``median, lo68, hi68, lo95, hi95``."""
    q = np.nanpercentile(np.asarray(draws), [50, 16, 84, 2.5, 97.5], axis=axis)
    return dict(median=q[0], lo68=q[1], hi68=q[2], lo95=q[3], hi95=q[4])


def preset_accelerations(pot, x) -> np.ndarray:
    """A potential's acceleration at positions x (..., 3) [kpc] as (a_R, a_φ, a_z) [km/s/Myr]."""
    x = np.asarray(x, float)
    return cylindrical(x, np.asarray(pot.acceleration(jnp.asarray(x))))
