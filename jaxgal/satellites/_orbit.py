r"""The host–satellite orbit (the MW and the LMC): :func:`integrate_two_body` and the
:class:`TwoBodyOrbit` it returns.

The pair's vector field (``_field.py``) is integrated backwards from today by a solver of
:mod:`jaxgal.integrators` (default :class:`~jaxgal.integrators.RK4` with a 1 Myr step), on
a uniform output grid so that the separation can be interpolated by cubic Hermite
polynomials. The host centre starts at rest at the origin, so at the start time the frame
is the Galactocentric one.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import units as U
from .._validation import as_float_array, check_finite_scalar, check_shape
from ..integrators import RK4, AbstractSolver, integrate_system
from ..potentials import AbstractPotential
from ._field import host_satellite_field
from ._friction import ChandrasekharFriction

__all__ = ["TwoBodyOrbit", "hermite_position", "integrate_two_body"]


class TwoBodyOrbit(eqx.Module):
    """Host and satellite trajectories on a uniform, increasing time grid.

    Internal units: t [Myr], positions [kpc], velocities [kpc/Myr]. Use the ``*_kms``
    properties for velocities in km/s.

    **Fields:** `t` (n,); `x_host`, `v_host`, `x_sat`, `v_sat` (n, 3).
    """

    t: Float[Array, " n"]
    x_host: Float[Array, "n 3"]
    v_host: Float[Array, "n 3"]
    x_sat: Float[Array, "n 3"]
    v_sat: Float[Array, "n 3"]

    @property
    def separation(self) -> Float[Array, "n 3"]:
        """r = x_sat − x_host [kpc] on the grid."""
        return self.x_sat - self.x_host

    @property
    def relative_velocity(self) -> Float[Array, "n 3"]:
        """u = v_sat − v_host [kpc/Myr] on the grid."""
        return self.v_sat - self.v_host

    @property
    def v_host_kms(self) -> Float[Array, "n 3"]:
        """Host-centre velocity [km/s]."""
        return self.v_host / U.KMS_TO_KPC_MYR

    @property
    def v_sat_kms(self) -> Float[Array, "n 3"]:
        """Satellite velocity [km/s]."""
        return self.v_sat / U.KMS_TO_KPC_MYR

    def relative_position(self, t) -> Float[Array, "3"]:
        """r(t) [kpc] at one time t [Myr] by cubic Hermite interpolation of (r, u) on the grid
        (C¹, local error ∝ dt⁴); clamped to the grid's ends."""
        return hermite_position(self.hermite_table(), self.t[0], self.t[1] - self.t[0], t)

    def hermite_table(self) -> Float[Array, "m 12"]:
        """The cubic Hermite interpolant of r(t) = x_sat − x_host as one row of polynomial
        coefficients per grid interval: on [tᵢ, tᵢ₊₁], with s = (t − tᵢ)/h,

            r(s) = c₀ + c₁ s + c₂ s² + c₃ s³,
            c₀ = rᵢ, c₁ = h uᵢ, c₂ = 3(rᵢ₊₁ − rᵢ) − h(2uᵢ + uᵢ₊₁), c₃ = 2(rᵢ − rᵢ₊₁) + h(uᵢ + uᵢ₊₁)

        (the Hermite basis of :meth:`relative_position` multiplied out), stored as
        (c₀, c₁, c₂, c₃) × 3 components per row: an integrator that interpolates the orbit at
        every force evaluation reads one row per evaluation (one gather) instead of four
        grid points, and the table is built once outside its loop."""
        h = self.t[1] - self.t[0]
        r, u = self.separation, self.relative_velocity
        r0, r1, m0, m1 = r[:-1], r[1:], h * u[:-1], h * u[1:]
        dr = r1 - r0
        c = jnp.stack([r0, m0, 3.0 * dr - 2.0 * m0 - m1, m0 + m1 - 2.0 * dr], axis=1)  # (n-1, 4, 3)
        return c.reshape(c.shape[0], 12)

    def pericentre(self) -> tuple[Float[Array, ""], Float[Array, ""]]:
        """(distance [kpc], time [Myr]) of the closest approach on the grid, refined by a
        parabola through the three grid points around the minimum."""
        d = jnp.linalg.norm(self.separation, axis=-1)
        n = d.shape[0]
        i = jnp.clip(jnp.argmin(d), 1, n - 2)
        y0, y1, y2 = d[i - 1], d[i], d[i + 1]
        den = y0 - 2 * y1 + y2
        off = jnp.where(den > 0, 0.5 * (y0 - y2) / jnp.where(den > 0, den, 1.0), 0.0)
        off = jnp.clip(off, -1.0, 1.0)
        h = self.t[1] - self.t[0]
        return y1 - 0.25 * (y0 - y2) * off, self.t[i] + off * h


