"""The classical fourth-order Runge–Kutta method with a fixed step.

For x'' = a(t, x, v) written as y' = f(t, y), y = (x, v), f = (v, a):

    k₁ = f(t, y),  k₂ = f(t + h/2, y + h k₁/2),  k₃ = f(t + h/2, y + h k₂/2),
    k₄ = f(t + h, y + h k₃),  y ← y + h (k₁ + 2k₂ + 2k₃ + k₄)/6

(Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.1). Global error ∝ h⁴, four force
evaluations per step, not symplectic; it treats velocity-dependent forces (dynamical
friction) exactly like the others, which makes it the default for the host–satellite orbit
(``jaxgal.satellites``).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ._base import AbstractFixedStepSolver, check_dt
from ._fixed import run_fixed, scan_blocks

__all__ = ["RK4"]


class RK4(AbstractFixedStepSolver):
    """Classical Runge–Kutta, fixed step (module docstring).

    **Arguments:** `dt`: the step [Myr] (the interval is divided into equal steps no longer
    than |dt|); `unroll`: ``lax.scan`` unroll (default 1).

    Gradients: forward and reverse mode.
    """

    dt: float = eqx.field(static=True)
    unroll: int = eqx.field(static=True, default=1)

    def __init__(self, dt, *, unroll: int = 1):
        self.dt = check_dt("RK4", dt)
        self.unroll = int(unroll)

    def _orbit(self, term, x0, v0, t0, h, n_blocks, block, args):
        dtype = x0.dtype
        t0 = jnp.asarray(t0, dtype)
        h = jnp.asarray(h, dtype)

        def acc(t, x, v):
            return term.acceleration(t, x, v, args)

        def step(carry, i):
            x, v = carry
            t = t0 + i.astype(dtype) * h
            k1x, k1v = v, acc(t, x, v)
            x2, v2 = x + 0.5 * h * k1x, v + 0.5 * h * k1v
            k2x, k2v = v2, acc(t + 0.5 * h, x2, v2)
            x3, v3 = x + 0.5 * h * k2x, v + 0.5 * h * k2v
            k3x, k3v = v3, acc(t + 0.5 * h, x3, v3)
            x4, v4 = x + h * k3x, v + h * k3v
            k4x, k4v = v4, acc(t + h, x4, v4)
            x = x + (h / 6.0) * (k1x + 2 * k2x + 2 * k3x + k4x)
            v = v + (h / 6.0) * (k1v + 2 * k2v + 2 * k3v + k4v)
            return (x, v), None

        return scan_blocks(step, (x0, v0), n_blocks, block, self.unroll, lambda c: c)

    def _run(self, term, x0, v0, t0, grid, targets, h, args, devices):
        return run_fixed(self, term, x0, v0, t0, grid, h, args, devices)
