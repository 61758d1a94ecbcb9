"""Velocities projected at a star: v_GSR and v_t,b (``docs/frames.md``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._boundary import LOS, coordinates, phase_space, run_sph, run_w
from ._galactocentric import GalactocentricFrame, resolve_frame
from ._matrices import ICRS_TO_GALACTIC, apply, apply_t, matmul
from ._spherical import cart_to_sph

__all__ = ["v_gsr", "v_tb", "v_los_to_v_gsr", "v_gsr_to_v_los"]


def _gsr_parts(w, fa):
    """The Galactocentric velocity on the heliocentric Galactic (ê_r, ê_l, ê_b) at the star:
    (v_GSR, v_t,l, v_t,b) [km/s]."""
    gal_from_gc = matmul(jnp.asarray(ICRS_TO_GALACTIC, dtype=w.dtype), fa.a.astype(w.dtype).T)
    n = apply(gal_from_gc, w[..., :3] - fa.x_sun.astype(w.dtype))
    v = apply(gal_from_gc, w[..., 3:])
    _, _, _, v_r, _, _, v_lon, v_lat = cart_to_sph(n, v)
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
    vsun_gal = apply(ICRS_TO_GALACTIC, apply_t(a, fa.v_sun.astype(n_gal.dtype)))
    return jnp.sum(n_gal * vsun_gal, axis=-1)


def v_gsr(w, frame=None) -> Float[Array, "..."]:
    """Galactic-standard-of-rest line-of-sight velocity .

    v_GSR = v · n̂,  n̂ = (x − x☉)/|x − x☉|:

    the Galactocentric velocity projected on the heliocentric line of sight (the unit vector
    from the Sun to the star). Equivalently v_GSR = v_los + v☉·n̂ (:func:`v_los_to_v_gsr`).

    **Arguments:**

    - `w`: (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** v_GSR [km/s], shape (...).
    """
    return run_w(_core_v_gsr, phase_space(w), resolve_frame(frame), stacked=False)


def v_tb(w, frame=None) -> Float[Array, "..."]:
    """Galactocentric velocity along increasing Galactic latitude at the star .

    v_t,b = v · ê_b,  ê_b = (−sin b cos l, −sin b sin l, cos b) in Galactic axes,

    with (l, b) the heliocentric Galactic direction of the star (astropy's Galactic frame)
    and v the full Galactocentric velocity (v☉ not removed). Equals k d μ_b + v☉·ê_b.

    **Arguments:**

    - `w`: (..., 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s].
    - `frame`: a :class:`GalactocentricFrame` (default: astropy's v4.0 defaults).

    **Returns:** v_t,b [km/s], shape (...).
    """
    return run_w(_core_v_tb, phase_space(w), resolve_frame(frame), stacked=False)


def v_los_to_v_gsr(l, b, v_los, frame=None) -> Float[Array, "..."]:
    """Heliocentric line-of-sight velocity → v_GSR = v_los + v☉·n̂.

    n̂ is the heliocentric direction (l, b) and v☉ the Sun's Galactocentric velocity, both
    expressed in the same axes (v☉ in Galactic axes is M Aᵀ v☉, which differs from
    (U, V, W) = v☉ by the small tilt of the Galactocentric axes). No distance is needed.

    **Arguments:** `l`, `b` [deg], `v_los` [km/s] (broadcast together), `frame`.

    **Returns:** v_GSR [km/s].
    """
    l, b, v_los = coordinates("v_los_to_v_gsr", LOS, (l, b, v_los))
    return v_los + run_sph(_core_vsun_dot_n, [l, b], resolve_frame(frame), stacked=False)


def v_gsr_to_v_los(l, b, vgsr, frame=None) -> Float[Array, "..."]:
    """v_GSR → heliocentric line-of-sight velocity: v_los = v_GSR − v☉·n̂ (inverse of
    :func:`v_los_to_v_gsr`).

    **Arguments:** `l`, `b` [deg], `vgsr` (v_GSR) [km/s] (broadcast together), `frame`.

    **Returns:** v_los [km/s].
    """
    l, b, vg = coordinates("v_gsr_to_v_los", LOS, (l, b, vgsr))
    return vg - run_sph(_core_vsun_dot_n, [l, b], resolve_frame(frame), stacked=False)
