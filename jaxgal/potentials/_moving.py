"""A potential whose centre moves along a trajectory tabulated on a time grid."""

from __future__ import annotations

import interpax
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import units as U
from ._base import AbstractPotential

__all__ = ["TranslatingPotential"]


class TranslatingPotential(AbstractPotential):
    r"""Φ(x, t) = Φ₀(x − x_c(t), t): a potential carried rigidly along a trajectory.

    The centre x_c(t) is a C² (natural) cubic spline through the tabulated positions, built
    once at construction with interpax; outside the time grid it is extrapolated by the
    end polynomials, so keep integrations inside ``[times[0], times[-1]]``.

    **Arguments:**

    - `potential`: the potential Φ₀ in its own (centred) frame.
    - `times`: (n,) strictly increasing times [Myr], n ≥ 4.
    - `centres`: (n, 3) centre positions [kpc] at those times.
    """

    potential0: AbstractPotential
    centre: interpax.Interpolator1D

    def __init__(self, potential: AbstractPotential, times, centres):
        times = jnp.asarray(U.to_value(times, "Myr"), dtype=float)
        centres = jnp.asarray(U.to_value(centres, "kpc"), dtype=float)
        if times.ndim != 1 or times.shape[0] < 4:
            raise ValueError(f"times must be 1-D with at least 4 samples; got shape {times.shape}")
        if centres.shape != (times.shape[0], 3):
            raise ValueError(
                f"centres must have shape ({times.shape[0]}, 3) to match times; got {centres.shape}"
            )
        try:
            increasing = bool(np.all(np.diff(np.asarray(times)) > 0))
        except Exception:  # traced times: trust the caller
            increasing = True
        if not increasing:
            raise ValueError("times must be strictly increasing")
        self.potential0 = potential
        self.centre = interpax.Interpolator1D(times, centres, method="cubic2", extrap=True)

    def centre_at(self, t) -> Float[Array, "3"]:
        """x_c(t) [kpc] at one time t [Myr]."""
        # interpax mixes integer and boolean index arithmetic: keep JAX's standard
        # promotion for it whatever the caller's setting.
        with jax.numpy_dtype_promotion("standard"):
            return self.centre(jnp.atleast_1d(t))[0]

    def _potential(self, x, t):
        return self.potential0._potential(x - self.centre_at(t), t)

    def _gradient(self, x, t):
        return self.potential0._gradient(x - self.centre_at(t), t)

    def _density(self, x, t):
        return self.potential0._density(x - self.centre_at(t), t)
