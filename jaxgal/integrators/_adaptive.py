"""Per-orbit adaptive, time-symmetric integration with load-balanced lanes.

**The step.** The base method is the drift–kick–drift leapfrog whose step Δt is fixed by
the step function at the step's midpoint,

    Δt = σ / Ω(x + Δt v / 2; E),        x_mid = x + Δt v/2,
    v' = v + Δt a(x_mid, t + Δt/2),       x' = x_mid + Δt v'/2,

with σ a fixed fictitious step and Ω(x; E) the position-only function of
``_stepfunction.py``. The implicit equation for Δt is scalar and cheap (Ω costs a fraction
of a force), solved by ``iterations`` fixed-point sweeps from the previous sub-step's
value. Running the step backwards from (x', −v') gives the same x_mid and Δt, so the
method is time-symmetric (reversible) like the time-symmetrised leapfrog of Hut, Makino &
McMillan (1995, ApJ 443, L93): no secular energy drift on regular orbits, although it is
not symplectic. Being symmetric and of order 2, it composes to order 4 or 6 with the
leapfrog compositions of ``_schemes.py`` (Yoshida 1990; Suzuki 1990; Kahan & Li 1997):
each sub-step γᵢσ solves its own Δtᵢ. Each sub-step costs one force evaluation.

**Landing.** Before each step the lane predicts Δt ≈ σ/Ω(x); if 1.2 times that reaches the
next output time, it instead takes the composition with the fixed step (t_out − t), which
lands exactly, records the state and moves on. (If a normal step still overshoots, it is
undone and redone as a landing step.)

**Lanes.** Orbits need very different numbers of steps (×100 between a plunging inner-halo
orbit and an outer one). A batched ``while_loop`` over all orbits would run every orbit for
as many iterations as the slowest needs. Instead a fixed number of *lanes* is stepped in
lock-step; when a lane's orbit reaches its last output time the lane writes it out and
loads the next orbit from the queue, so the work done is ≈ Σ(steps) + a short tail. The
caller orders the queue from the most to the least expensive orbit (longest-first
scheduling keeps the tail short). Everything is one ``lax.while_loop`` with vectorised
gathers and scatters: it runs unchanged on a GPU (use more lanes there).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._kick import kick
from ._stepfunction import StepFunction
from ._terms import SumOfTerms

__all__ = ["AdaptiveSteps", "adaptive_orbits"]


class AdaptiveSteps(eqx.Module):
    """Options of the per-orbit adaptive, time-symmetric integrator.

    Pass as ``integrate_orbits(..., step_control=AdaptiveSteps(...))``; ``dt`` then is the
    **largest** step allowed [Myr] and ``method`` one of the leapfrog compositions
    (``"leapfrog"``, ``"yoshida4"``, ``"suzuki4"``, ``"yoshida6"``, ``"kahan_li6"``).

    Gradients: forward mode only (``jax.jvp``, ``jax.jacfwd``; the loop is a
    ``lax.while_loop``); use a fixed-step scheme or the diffrax path for reverse mode.

    **Arguments:**

    - `eta`: fictitious step σ (accuracy knob; the error scales as η^order): a circular
      orbit takes ≈ 2π/(√2 η) steps per period.
    - `disc_weight`: weight of the disc-crossing term of Ω (0 switches it off).
    - `iterations` (static): fixed-point sweeps for the midpoint step (≥ 1).
    - `lanes` (static): orbits stepped concurrently per device (default: n/16 per
      device, clipped to 64–1024; use ≥ 10⁴ on a GPU).
    - `max_iterations` (static): bound on lane steps per device (a safety net; the loop
      stops early and the result contains NaN for orbits not finished).
    """

    eta: float = 0.3
    disc_weight: float = 1.0
    iterations: int = eqx.field(static=True, default=2)
    lanes: int | None = eqx.field(static=True, default=None)
    max_iterations: int = eqx.field(static=True, default=10_000_000)

    def __check_init__(self):
        try:
            eta = float(self.eta)
        except Exception:  # traced: trust the caller
            return
        if not (eta > 0 and eta == eta):
            raise ValueError(f"AdaptiveSteps: eta must be > 0; got {self.eta}")
        if self.iterations < 1:
            raise ValueError(f"AdaptiveSteps: iterations must be ≥ 1; got {self.iterations}")
        if self.lanes is not None and self.lanes < 1:
            raise ValueError(f"AdaptiveSteps: lanes must be ≥ 1; got {self.lanes}")


def _lane_step(
    pos_term, vel_term, stepfn: StepFunction, gammas, h, direction, iterations, midpoint_iterations,
    args, x, v, t, energy, target, force_land,
):
    """One composed adaptive step (or a landing step) of one lane."""
    def om(q):
        return stepfn.omega(q, energy)

    def pos_acc(tm, q):
        if pos_term is None:
            return jnp.zeros_like(q)
        return pos_term.acceleration(tm, q, None, args)

    om0 = om(x)
    land = force_land | ((t + 1.2 * h / om0 - target) * direction >= 0)
    dt_land = target - t
    x1, v1, t1 = x, v, t
    om_mid = om0
    for gam in gammas:
        sigma = gam * h
        dt = sigma / om_mid
        for _ in range(iterations):
            om_mid = om(x1 + 0.5 * dt * v1)
            dt = sigma / om_mid
        dt = jnp.where(land, gam * dt_land, dt)
        xm = x1 + 0.5 * dt * v1
        tm = t1 + 0.5 * dt
        v1 = kick(v1, dt, pos_acc(tm, xm), vel_term, tm, xm, args, midpoint_iterations)
        x1 = xm + 0.5 * dt * v1
        t1 = t1 + dt
    t1 = jnp.where(land, target, t1)
    overshoot = (~land) & ((t1 - target) * direction > 0)
    x1 = jnp.where(overshoot, x, x1)
    v1 = jnp.where(overshoot, v, v1)
    t1 = jnp.where(overshoot, t, t1)
    return x1, v1, t1, land & ~overshoot, overshoot


def adaptive_orbits(
    pos_term: SumOfTerms | None,
    vel_term: SumOfTerms | None,
    stepfn: StepFunction,
    gammas: tuple[float, ...],
    x0: Float[Array, "n 3"],
    v0: Float[Array, "n 3"],
    energy: Float[Array, " n"],
    t0,
    targets: Float[Array, " k"],
    eta,
    *,
    lanes: int,
    iterations: int = 2,
    midpoint_iterations: int = 2,
    max_iterations: int = 10_000_000,
    args: Any = None,
) -> tuple[Float[Array, "k n 6"], Array]:
    """Integrate ``n`` orbits (queued in the given order) to every time in ``targets``.

    **Arguments:** force sums; the step function; the composition's sub-steps ``gammas``;
    x0 [kpc], v0 [kpc/Myr], E [kpc²/Myr²] per orbit; t0 [Myr]; ``targets``: the output
    times after t0, monotonic in the direction of integration [Myr]; ``eta``: the
    fictitious step σ (> 0); ``lanes``: concurrent orbits (static).

    **Returns:** ``(w, steps)``: states (k, n, 6) (x [kpc], v [kpc/Myr]) at the targets and
    the number of composed steps per orbit (n,).
    """
    n = x0.shape[0]
    n_t = targets.shape[0]
    lanes = int(min(lanes, n))
    dtype = x0.dtype
    t0 = jnp.asarray(t0, dtype)
    direction = jnp.sign(targets[-1] - t0).astype(dtype)
    direction = jnp.where(direction == 0, 1.0, direction)
    h = jnp.asarray(eta, dtype) * direction

    step = jax.vmap(
        lambda x, v, t, e, tgt, fl: _lane_step(
            pos_term, vel_term, stepfn, gammas, h, direction, iterations, midpoint_iterations,
            args, x, v, t, e, tgt, fl,
        )
    )

    idx = jnp.arange(lanes)
    state = dict(
        idx=idx,
        x=x0[:lanes],
        v=v0[:lanes],
        t=jnp.full((lanes,), t0, dtype),
        e=energy[:lanes],
        j=jnp.zeros((lanes,), jnp.int32),
        nsteps=jnp.zeros((lanes,), jnp.int32),
        force_land=jnp.zeros((lanes,), bool),
        next=jnp.asarray(lanes, jnp.int32),
        out=jnp.full((n_t, n, 6), jnp.nan, dtype),
        steps=jnp.zeros((n,), jnp.int32),
        it=jnp.asarray(0, jnp.int32),
    )

    def cond(s):
        return jnp.any(s["idx"] < n) & (s["it"] < max_iterations)

    def body(s):
        active = s["idx"] < n
        # Idle lanes aim at their own time: zero-length steps, no garbage.
        target = jnp.where(active, targets[jnp.minimum(s["j"], n_t - 1)], s["t"])
        x, v, t, landed, overshoot = step(s["x"], s["v"], s["t"], s["e"], target, s["force_land"])
        landed = landed & active
        nsteps = s["nsteps"] + (active & ~overshoot).astype(jnp.int32)
        rec = jnp.where(landed, s["idx"], n)
        out = s["out"].at[s["j"], rec].set(jnp.concatenate([x, v], axis=1), mode="drop")
        j = s["j"] + landed.astype(jnp.int32)
        done = landed & (j >= n_t)
        steps = s["steps"].at[jnp.where(done, s["idx"], n)].set(nsteps, mode="drop")
        # Refill finished lanes from the queue.
        rank = jnp.cumsum(done, dtype=jnp.int32) - 1
        new = s["next"] + rank
        take = done & (new < n)
        src = jnp.minimum(new, n - 1)
        idx = jnp.where(done, jnp.where(take, new, n), s["idx"])
        return dict(
            idx=idx,
            x=jnp.where(take[:, None], x0[src], x),
            v=jnp.where(take[:, None], v0[src], v),
            t=jnp.where(take, t0, t),
            e=jnp.where(take, energy[src], s["e"]),
            j=jnp.where(done, 0, j),
            nsteps=jnp.where(done, 0, nsteps),
            force_land=overshoot & ~done,
            next=s["next"] + jnp.sum(done, dtype=jnp.int32),
            out=out,
            steps=steps,
            it=s["it"] + 1,
        )

    final = jax.lax.while_loop(cond, body, state)
    return final["out"], final["steps"]
