"""The result of :func:`~jaxgal.integrators.integrate_orbits`."""

from __future__ import annotations

import equinox as eqx
from jaxtyping import Array, Float, Int

__all__ = ["OrbitResult"]


class OrbitResult(eqx.Module):
    """Orbits at the output times (public units).

    **Fields:**

    - `t`: output times [Myr]: a scalar (t1) for the final state, or (n_save,) with
      ``save_every``.
    - `w`: phase-space states, x [kpc] then v [km/s] along the last axis. Shapes, for
      ``w0`` of shape (N, 6) / (6,):

      - final state: (N, 6) / (6,);
      - snapshots (``save_every=k``): **time-major** (n_save, N, 6) / (n_save, 6), with
        ``w[0]`` the initial state and ``w[-1]`` the state at t1 (as gala's ``Orbit``).

    - `n_steps`: steps taken per orbit, (N,) or () (force evaluations per orbit =
      n_steps × the scheme's force evaluations per step; for diffrax, accepted steps).
    - `method` (static): the name of the solver used (e.g. ``"Leapfrog"``, ``"dopri5"``).
    """

    t: Float[Array, "..."]
    w: Float[Array, "... 6"]
    n_steps: Int[Array, "..."]
    method: str = eqx.field(static=True)

    @property
    def x(self) -> Float[Array, "... 3"]:
        """Positions [kpc]."""
        return self.w[..., :3]

    @property
    def v(self) -> Float[Array, "... 3"]:
        """Velocities [km/s]."""
        return self.w[..., 3:]
