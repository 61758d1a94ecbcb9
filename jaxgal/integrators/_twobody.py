r"""The two-body orbit of a rigid host and a rigid satellite (the MW and the LMC).

Both centres move (Brooks et al. §3.1.3; SPEC §A). With r = x_sat − x_host and
u = v_sat − v_host,

    ẍ_sat  = −∇Φ_host(r) + a_DF(r, u),
    ẍ_host = −∇Φ_sat(−r),

where a_DF is the satellite's dynamical friction (:class:`ChandrasekharFriction`, or
none). The host centre starts at rest at the origin, so at the start time (usually t = 0,
today) the frame is the Galactocentric one, and the orbit is integrated backwards.

Integrators (all on a uniform output grid of step ``dt``, so the result can be
interpolated by cubic Hermite polynomials):

- ``"rk4"``: classical fourth-order Runge–Kutta with step ``dt`` (default; global error
  ∝ dt⁴);
- ``"leapfrog"``: kick–drift–kick with the friction solved by implicit midpoint in each kick
  (second order, time-symmetric);
- ``"dopri8"``: diffrax's Dormand–Prince 8(7) with adaptive steps (``rtol``, ``atol``),
  saved on the ``dt`` grid — the tight-tolerance reference.

The tracers of a simulation then feel the satellite in the host's (non-inertial) frame
through :class:`SatelliteInHostFrame`.
"""

from __future__ import annotations

from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import units as U
from ..potentials import AbstractPotential
from ._terms import AbstractForceTerm

__all__ = ["TwoBodyOrbit", "integrate_two_body", "SatelliteInHostFrame", "TWO_BODY_METHODS"]

TWO_BODY_METHODS = ("rk4", "leapfrog", "dopri8")


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
        ts = self.t
        h = ts[1] - ts[0]
        n = ts.shape[0]
        s_all = (t - ts[0]) / h
        i = jnp.clip(jnp.floor(s_all).astype(jnp.int32), 0, n - 2)
        s = jnp.clip(s_all - i, 0.0, 1.0)
        r = self.separation
        u = self.relative_velocity
        r0, r1, m0, m1 = r[i], r[i + 1], h * u[i], h * u[i + 1]
        s2, s3 = s * s, s * s * s
        return (
            (2 * s3 - 3 * s2 + 1) * r0
            + (s3 - 2 * s2 + s) * m0
            + (-2 * s3 + 3 * s2) * r1
            + (s3 - s2) * m1
        )

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


class SatelliteInHostFrame(AbstractForceTerm):
    r"""The satellite's pull on a tracer, in the host-centred (non-inertial) frame.

    a(t, x) = −∇Φ_sat(x − r(t)) − a_host(t),  a_host(t) = −∇Φ_sat(−r(t)),

    with r(t) the satellite–host separation of a :class:`TwoBodyOrbit` (Hermite
    interpolated). Add it to the host's gravity: ẍ = −∇Φ_host(x) + this (SPEC §A). The
    second term is the fictitious force of the accelerating host frame; together they are
    the satellite's tidal field, which vanishes at the host centre.

    **Arguments:** `satellite`: its potential (centred at the origin); `orbit`.
    """

    satellite: AbstractPotential
    orbit: TwoBodyOrbit
    velocity_dependent: ClassVar[bool] = False

    def host_acceleration(self, t) -> Float[Array, "3"]:
        """a_host(t) [kpc/Myr²]: the host centre's acceleration towards the satellite."""
        return -self.satellite.grad_phi(-self.orbit.relative_position(t), t)

    def acceleration(self, t, x, v, args):
        r = self.orbit.relative_position(t).astype(x.dtype)
        return (-self.satellite.grad_phi(x - r, t) + self.satellite.grad_phi(-r, t)).astype(x.dtype)


# ---------------------------------------------------------------------------------------
# integration
# ---------------------------------------------------------------------------------------
def _accelerations(host, sat, friction, t, y):
    """(a_host, a_sat) [kpc/Myr²] for the 12-vector y = (x_h, v_h, x_s, v_s)."""
    x_h, v_h, x_s, v_s = y[0:3], y[3:6], y[6:9], y[9:12]
    r = x_s - x_h
    a_s = -host.grad_phi(r, t)
    if friction is not None:
        a_s = a_s + friction.acceleration(t, r, v_s - v_h, None)
    a_h = -sat.grad_phi(-r, t)
    return a_h, a_s


def _rhs(host, sat, friction, t, y):
    a_h, a_s = _accelerations(host, sat, friction, t, y)
    return jnp.concatenate([y[3:6], a_h, y[9:12], a_s])


def _rk4_step(host, sat, friction, t, y, h):
    f = lambda tt, yy: _rhs(host, sat, friction, tt, yy)  # noqa: E731
    k1 = f(t, y)
    k2 = f(t + 0.5 * h, y + 0.5 * h * k1)
    k3 = f(t + 0.5 * h, y + 0.5 * h * k2)
    k4 = f(t + h, y + h * k3)
    return y + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)


