"""Fixed-step symplectic integration of one orbit on ``lax.scan`` (callers ``vmap`` it).

The step is the kick–drift–…–kick sequence of a :class:`~._schemes.Scheme`; the
position-only force at the end of a step is carried to the next one (first-same-as-last),
so a step costs ``scheme.n_force`` gravity evaluations. A negative ``h`` integrates
backwards in time. Times inside a step are computed from the step index, t₀ + (i + cₖ)h,
so that they carry no accumulated round-off.

Output: the state after every block of ``block`` steps, for ``n_blocks`` blocks (two nested
scans: the outer one emits one snapshot per block, the inner one runs the steps).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._kick import kick
from ._schemes import Scheme
from ._terms import SumOfTerms

__all__ = ["fixed_step_orbit"]


def fixed_step_orbit(
    pos_term: SumOfTerms | None,
    vel_term: SumOfTerms | None,
    scheme: Scheme,
    x0: Float[Array, "3"],
    v0: Float[Array, "3"],
    t0,
    h,
    n_blocks: int,
    block: int,
    args: Any = None,
    midpoint_iterations: int = 2,
    unroll: int = 1,
) -> tuple[Float[Array, "n 3"], Float[Array, "n 3"]]:
    """Integrate one orbit for ``n_blocks * block`` steps of length ``h`` [Myr].

    **Arguments:** the position-only and velocity-dependent force sums (either may be
    ``None``); the scheme; x0 [kpc], v0 [kpc/Myr]; t0 [Myr]; h [Myr] (signed); the number
    of snapshots ``n_blocks`` and steps per snapshot ``block`` (static); ``args`` for the
    terms; implicit-midpoint iterations for velocity-dependent terms; scan ``unroll``.

    **Returns:** ``(xs, vs)`` of shape (n_blocks, 3): the state after each block.
    """
    dtype = x0.dtype
    kicks = tuple(float(b) for b in scheme.kicks)
    drifts = tuple(float(a) for a in scheme.drifts)
    # Fraction of the step elapsed after each drift (for the force's time argument).
    elapsed = tuple(float(c) for c in np.cumsum(drifts))
    t0 = jnp.asarray(t0, dtype)
    h = jnp.asarray(h, dtype)

    def pos_acc(t, x):
        if pos_term is None:
            return jnp.zeros_like(x)
        return pos_term.acceleration(t, x, None, args)

    def step(carry, i):
        x, v, g = carry
        base = t0 + i.astype(dtype) * h
        tk = base
        for k, b in enumerate(kicks):
            v = kick(v, b * h, g, vel_term, tk, x, args, midpoint_iterations)
            if k < len(drifts):
                x = x + (drifts[k] * h) * v
                tk = base + elapsed[k] * h
                g = pos_acc(tk, x)
        return (x, v, g), None

    def run_block(carry, j):
        idx = j * block + jnp.arange(block)
        carry, _ = jax.lax.scan(step, carry, idx, unroll=unroll)
        return carry, (carry[0], carry[1])

    g0 = pos_acc(t0, x0)
    _, (xs, vs) = jax.lax.scan(run_block, (x0, v0, g0), jnp.arange(n_blocks))
    return xs, vs
