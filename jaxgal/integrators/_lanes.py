"""The lane scheduler shared by the per-orbit adaptive solvers.

Orbits need very different numbers of steps (×100 between a plunging inner-halo orbit and
an outer one). A batched ``while_loop`` over all orbits would run every orbit for as many
iterations as the slowest needs. Instead a fixed number of **lanes** is stepped in
lock-step; when a lane's orbit reaches its last output time the lane writes it out and
loads the next orbit from a queue, so the work done is ≈ Σ(steps) plus a short tail. The
queue is ordered from the most to the least expensive orbit (longest-first scheduling
keeps the tail short), and dealt round-robin over the devices so that each gets the same
mix. Everything is one ``lax.while_loop`` with vectorised gathers and scatters: it runs
unchanged on a GPU (use more lanes there).

A solver plugs in a **step**: ``step(lane, t, target) -> (lane, t, landed, counted)`` for
one lane (vmapped here), where ``lane`` is the solver's per-orbit state (a pytree),
``target`` the next output time, ``landed`` whether the step ended exactly on it and
``counted`` whether the step counts towards the orbit's step total. A step aiming at its
own time (``target == t``: an idle lane) must be harmless. An orbit whose state becomes
non-finite (NaN from bad input, say) is retired with NaN outputs, so the loop always ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .._sharding import map_over_devices

__all__ = ["run_lanes", "run_queue", "default_lanes", "lane_widths", "LANE_MULTIPLE"]


#: Lane widths are multiples of this: XLA:CPU vectorises the (lanes, 6) lane arithmetic only
#: then — an odd width (625 for 20,000 stars on 2 devices) made the tracer stage 1.2–1.4× slower
#: (``benchmarks/tracer_profile.py --configs l625,l624``).
LANE_MULTIPLE = 8


def default_lanes(n: int, n_dev: int) -> int:
    """≥ 16 orbits per lane (short tail), 64–1024 lanes (amortised loop overhead on a CPU),
    a multiple of ``LANE_MULTIPLE``."""
    per_dev = -(-n // n_dev)
    lanes = max(64, min(1024, per_dev // 16))
    return int(lanes // LANE_MULTIPLE * LANE_MULTIPLE)


def _where_lane(mask, new, old):
    return jax.tree.map(lambda a, b: jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b), new, old)


def lane_widths(lanes: int, shrink: int, min_lanes: int = LANE_MULTIPLE) -> tuple[int, ...]:
    """The lane widths of the successive phases: ``lanes``, then ``lanes // shrink`` rounded
    down to a multiple of ``LANE_MULTIPLE``, … down to ``min_lanes`` (just ``(lanes,)`` for
    ``shrink`` ≤ 1)."""
    widths = [int(lanes)]
    if shrink > 1:
        while (nxt := widths[-1] // shrink // LANE_MULTIPLE * LANE_MULTIPLE) >= min_lanes:
            widths.append(nxt)
    return tuple(widths)


def run_lanes(
    step: Callable,
    emit: Callable,
    queue: Any,
    t0: Float[Array, ""],
    targets: Float[Array, " k"],
    *,
    lanes: int,
    max_iterations: int,
    shrink: int = 8,
    budget: Callable | None = None,
) -> tuple[Float[Array, "k n m"], Int[Array, " n"]]:
    """Integrate the ``n`` queued orbits (in queue order) to every time in ``targets``.

    **Arguments:** `step` (module docstring); `emit(lane) -> (m,)`: the state recorded at
    an output time; `queue`: a pytree of (n, ...) arrays, each orbit's initial lane state;
    `t0` [Myr]; `targets`: the output times after t0, monotonic in the direction of
    integration; `lanes` (static): orbits stepped concurrently; `max_iterations` (static):
    a bound on lane steps (a safety net: orbits not finished come back as NaN);
    `shrink` (static): once the queue is empty, the lanes still running are packed into
    ``lanes // shrink`` lanes as soon as they fit, then ``lanes // shrink²`` … (down to 8):
    the long tail of a few slow orbits then costs a narrow lane step per step instead of
    the full width (1 keeps the full width to the end); `budget`: optional
    ``budget(lane) -> int``, an orbit's step budget — an orbit that has made that many
    counted steps is retired at once, its state at the time reached written to every output
    not yet recorded.

    **Returns:** ``(out, steps)``: the recorded states (k, n, m) and the counted steps per
    orbit (n,).
    """
    n = jax.tree_util.tree_leaves(queue)[0].shape[0]
    n_t = targets.shape[0]
    lanes = int(min(lanes, n))
    dtype = targets.dtype
    vstep = jax.vmap(step)
    vemit = jax.vmap(emit)
    first = jax.tree.map(lambda a: a[:lanes], queue)
    m = jax.eval_shape(emit, jax.tree.map(lambda a: a[0], first)).shape[0]
    state = dict(
        idx=jnp.arange(lanes, dtype=jnp.int32),
        lane=first,
        t=jnp.full((lanes,), t0, dtype),
        j=jnp.zeros((lanes,), jnp.int32),
        nsteps=jnp.zeros((lanes,), jnp.int32),
        next=jnp.asarray(lanes, jnp.int32),
        out=jnp.full((n_t, n, m), jnp.nan, dtype),
        steps=jnp.zeros((n,), jnp.int32),
        it=jnp.asarray(0, jnp.int32),
    )
    t_idx = jnp.arange(n_t, dtype=jnp.int32)

    def body(s):
        active = s["idx"] < n
        # Idle lanes aim at their own time: zero-length steps, no garbage.
        target = jnp.where(active, targets[jnp.minimum(s["j"], n_t - 1)], s["t"])
        lane, t, landed, counted = vstep(s["lane"], s["t"], target)
        rec_state = vemit(lane)
        # An orbit whose state or time stopped being finite can never land: retire it
        # (its outputs stay NaN) instead of stepping it until max_iterations.
        broken = active & ~(jnp.all(jnp.isfinite(rec_state), axis=1) & jnp.isfinite(t))
        landed = landed & active
        nsteps = s["nsteps"] + (counted & active).astype(jnp.int32)
        j = jnp.where(broken, n_t, s["j"] + landed.astype(jnp.int32))
        if budget is None:
            out = s["out"].at[s["j"], jnp.where(landed, s["idx"], n)].set(rec_state, mode="drop")
            done = (landed | broken) & (j >= n_t)
        else:
            # Out of budget: the state reached fills every output not yet written. The
            # landed output and that fill are one scatter (two cost ~1 % more of a step).
            spent = active & ~broken & (j < n_t) & (nsteps >= jax.vmap(budget)(lane))
            fill = (landed[None, :] & (t_idx[:, None] == s["j"][None, :])) | (spent[None, :] & (t_idx[:, None] >= j[None, :]))
            rows = jnp.where(fill, t_idx[:, None], n_t)
            cols = jnp.broadcast_to(s["idx"][None, :], rows.shape)
            out = s["out"].at[rows, cols].set(jnp.broadcast_to(rec_state[None], rows.shape + (m,)), mode="drop")
            j = jnp.where(spent, n_t, j)
            done = (landed | broken | spent) & (j >= n_t)
        steps = s["steps"].at[jnp.where(done, s["idx"], n)].set(nsteps, mode="drop")
        # Refill finished lanes from the queue.
        rank = jnp.cumsum(done, dtype=jnp.int32) - 1
        new = s["next"] + rank
        take = done & (new < n)
        src = jnp.minimum(new, n - 1)
        fresh = jax.tree.map(lambda a: a[src], queue)
        return dict(
            idx=jnp.where(done, jnp.where(take, new, n), s["idx"]),
            lane=_where_lane(take, fresh, lane),
            t=jnp.where(take, t0, t),
            j=jnp.where(done, 0, j),
            nsteps=jnp.where(done, 0, nsteps),
            next=s["next"] + jnp.sum(done, dtype=jnp.int32),
            out=out,
            steps=steps,
            it=s["it"] + 1,
        )

    widths = lane_widths(lanes, shrink)
    for k, width in enumerate(widths):
        narrower = widths[k + 1] if k + 1 < len(widths) else 0

        def cond(s, narrower=narrower):
            active = s["idx"] < n
            keep = (s["next"] < n) | (jnp.sum(active, dtype=jnp.int32) > narrower)
            return jnp.any(active) & keep & (s["it"] < max_iterations)

        state = jax.lax.while_loop(cond, body, state)
        if narrower:
            # Pack the lanes still running into the first `narrower` lanes (stable order).
            keep = jnp.argsort(state["idx"] >= n, stable=True)[:narrower]
            per_lane = ("idx", "lane", "t", "j", "nsteps")
            state = {k_: (jax.tree.map(lambda a: a[keep], v) if k_ in per_lane else v) for k_, v in state.items()}
    return state["out"], state["steps"]


def run_queue(
    run_shard: Callable,
    queue: Any,
    cost: Float[Array, " n"],
    replicated: tuple,
    *,
    devices,
) -> tuple[Float[Array, "k n m"], Int[Array, " n"]]:
    """Sort, pad, deal and scatter back: run ``run_shard(queue_shard, *replicated)`` (which
    returns ``(out (k, n_shard, m), steps (n_shard,))``) on every device, with the queue
    sorted by increasing ``cost`` (most expensive first: pass minus the expected work),
    padded to a multiple of the device count by repeating the last orbit and dealt
    round-robin; the outputs come back in the original order."""
    n = cost.shape[0]
    n_dev = len(devices)
    order = jnp.argsort(cost)
    n_pad = -(-n // n_dev) * n_dev
    order = jnp.concatenate([order, jnp.repeat(order[-1:], n_pad - n)])
    layout = order.reshape(n_pad // n_dev, n_dev).T.reshape(-1)
    leaves, treedef = jax.tree_util.tree_flatten(queue)

    def shard_fn(*args):
        q = jax.tree_util.tree_unflatten(treedef, args[: len(leaves)])
        return run_shard(q, *args[len(leaves) :])

    out, steps = map_over_devices(
        shard_fn, tuple(a[layout] for a in leaves), replicated, out_axes=(1, 0), devices=devices
    )
    w = jnp.zeros((out.shape[0], n, out.shape[2]), out.dtype).at[:, layout].set(out)
    nsteps = jnp.zeros((n,), steps.dtype).at[layout].set(steps)
    return w, nsteps
