"""The fixed-step engine: a solver's step on ``lax.scan``, vmapped over systems and split
over devices.

A fixed-step solver provides the integration of one system as two nested scans (the outer
one emits one snapshot per output interval, the inner one runs the ``block`` steps of that
interval); this module runs it for a batch. Times inside a step are computed from the step
index, t₀ + (i + cₖ) h, so that they carry no accumulated round-off. A negative ``h``
integrates backwards in time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from .._sharding import map_over_devices

__all__ = ["scan_blocks", "run_fixed"]


def scan_blocks(step: Callable, carry0, n_blocks: int, block: int, unroll: int, emit: Callable):
    """Run ``step(carry, i) -> (carry, None)`` for steps i = 0 … n_blocks·block − 1 and
    return ``emit(carry)`` after every block of ``block`` steps (stacked on a leading axis
    of length n_blocks)."""

    def run_block(carry, j):
        idx = j * block + jnp.arange(block)
        carry, _ = jax.lax.scan(step, carry, idx, unroll=unroll)
        return carry, emit(carry)

    _, out = jax.lax.scan(run_block, carry0, jnp.arange(n_blocks))
    return out


def run_fixed(solver, term, x0, v0, t0, grid, h, args: Any, devices):
    """``solver._orbit`` for every system of the batch (vmap), the batch split over
    ``devices``. Returns ``(w (n_out, n, 2d), steps (n,))``."""
    dyn, static = eqx.partition((solver, term, args), eqx.is_array)

    def shard_fn(xs, vs, t0_, h_, dyn_):
        solver_, term_, args_ = eqx.combine(dyn_, static)

        def one(x, v):
            return solver_._orbit(term_, x, v, t0_, h_, grid.n_out, grid.block, args_)

        return jax.vmap(one)(xs, vs)

    xs, vs = map_over_devices(shard_fn, (x0, v0), (t0, h, dyn), out_axes=(0, 0), devices=devices)
    w = jnp.moveaxis(jnp.concatenate([xs, vs], axis=-1), 1, 0)
    steps = jnp.full((x0.shape[0],), grid.n_out * grid.block, jnp.int32)
    return w, steps
