"""The one boundary conversion of the frames: named sky coordinates → validated float
arrays, and the flatten/restore wrappers that let every batch shape share one compiled
core.

A coordinate system is a **schema**: its argument names in order, each with a role
(longitude, latitude, distance, velocity, proper motion) that fixes its unit and its
accepted range. Latitudes must lie in [−90°, 90°] and distances be ≥ 0, as astropy's
``Latitude`` and ``Distance`` require; NaN passes (a missing measurement propagates to the
result, e.g. a star without a radial velocity).
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
from jaxtyping import Array

from .._validation import as_float_array, check_phase_space, check_range

__all__ = ["GALACTIC", "ICRS", "ICRS_SKY", "GD1", "GD1_SKY", "LOS", "coordinates", "phase_space", "run_w", "run_sph"]

#: role → (unit, lo, hi)
_ROLES = {
    "lon": ("deg", -float("inf"), float("inf")),
    "lat": ("deg", -90.0, 90.0),
    "distance": ("kpc", 0.0, float("inf")),
    "velocity": ("km/s", -float("inf"), float("inf")),
    "pm": ("mas/yr", -float("inf"), float("inf")),
}

GALACTIC = (("l", "lon"), ("b", "lat"), ("distance", "distance"), ("v_los", "velocity"), ("pm_l_cosb", "pm"), ("pm_b", "pm"))
ICRS = (
    ("ra", "lon"), ("dec", "lat"), ("distance", "distance"), ("radial_velocity", "velocity"),
    ("pm_ra_cosdec", "pm"), ("pm_dec", "pm"),
)
ICRS_SKY = (("ra", "lon"), ("dec", "lat"), ("pm_ra_cosdec", "pm"), ("pm_dec", "pm"))
GD1 = (
    ("phi1", "lon"), ("phi2", "lat"), ("distance", "distance"), ("pm_phi1_cosphi2", "pm"), ("pm_phi2", "pm"),
    ("radial_velocity", "velocity"),
)
GD1_SKY = (("phi1", "lon"), ("phi2", "lat"), ("pm_phi1_cosphi2", "pm"), ("pm_phi2", "pm"))
LOS = (("l", "lon"), ("b", "lat"), ("v_los", "velocity"))


def coordinates(fname: str, schema, values) -> list[Array]:
    """Convert ``values`` (one per schema entry; floats, arrays or Quantities) to float
    arrays in the schema's units, check their ranges and broadcast them together."""
    arrays = []
    for (name, role), value in zip(schema, values):
        unit, lo, hi = _ROLES[role]
        arr = as_float_array(value, f"{fname}: {name}", unit)
        check_range(arr, f"{fname}: {name}", lo, hi, unit=unit, allow_nan=True)
        arrays.append(arr)
    dtype = jnp.result_type(*arrays)
    try:
        shape = jnp.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as err:
        shapes = ", ".join(f"{name}{a.shape}" for (name, _), a in zip(schema, arrays))
        raise ValueError(f"{fname}: the arguments do not broadcast together: {shapes}") from err
    return [jnp.broadcast_to(a.astype(dtype), shape) for a in arrays]


def phase_space(w, name: str = "w") -> Array:
    """A Galactocentric phase-space array (..., 6) [kpc, km/s] as floats (shape checked)."""
    return check_phase_space(w, name)


def run_w(core: Callable, w: Array, *rest, stacked: bool):
    """Run a core on a (..., 6) ``w`` flattened to (N, 6), so that every batch shape of the
    same size shares one compilation, and restore the batch shape: a list of k (...) arrays
    for a stacked (k, N) result, else one (...) array."""
    batch = w.shape[:-1]
    out = core(w.reshape(-1, 6), *rest)
    if stacked:
        return [o.reshape(batch) for o in out]
    return out.reshape(batch)


def run_sph(core: Callable, args, *rest, stacked: bool):
    """Run a core on broadcast (...) arrays flattened to (N,) and restore the batch shape: a
    list of k (...) arrays for a stacked (k, N) result, else (..., 6) from (N, 6)."""
    batch = args[0].shape
    out = core(*(a.reshape(-1) for a in args), *rest)
    if stacked:
        return [o.reshape(batch) for o in out]
    return out.reshape(batch + out.shape[1:])