def hermite_position(table: Float[Array, "m 12"], t_start, h, t) -> Float[Array, "3"]:
    """r(t) [kpc] from a :meth:`TwoBodyOrbit.hermite_table` whose grid starts at ``t_start``
    with spacing ``h`` [Myr]: one row lookup and a Horner evaluation; clamped to the grid's
    ends (the interval index is clipped and s to [0, 1])."""
    m = table.shape[0]
    s_all = (t - t_start) / h
    i = jnp.clip(jnp.floor(s_all).astype(jnp.int32), 0, m - 1)
    s = jnp.clip(s_all - i.astype(s_all.dtype), 0.0, 1.0)
    c = table[i].astype(jnp.result_type(s)).reshape(4, 3)
    return ((c[3] * s + c[2]) * s + c[1]) * s + c[0]


def integrate_two_body(
    host: AbstractPotential,
    satellite: AbstractPotential,
    w_sat,
    t1=-2200.0,
    dt=1.0,
    *,
    t0=0.0,
    friction: ChandrasekharFriction | None = None,
    solver: AbstractSolver | None = None,
) -> TwoBodyOrbit:
    """Integrate the host–satellite pair from t0 (host at rest at the origin, satellite at
    ``w_sat``) to t1.

    **Arguments:**

    - `host`, `satellite`: the two rigid potentials, each centred at the origin.
    - `w_sat`: (6,) satellite position [kpc] and velocity [km/s] relative to the host at
      t0 (Galactocentric).
    - `t1` [Myr]: end time (Brooks et al. integrate back to −2200).
    - `dt` [Myr]: spacing of the output grid (> 0); |t1 − t0|/dt is rounded up to an
      integer number n ≥ 4 of equal intervals.
    - `t0` [Myr]: start time (default 0, today).
    - `friction`: dynamical friction on the satellite, a :class:`ChandrasekharFriction`
      (``None``: no friction).
    - `solver`: any solver of :mod:`jaxgal.integrators` (default ``RK4(dt)``, global error
      ∝ dt⁴; a fixed-step solver takes equal steps no longer than its own ``dt`` inside
      each output interval, e.g. ``Leapfrog(0.5, midpoint_iterations=3)``, or
      ``Diffrax(diffrax.Dopri8(), diffrax.PIDController(rtol=1e-12, atol=1e-14))`` as a
      tight reference).

    **Returns:** a :class:`TwoBodyOrbit` on the grid from min(t0, t1) to max(t0, t1)
    (increasing time). Jit-, vmap- and differentiable with respect to the potentials'
    parameters, ``w_sat`` and the friction.
    """
    t0f = check_finite_scalar(t0, "t0", unit="Myr")
    t1f = check_finite_scalar(t1, "t1", unit="Myr")
    dtf = check_finite_scalar(dt, "dt", unit="Myr", lo=0.0, closed=(False, True))
    if t1f == t0f:
        raise ValueError(f"t1 equals t0 = {t0f} Myr: nothing to integrate")
    field = host_satellite_field(host, satellite, friction)
    w_sat = as_float_array(w_sat, "w_sat")
    check_shape(w_sat.shape, "w_sat", "(6,) (kpc, km/s)", w_sat.shape == (6,))
    n = max(4, int(math.ceil(abs(t1f - t0f) / dtf * (1 - 1e-12))))
    if solver is None:
        solver = RK4(abs(t1f - t0f) / n)
    dtype = jnp.result_type(w_sat.dtype, float)
    x0 = jnp.concatenate([jnp.zeros(3, dtype), w_sat[:3].astype(dtype)])
    v0 = jnp.concatenate([jnp.zeros(3, dtype), (w_sat[3:] * U.KMS_TO_KPC_MYR).astype(dtype)])
    ts, xs, vs = integrate_system(field, x0, v0, t0f, t1f, solver, n_save=n)
    if t1f < t0f:  # store in increasing time
        ts, xs, vs = ts[::-1], xs[::-1], vs[::-1]
    return TwoBodyOrbit(t=ts, x_host=xs[:, :3], v_host=vs[:, :3], x_sat=xs[:, 3:], v_sat=vs[:, 3:])