def _leapfrog_step(host, sat, friction, t, y, h, n_iter):
    x_h, v_h, x_s, v_s = y[0:3], y[3:6], y[6:9], y[9:12]

    def kick(t_, x_h_, v_h_, x_s_, v_s_, c):
        r = x_s_ - x_h_
        v_h_new = v_h_ - c * sat.grad_phi(-r, t_)
        g_s = -host.grad_phi(r, t_)
        if friction is None:
            return v_h_new, v_s_ + c * g_s
        u0 = v_s_ - v_h_
        v_s_new = v_s_ + c * (g_s + friction.acceleration(t_, r, u0, None))
        for _ in range(n_iter):  # implicit midpoint in the relative velocity
            u_mid = 0.5 * (v_s_ + v_s_new) - 0.5 * (v_h_ + v_h_new)
            v_s_new = v_s_ + c * (g_s + friction.acceleration(t_, r, u_mid, None))
        return v_h_new, v_s_new

    v_h, v_s = kick(t, x_h, v_h, x_s, v_s, 0.5 * h)
    x_h = x_h + h * v_h
    x_s = x_s + h * v_s
    v_h, v_s = kick(t + h, x_h, v_h, x_s, v_s, 0.5 * h)
    return jnp.concatenate([x_h, v_h, x_s, v_s])


def integrate_two_body(
    host: AbstractPotential,
    satellite: AbstractPotential,
    w_sat,
    t_end=-2200.0,
    dt=1.0,
    *,
    friction: AbstractForceTerm | None = None,
    method: str = "rk4",
    substeps: int = 1,
    midpoint_iterations: int = 3,
    rtol: float = 1e-12,
    atol: float = 1e-14,
    max_steps: int = 1_000_000,
) -> TwoBodyOrbit:
    """Integrate the host–satellite pair from t = 0 (host at rest at the origin, satellite
    at ``w_sat``) to ``t_end``.

    **Arguments:**

    - `host`, `satellite`: the two rigid potentials, each centred at the origin.
    - `w_sat`: (6,) satellite position [kpc] and velocity [km/s] relative to the host at
      t = 0 (Galactocentric).
    - `t_end` [Myr]: end time (negative: backwards; Brooks et al. use −2200).
    - `dt` [Myr]: spacing of the output grid; |t_end|/dt is rounded up to an integer.
    - `friction`: a velocity-dependent term acting on the satellite's relative motion, e.g.
      :class:`ChandrasekharFriction` (``None``: no friction).
    - `method`: ``"rk4"`` (default), ``"leapfrog"`` or ``"dopri8"`` (module docstring).
    - `substeps`: integration steps per output interval for ``rk4``/``leapfrog``.
    - `midpoint_iterations`: fixed-point sweeps of the leapfrog's implicit friction kick.
    - `rtol`, `atol`, `max_steps`: ``dopri8`` controls (atol in kpc and kpc/Myr).

    **Returns:** a :class:`TwoBodyOrbit` on the grid from min(0, t_end) to max(0, t_end)
    (increasing time). Jit-, vmap- and differentiable with respect to the potentials'
    parameters, ``w_sat`` and the friction (``dopri8`` by diffrax's adjoint).
    """
    if method not in TWO_BODY_METHODS:
        raise ValueError(f"unknown two-body method {method!r}; choose one of {list(TWO_BODY_METHODS)}")
    t_end = float(U.to_value(t_end, "Myr"))
    dt = abs(float(U.to_value(dt, "Myr")))
    if t_end == 0 or not np.isfinite(t_end):
        raise ValueError(f"t_end must be finite and non-zero; got {t_end}")
    if dt == 0 or not np.isfinite(dt):
        raise ValueError(f"dt must be finite and non-zero; got {dt}")
    if int(substeps) < 1:
        raise ValueError(f"substeps must be a positive integer; got {substeps}")
    n = max(4, int(np.ceil(abs(t_end) / dt * (1 - 1e-12))))
    h = t_end / n
    w_sat = jnp.asarray(w_sat)
    if w_sat.shape != (6,):
        raise ValueError(f"w_sat must be a (6,) vector (kpc, km/s); got shape {w_sat.shape}")
    dtype = jnp.result_type(w_sat.dtype, float)
    y0 = jnp.concatenate(
        [jnp.zeros(6, dtype), w_sat[:3].astype(dtype), (w_sat[3:] * U.KMS_TO_KPC_MYR).astype(dtype)]
    )
    ts = jnp.arange(n + 1, dtype=dtype) * h

    if method == "dopri8":
        term = diffrax.ODETerm(lambda t, y, args: _rhs(host, satellite, friction, t, y))
        sol = diffrax.diffeqsolve(
            term,
            diffrax.Dopri8(),
            t0=0.0,
            t1=t_end,
            dt0=h,
            y0=y0,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            max_steps=int(max_steps),
        )
        ys = sol.ys
    else:
        k = int(substeps)
        hs = h / k
        if method == "rk4":
            step = lambda t, y: _rk4_step(host, satellite, friction, t, y, hs)  # noqa: E731
        else:
            step = lambda t, y: _leapfrog_step(host, satellite, friction, t, y, hs, int(midpoint_iterations))  # noqa: E731

        def block(y, t):
            y = jax.lax.fori_loop(0, k, lambda j, yy: step(t + j * hs, yy), y)
            return y, y

        _, ys = jax.lax.scan(block, y0, ts[:-1])
        ys = jnp.concatenate([y0[None], ys], axis=0)

    if t_end < 0:  # store in increasing time
        ts, ys = ts[::-1], ys[::-1]
    return TwoBodyOrbit(t=ts, x_host=ys[:, 0:3], v_host=ys[:, 3:6], x_sat=ys[:, 6:9], v_sat=ys[:, 9:12])
