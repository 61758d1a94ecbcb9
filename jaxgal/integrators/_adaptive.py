"""Per-orbit adaptive, time-symmetric compositions on the lanes of ``_lanes.py``.

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
leapfrog compositions of ``_splitting.py`` (Yoshida 1990; Suzuki 1990; Kahan & Li 1997):
each sub-step γᵢσ solves its own Δtᵢ. Each sub-step costs one force evaluation.

**Landing.** Before each step the lane predicts Δt ≈ σ/Ω(x); if 1.2 times that reaches the
next output time, it instead takes the composition with the fixed step (t_out − t), which
lands exactly, records the state and moves on. (If a normal step still overshoots, it is
undone and redone as a landing step.)

**Lanes.** Orbits are scheduled on the lanes of ``_lanes.py``, most expensive first
(the cost proxy is Ω at the start).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import ArrayLike, Float

from .._validation import as_float_array, check_finite_scalar, check_int, check_positive
from ..potentials import AbstractPotential, CompositePotential
from ._base import AbstractSolver, steps_grid
from ._kick import kick
from ._lanes import default_lanes, run_lanes, run_queue
from ._splitting import COMPOSITIONS
from ._stepfunction import StepFunction
from ._terms import GravityTerm, cast_floating

__all__ = ["AdaptiveComposition"]


class AdaptiveComposition(AbstractSolver):
    """Per-orbit adaptive, time-symmetric composition of leapfrogs (module docstring).

    ``AdaptiveComposition("suzuki4", eta=0.05, dt_max=5.0)``; with :func:`integrate_orbits`,
    ``dt`` (if given) only sets the spacing of the ``save_every`` output grid. The step
    function is built from the gravity of the force (the potential's monopole and discs),
    so the force must contain a potential.

    Gradients: forward mode only (``jax.jvp``, ``jax.jacfwd``; the loop is a
    ``lax.while_loop``); use a fixed-step solver or :class:`Diffrax` for reverse mode.

    **Arguments:**

    - `base` (static): the composition, one of ``"leapfrog"``, ``"yoshida4"``,
      ``"suzuki4"``, ``"yoshida6"``, ``"kahan_li6"``.
    - `eta`: fictitious step σ (accuracy knob; the error scales as η^order): a circular
      orbit takes ≈ 2π/(√2 η) steps per period.
    - `dt_max`: the longest step allowed [Myr] (``None``: no cap).
    - `disc_weight`: weight of the disc-crossing term of Ω (0 switches it off).
    - `iterations` (static): fixed-point sweeps for the midpoint step (≥ 1).
    - `midpoint_iterations` (static): implicit-midpoint sweeps for velocity-dependent forces.
    - `lanes` (static): orbits stepped concurrently per device (default: n/16 per
      device, clipped to 64–1024 and rounded down to a multiple of 8, which XLA:CPU
      vectorises; use ≥ 10⁴ on a GPU).
    - `max_iterations` (static): bound on lane steps per device (a safety net; orbits not
      finished come back as NaN).
    """

    base: str = eqx.field(static=True)
    eta: Float[ArrayLike, ""]
    dt_max: float | None = eqx.field(static=True)
    disc_weight: Float[ArrayLike, ""]
    iterations: int = eqx.field(static=True)
    midpoint_iterations: int = eqx.field(static=True)
    lanes: int | None = eqx.field(static=True)
    max_iterations: int = eqx.field(static=True)

    def __init__(
        self,
        base: str = "suzuki4",
        *,
        eta=0.3,
        dt_max=None,
        disc_weight=1.0,
        iterations: int = 2,
        midpoint_iterations: int = 2,
        lanes: int | None = None,
        max_iterations: int = 10_000_000,
    ):
        if base not in COMPOSITIONS:
            raise ValueError(
                f"AdaptiveComposition: base must be a composition of leapfrogs, one of {sorted(COMPOSITIONS)}; got {base!r}"
            )
        self.base = base
        self.eta = as_float_array(check_positive(eta, "AdaptiveComposition: eta"), "eta")
        self.dt_max = None if dt_max is None else check_finite_scalar(
            dt_max, "AdaptiveComposition: dt_max", unit="Myr", lo=0.0, closed=(False, True)
        )
        self.disc_weight = as_float_array(disc_weight, "AdaptiveComposition: disc_weight")
        self.iterations = check_int(iterations, "AdaptiveComposition: iterations")
        self.midpoint_iterations = check_int(midpoint_iterations, "AdaptiveComposition: midpoint_iterations", lo=0)
        self.lanes = None if lanes is None else check_int(lanes, "AdaptiveComposition: lanes")
        self.max_iterations = check_int(max_iterations, "AdaptiveComposition: max_iterations")

    @property
    def name(self) -> str:
        return f"adaptive {self.base}"

    def _grid(self, t0, t1, dt, save_every):
        return steps_grid(t0, t1, (t1 - t0) if dt is None else dt, save_every)

    def _run(self, term, x0, v0, t0, grid, targets, h, args, devices):
        dtype = x0.dtype
        pot = cast_floating(_gravity_potential(term), dtype)
        gammas = COMPOSITIONS[self.base].splitting.gammas
        eta = jnp.asarray(self.eta, dtype)
        omega_floor = 0.0 if self.dt_max is None else eta / self.dt_max
        stepfn = StepFunction.from_potential(
            pot, t0, disc_weight=jnp.asarray(self.disc_weight, dtype), omega_floor=omega_floor, dtype=dtype
        )
        energy = jax.vmap(lambda x: pot.phi(x, t0))(x0) + 0.5 * jnp.sum(v0 * v0, axis=1)
        energy = jax.lax.stop_gradient(energy)
        n = x0.shape[0]
        queue = dict(x=x0, v=v0, e=energy, force_land=jnp.zeros((n,), bool))
        # Longest first: the step function at the start is a proxy for the steps needed.
        cost = -jax.vmap(stepfn.omega)(x0, energy)
        lanes = self.lanes or default_lanes(n, len(devices))
        pos_vel = term.split()
        dyn, static = eqx.partition((pos_vel, stepfn, args), eqx.is_array)
        iterations, n_iter, max_iterations = self.iterations, self.midpoint_iterations, self.max_iterations

        def run_shard(q, t0_, targets_, eta_, dyn_):
            (pos, vel), stepfn_, args_ = eqx.combine(dyn_, static)
            direction = jnp.sign(targets_[-1] - t0_).astype(dtype)
            direction = jnp.where(direction == 0, 1.0, direction)
            sigma = eta_ * direction

            def step(lane, t, target):
                x, v, t1, landed, overshoot = _lane_step(
                    pos, vel, stepfn_, gammas, sigma, direction, iterations, n_iter, args_,
                    lane["x"], lane["v"], t, lane["e"], target, lane["force_land"],
                )
                return dict(x=x, v=v, e=lane["e"], force_land=overshoot), t1, landed, ~overshoot

            def emit(lane):
                return jnp.concatenate([lane["x"], lane["v"]])

            return run_lanes(step, emit, q, t0_, targets_, lanes=lanes, max_iterations=max_iterations)

        return run_queue(run_shard, queue, cost, (t0, targets, eta, dyn), devices=devices)


def _gravity_potential(term) -> AbstractPotential:
    """The potential of the force's gravity terms (their sum if several)."""
    pots = [t.potential for t in term.terms if isinstance(t, GravityTerm)]
    if not pots:
        raise TypeError(
            "AdaptiveComposition builds its step function from a potential: pass a potential "
            "(not only force terms) to the integration"
        )
    if len(pots) == 1:
        return pots[0]
    return CompositePotential.of(*pots)


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
