"""Embedded Runge–Kutta with per-orbit error control, on the lanes of ``_lanes.py``.

The same explicit Runge–Kutta pairs as diffrax (``dopri8``: Dormand–Prince 8(7), 13
force evaluations per step with first-same-as-last; ``tsit5``: Tsitouras 5(4), 6;
``dopri5``: Dormand–Prince 5(4), 6; the Butcher tableaux are read from ``diffrax``), and two
Runge–Kutta–Nyström pairs for forces that do not depend on the velocity (``dprkn6``:
the RKN6(4) pair of Dormand & Prince 1987, 5 force evaluations per step; ``dprkn8``: the
RKN8(6) pair of Dormand, El-Mikkawy & Prince 1987, 8; stage sums on positions only), each
orbit with its own step:

- the step size is chosen by a PI controller (Gustafsson 1991; Hairer & Wanner, *Solving
  ODEs II*, §IV.2) on the error estimate
  ``err = max(|δx| / (atol + rtol |x|), |δv| / (atol + rtol |v|))`` — norms of the position
  and velocity vectors, so the control is rotation invariant and does not tighten when a
  single coordinate passes through zero;
- a step that would pass the next output time is shortened to land on it exactly;
- the first-same-as-last derivative of every orbit at t₀ is computed once, before the
  loop, so refilling a lane costs no force evaluation.

This is the fastest accurate solver here for orbits in a galaxy with a thin disc and a
cusp: the local error control resolves disc crossings and pericentres without a hand-made
step function. It is not symplectic: the energy error grows ~linearly with time at a rate
set by rtol (measured in ``benchmarks/README.md``).
"""

from __future__ import annotations

import math
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float

from .._validation import as_float_array, check_int, check_positive, check_range, concrete_array
from ._base import AbstractSolver
from ._lanes import default_lanes, run_lanes, run_queue

__all__ = ["ErrorControlledRK", "TABLEAUX"]

#: ln 1e-4: the PI controller's floor on the previous step's error, as a logarithm (equal,
#: bit for bit, to XLA:CPU's float64 and float32 ``log`` of 1e-4).
LOG_ERR_FLOOR = math.log(1e-4)


def _tableau(solver) -> dict:
    tb = solver.tableau
    if not (tb.fsal and tb.ssal):
        raise AssertionError(f"{solver.__name__}: the lane engine expects an FSAL/SSAL tableau")
    return dict(
        c=tuple(float(c) for c in np.asarray(tb.c)),
        a=tuple(tuple(float(v) for v in np.asarray(row)) for row in tb.a_lower),
        b_sol=tuple(float(v) for v in np.asarray(tb.b_sol)),
        b_err=tuple(float(v) for v in np.asarray(tb.b_error)),
        order=int(solver().order(None)),
    )


def _dprkn6() -> dict:
    """The RKN6(4) pair of Dormand & Prince (1987, "Runge–Kutta–Nyström triples", Comput.
    Math. Appl. 13, 937; OrdinaryDiffEq.jl's ``DPRKN6``): a Runge–Kutta–Nyström pair for
    ẍ = f(t, x), order 6 with an embedded order-4 estimate, six stages of which the last is
    evaluated at the new position (first-same-as-last: five force evaluations per step).
    The coefficients are closed forms in R = √8581; ``tests/integrators/test_rkn.py``
    checks them against the order conditions and the orders of convergence."""
    r = np.sqrt(8581.0)
    c = (0.0, (209 - r) / 900, (209 - r) / 450, (209 + r) / 450, 0.9, 1.0)
    a63 = (84119543 + 366727 * r) / 409622616
    a64 = (84119543 - 366727 * r) / 409622616
    a = (
        ((26131 - 209 * r) / 810000,),
        ((26131 - 209 * r) / 607500, (26131 - 209 * r) / 303750),
        ((980403512254 + 7781688431 * r) / 11694469921875,
         -(1262884486208 + 15385481287 * r) / 11694469921875,
         (7166233891441 + 78694563299 * r) / 46777879687500),
        (-9 * (329260 + 3181 * r) / 27040000, 27 * (35129 + 3331 * r) / 13520000,
         -27 * (554358343 + 31040327 * r) / 464060480000, 153 * (8555257 - 67973 * r) / 2745920000),
        (329 / 4212, 0.0, a63, a64, 200 / 17901),
    )
    b_x = (329 / 4212, 0.0, a63, a64, 200 / 17901, 0.0)
    b_v = (329 / 4212, 0.0, (389225579 + 96856 * r) / 1024056540, (389225579 - 96856 * r) / 1024056540,
           2000 / 17901, 1 / 20)
    # the order-4 solution's weights: position ĥ_x, velocity ĥ_v; the error is b − b̂
    bh_x = ((2701 + 23 * r) / 4563, -(9829 + 131 * r) / 9126, 5 * (1798 + 17 * r) / 9126, 0.0, 0.0, 0.0)
    bh_v = (115 / 2106, 0.0, (84119543 + 366727 * r) / 256014135, (84119543 - 366727 * r) / 256014135,
            6950 / 17901, -1 / 10)
    floats = lambda seq: tuple(float(v) for v in seq)  # noqa: E731  (Python floats: weakly typed)
    return dict(
        kind="rkn", c=floats(c), a=tuple(floats(row) for row in a), b_x=floats(b_x), b_v=floats(b_v),
        e_x=floats(p - q for p, q in zip(b_x, bh_x)), e_v=floats(p - q for p, q in zip(b_v, bh_v)),
        order=6, err_order=4,
    )


def _dprkn8() -> dict:
    """The RKN8(6) pair of Dormand, El-Mikkawy & Prince (1987, "High-order embedded
    Runge–Kutta–Nyström formulae", IMA J. Numer. Anal. 7, 423; AGAMA's ``dprkn8``,
    OrdinaryDiffEq.jl's ``DPRKN8``): order 8 with an embedded order-6 estimate, nine stages
    of which the last is evaluated at the new position (first-same-as-last: eight force
    evaluations per step). Rational coefficients; ``tests/integrators/test_rkn.py`` checks
    them against the Nyström quadrature conditions and the orders of convergence (older
    OrdinaryDiffEq.jl releases carry a₇₃ = −6663147/3320675 and a₈₁ = 138369959/3667458,
    which break the stage conditions Σⱼ aᵢⱼ = cᵢ²/2; these are the corrected values)."""
    from fractions import Fraction as F

    c = (0, F(1, 20), F(1, 10), F(3, 10), F(1, 2), F(7, 10), F(9, 10), 1, 1)
    b_x = (F(223, 7938), 0, F(1175, 8064), F(925, 6048), F(41, 448), F(925, 14112), F(1175, 72576), 0, 0)
    a = (
        (F(1, 800),),
        (F(1, 600), F(1, 300)),
        (F(9, 200), F(-9, 100), F(9, 100)),
        (F(-66701, 197352), F(28325, 32892), F(-2665, 5482), F(2170, 24669)),
        (F(227015747, 304251000), F(-54897451, 30425100), F(12942349, 10141700), F(-9499, 304251), F(539, 9250)),
        (F(-1131891597, 901789000), F(41964921, 12882700), F(-6663147, 3220675), F(270954, 644135),
         F(-108, 5875), F(114, 1645)),
        (F(13836959, 3667458), F(-17731450, 1833729), F(1063919505, 156478208), F(-33213845, 39119552),
         F(13335, 28544), F(-705, 14272), F(1645, 57088)),
        b_x[:8],
    )
    b_v = (F(223, 7938), 0, F(5875, 36288), F(4625, 21168), F(41, 224), F(4625, 21168), F(5875, 36288),
           F(223, 7938), 0)
    # the order-6 solution's weights: position b̂_x, velocity b̂_v; the error is b − b̂
    bh_x = (F(7987313, 109941300), 0, F(1610737, 44674560), F(10023263, 33505920), F(-497221, 12409600),
            F(10023263, 78180480), F(1610737, 402071040), 0, 0)
    bh_v = (F(7987313, 109941300), 0, F(1610737, 40207104), F(10023263, 23454144), F(-497221, 6204800),
            F(10023263, 23454144), F(1610737, 40207104), F(-4251941, 54970650), F(3, 20))
    floats = lambda seq: tuple(float(v) for v in seq)  # noqa: E731  (Python floats: weakly typed)
    return dict(
        kind="rkn", c=floats(c), a=tuple(floats(row) for row in a), b_x=floats(b_x), b_v=floats(b_v),
        e_x=floats(p - q for p, q in zip(b_x, bh_x)), e_v=floats(p - q for p, q in zip(b_v, bh_v)),
        order=8, err_order=6, materialise_positions=True,
    )


#: Butcher tableaux (as tuples of floats) and the order of the error estimate; ``dprkn6``
#: and ``dprkn8`` are Runge–Kutta–Nyström pairs (position-only forces).
TABLEAUX = {
    "dopri8": dict(_tableau(diffrax.Dopri8), err_order=7),
    "tsit5": dict(_tableau(diffrax.Tsit5), err_order=4),
    "dopri5": dict(_tableau(diffrax.Dopri5), err_order=4),
    "dprkn6": _dprkn6(),
    "dprkn8": _dprkn8(),
}
for _name, _tab in TABLEAUX.items():
    # the Nyström lanes take x₁ from the last stage (first-same-as-last): its row must be
    # b_x and its c 1 (checked once here, not in every traced step)
    if _tab.get("kind") == "rkn" and not (
        _tab["c"][-1] == 1.0 and tuple(_tab["a"][-1]) == tuple(_tab["b_x"][: len(_tab["a"][-1])])
    ):
        raise AssertionError(f"{_name}: the last stage's row must be b_x and its c 1")
del _name, _tab


class ErrorControlledRK(AbstractSolver):
    """Embedded Runge–Kutta with per-orbit error control on load-balanced lanes (module
    docstring).

    ``ErrorControlledRK("dopri5", rtol=1e-7)``; with :func:`integrate_orbits`, ``dt`` (if
    given) only sets the spacing of the ``save_every`` output grid.

    Gradients: forward mode only (``jax.jvp``, ``jax.jacfwd``; the loop is a
    ``lax.while_loop``); use a fixed-step solver or :class:`Diffrax` for reverse mode.

    **Arguments:**

    - `tableau` (static): ``"dopri5"`` (default), ``"tsit5"``, ``"dopri8"``, or the
      Runge–Kutta–Nyström pairs ``"dprkn6"`` and ``"dprkn8"`` (forces independent of the
      velocity only: a velocity-dependent term such as dynamical friction raises).
    - `rtol`, `atol`: tolerances of the error estimate (atol in kpc for positions and
      kpc/Myr for velocities). ``rtol`` may be an (N,) array: one tolerance per orbit
      (e.g. looser for stars that stay deep inside the region a summary looks at).
    - `safety`: step-size safety factor in (0, 1].
    - `lanes` (static): orbits stepped concurrently per device (default: n/16 per
      device, clipped to 64–1024 and rounded down to a multiple of 8, which XLA:CPU
      vectorises; use ≥ 10⁴ on a GPU).
    - `max_iterations` (static): bound on lane steps per device (a safety net; orbits not
      finished come back as NaN).
    - `max_steps`: optional step budget per orbit (a scalar or one integer per orbit, (N,)):
      an orbit that has made that many accepted steps stops there, and its state **at the
      time reached** (not at the output time) is returned for every output not yet
      recorded; its ``n_steps`` then equals its budget. For orbits whose exact phase does
      not matter (e.g. stars bound deep inside a galaxy's cusp, far from every observable),
      to bound their cost. ``None`` (default): no budget.
    - `shrink` (static): lane-width reduction factor once the queue is empty (the tail of
      slow orbits runs on ``lanes // shrink``, then ``lanes // shrink²`` … lanes; 1: never).
    """

    tableau: str = eqx.field(static=True)
    rtol: Float[ArrayLike, "*n"]
    atol: Float[ArrayLike, ""]
    safety: Float[ArrayLike, ""]
    lanes: int | None = eqx.field(static=True)
    max_iterations: int = eqx.field(static=True)
    max_steps: Any
    shrink: int = eqx.field(static=True)

    def __init__(
        self,
        tableau: str = "dopri5",
        *,
        rtol=1e-7,
        atol=1e-10,
        safety=0.9,
        lanes: int | None = None,
        max_iterations: int = 50_000_000,
        max_steps=None,
        shrink: int = 8,
    ):
        if tableau not in TABLEAUX:
            raise ValueError(f"ErrorControlledRK: tableau must be one of {sorted(TABLEAUX)}; got {tableau!r}")
        self.tableau = tableau
        rt = concrete_array(rtol, "ErrorControlledRK: rtol")
        if rt is not None and rt.ndim > 1:
            raise ValueError(f"ErrorControlledRK: rtol must be a scalar or one value per orbit (N,); got shape {rt.shape}")
        # Arrays (not Python floats), so that new tolerances do not recompile.
        self.rtol = as_float_array(check_positive(rtol, "ErrorControlledRK: rtol"), "rtol")
        self.atol = as_float_array(check_range(atol, "ErrorControlledRK: atol", 0.0), "atol")
        self.safety = as_float_array(
            check_range(safety, "ErrorControlledRK: safety", 0.0, 1.0, closed=(False, True)), "safety"
        )
        self.lanes = None if lanes is None else check_int(lanes, "ErrorControlledRK: lanes")
        self.max_iterations = check_int(max_iterations, "ErrorControlledRK: max_iterations")
        if max_steps is None:
            self.max_steps = None
        else:
            ms = concrete_array(max_steps, "ErrorControlledRK: max_steps")
            if ms is not None and (ms.ndim > 1 or np.any(ms < 1) or np.any(ms != np.round(ms))):
                raise ValueError(
                    "ErrorControlledRK: max_steps must be a positive integer or one positive integer per "
                    f"orbit (N,); got {max_steps!r}"
                )
            self.max_steps = jnp.asarray(max_steps, jnp.int32)
        self.shrink = check_int(shrink, "ErrorControlledRK: shrink")

    @property
    def name(self) -> str:
        return self.tableau

    def _grid(self, t0, t1, dt, save_every):
        from ._base import steps_grid

        return steps_grid(t0, t1, (t1 - t0) if dt is None else dt, save_every)

    def _run(self, term, x0, v0, t0, grid, targets, h, args, devices):
        dtype = x0.dtype
        n = x0.shape[0]
        rtol = jnp.asarray(self.rtol, dtype)
        if rtol.ndim == 1 and rtol.shape != (n,):
            raise ValueError(
                f"ErrorControlledRK.rtol must be a scalar or one value per orbit, shape ({n},); got shape {rtol.shape}"
            )
        tab = TABLEAUX[self.tableau]
        if tab.get("kind") == "rkn" and getattr(term, "velocity_dependent", True):
            raise ValueError(
                f"ErrorControlledRK({self.tableau!r}) is a Runge–Kutta–Nyström pair for forces that do "
                "not depend on the velocity; this force has a velocity-dependent term (e.g. friction): "
                "use 'dopri5' or 'dopri8'"
            )
        step_fn = _lane_rkn_step if tab.get("kind") == "rkn" else _lane_rk_step
        direction = _direction(t0, targets)
        a0 = jax.vmap(lambda x, v: term.acceleration(t0, x, v, args))(x0, v0)
        h0 = initial_step(x0, v0, a0, direction)
        rkn = tab.get("kind") == "rkn"
        # log_err: log of the previous step's error (1 before the first). The Nyström pair
        # keeps x, v and a apart (XLA:CPU then fuses its stage sums as it does the first-
        # order pairs' (lanes, 6) arrays; joined, it ran at 1.6× their cost per step).
        queue = dict(
            dict(x=x0, v=v0, a=a0) if rkn else dict(y=jnp.concatenate([x0, v0], axis=1), k=jnp.concatenate([v0, a0], axis=1)),
            h=h0,
            rtol=jnp.broadcast_to(rtol, (n,)),
            log_err=jnp.zeros((n,), dtype),
        )
        has_budget = self.max_steps is not None
        if has_budget:
            if self.max_steps.ndim == 1 and self.max_steps.shape != (n,):
                raise ValueError(
                    f"ErrorControlledRK.max_steps must be a scalar or one value per orbit, shape ({n},); "
                    f"got shape {self.max_steps.shape}"
                )
            queue["budget"] = jnp.broadcast_to(self.max_steps, (n,))
        lanes = self.lanes or default_lanes(n, len(devices))
        dyn, static = eqx.partition((term, args), eqx.is_array)
        max_iterations = self.max_iterations

        def run_shard(q, t0_, targets_, atol, safety, dyn_):
            term_, args_ = eqx.combine(dyn_, static)
            direction_ = _direction(t0_, targets_)

            state_keys = ("x", "v", "a") if rkn else ("y", "k")

            def step(lane, t, target):
                *state, t1, h_new, log_err, landed, accepted = step_fn(
                    term_, tab, args_, lane["rtol"], atol, safety, direction_, *(lane[k_] for k_ in state_keys), t,
                    lane["h"], lane["log_err"], target,
                )
                new = dict(lane, h=h_new, log_err=log_err, **dict(zip(state_keys, state)))
                return new, t1, landed, accepted

            emit = (lambda lane: jnp.concatenate([lane["x"], lane["v"]])) if rkn else (lambda lane: lane["y"])
            return run_lanes(
                step, emit, q, t0_, targets_, lanes=lanes, max_iterations=max_iterations,
                shrink=self.shrink, budget=(lambda lane: lane["budget"]) if has_budget else None,
            )

        # Longest first: the number of initial steps that would cover the interval.
        return run_queue(
            run_shard, queue, jnp.abs(h0),
            (t0, targets, jnp.asarray(self.atol, dtype), jnp.asarray(self.safety, dtype), dyn), devices=devices,
        )


def _direction(t0, targets):
    """+1 forwards, −1 backwards in time."""
    d = jnp.sign(targets[-1] - t0).astype(targets.dtype)
    return jnp.where(d == 0, 1.0, d)


def initial_step(x, v, a, direction):
    """A first step ~2 % of the local dynamical time min(r/|v|, √(r/|a|)) [Myr], signed."""
    r = jnp.sqrt(jnp.sum(x * x, axis=-1)) + 1e-3
    sv = jnp.sqrt(jnp.sum(v * v, axis=-1)) + 1e-30
    sa = jnp.sqrt(jnp.sum(a * a, axis=-1)) + 1e-30
    return 0.02 * jnp.minimum(r / sv, jnp.sqrt(r / sa)) * direction


def _clip_step(h, t, target, direction):
    """The step to take: ``h``, or the remainder to ``target`` if ``h`` would pass it."""
    rem = target - t
    clipped = (h - rem) * direction >= 0
    return jnp.where(clipped, rem, h), clipped


def _weighted(coeffs, ks):
    """Σ cᵢ kᵢ over the non-zero coefficients."""
    return sum(c * k for c, k in zip(coeffs, ks) if c != 0.0)


def _lane_rk_step(term, tab, args, rtol, atol, safety, direction, y, k0, t, h, log_err_prev, target):
    c, a, b_sol, b_err = tab["c"], tab["a"], tab["b_sol"], tab["b_err"]
    d = y.shape[0] // 2

    def f(tt, yy):
        return jnp.concatenate([yy[d:], term.acceleration(tt, yy[:d], yy[d:], args)])

    h_eff, clipped = _clip_step(h, t, target, direction)
    ks = [k0]
    for s, row in enumerate(a):
        ks.append(f(t + c[s] * h_eff, y + h_eff * _weighted(row, ks)))
    # SSAL: the last stage is evaluated at the solution, so y1 is that stage's state.
    y1 = y + h_eff * _weighted(b_sol, ks)
    y_err = h_eff * _weighted(b_err, ks)
    finite, t1, h_new, log_err, landed, accept = _control(
        tab, rtol, atol, safety, direction, (y[:d], y[d:]), (y1[:d], y1[d:]), (y_err[:d], y_err[d:]), t, h, h_eff,
        clipped, log_err_prev, target,
    )
    return _carry(accept, finite, y, y1), jnp.where(accept, ks[-1], k0), t1, h_new, log_err, landed, accept


def _lane_rkn_step(term, tab, args, rtol, atol, safety, direction, x, v, a0, t, h, log_err_prev, target):
    """One Runge–Kutta–Nyström step of ẍ = a(t, x): stage positions
    Xᵢ = x + cᵢ h v + h² Σⱼ aᵢⱼ Aⱼ, Aᵢ = a(t + cᵢ h, Xᵢ); x₁ = x + h v + h² Σ b_xᵢ Aᵢ,
    v₁ = v + h Σ b_vᵢ Aᵢ; error (h² Σ e_xᵢ Aᵢ, h Σ e_vᵢ Aᵢ). The lane state is (x, v, a);
    the last stage sits at x₁ (first-same-as-last)."""
    c, a = tab["c"], tab["a"]
    h_eff, clipped = _clip_step(h, t, target, direction)
    h2 = h_eff * h_eff
    acc = [a0]
    for s, row in enumerate(a):
        xs = x + (c[s + 1] * h_eff) * v + h2 * _weighted(row, acc)
        if tab.get("materialise_positions", False):
            # dprkn8: a stage position sums up to eight accelerations, and XLA:CPU would
            # recompute it inside every force kernel that reads it (tracer stage: 388
            # against ~655 ns per step); for dprkn6's shorter sums it did not pay
            xs = _materialised(xs)
        acc.append(_materialised(term.acceleration(t + c[s + 1] * h_eff, xs, v, args)))
    x1 = xs  # the last row of a is b_x and its c is 1: the last stage's position is x₁
    v1 = v + h_eff * _weighted(tab["b_v"], acc)
    err = (h2 * _weighted(tab["e_x"], acc), h_eff * _weighted(tab["e_v"], acc))
    finite, t1, h_new, log_err, landed, accept = _control(
        tab, rtol, atol, safety, direction, (x, v), (x1, v1), err, t, h, h_eff, clipped, log_err_prev, target
    )
    return (_carry(accept, finite, x, x1), _carry(accept, finite, v, v1), jnp.where(accept, acc[-1], a0), t1, h_new,
            log_err, landed, accept)


def _carry(accept, finite, old, new):
    """The state a lane carries after a step: ``new`` where the step was accepted, else
    ``old`` where the next step is finite, else NaN (the scheduler then retires the orbit)."""
    return jnp.where(accept, new, jnp.where(finite, old, jnp.nan))


def _materialised(a):
    """``a`` itself, bit for bit (and its tangents), as the product of the identity matrix
    and ``a``: a stage's acceleration computed once per step instead of once per use.

    XLA:CPU fuses an elementwise chain into each of its consumers and recomputes it there,
    keeping only expensive operations (√, division, exp, log) as kernels of their own. A
    stage's acceleration ends in such a cheap chain (G M(<r)/r³ · x, the discs' f_R x and
    f_z z/ζ, the LMC's terms and their sum), and in a Nyström step it has many consumers:
    every later stage position, x₁, v₁ and both error sums. So the chain ran ~10 times per
    stage, and since every stage position holds the earlier accelerations, with the LMC's
    time-dependent term the tracer stage ran at 3.7× dopri5's cost per step. The
    first-order pairs escape this by chance: their derivative ``concatenate((v, a))`` is
    a kernel root. A ``dot`` is never fused into elementwise consumers on XLA:CPU, so it
    materialises ``a`` once, at the cost of a (3, 3) product per star: 224 against dopri5's
    265 ns per tracer step. Fusion barriers (``lax.optimization_barrier``) do not, as
    XLA:CPU removes them before fusion, and a ``sum`` over a stacked zero did, but its
    reduction cost what it saved (285 against 283 ns; ``benchmarks/README.md``, "dprkn6
    at its cost"). ``HIGHEST`` precision keeps float32
    exact where a GPU would otherwise round a matrix product's inputs to TF32."""
    return jnp.dot(jnp.eye(a.shape[-1], dtype=a.dtype), a, precision=jax.lax.Precision.HIGHEST)


def _control(tab, rtol, atol, safety, direction, y, y1, y_err, t, h, h_eff, clipped, log_err_prev, target):
    """Accept or reject the step from the state ``y = (x, v)`` to ``y1`` with the error
    estimate ``y_err`` (pairs of position and velocity), and choose the next step (PI
    controller, module docstring). Returns ``(finite, t1, h_new, log_err, landed, accept)``:
    the state to carry is the new one where ``accept``, else the old one where the next
    step is ``finite``, else NaN (the orbit is then retired)."""
    k_exp = 1.0 / (tab["err_order"] + 1.0)
    (x, v), (x1, v1), (ex, ev) = y, y1, y_err
    scale_x = atol + rtol * jnp.maximum(jnp.linalg.norm(x), jnp.linalg.norm(x1))
    scale_v = atol + rtol * jnp.maximum(jnp.linalg.norm(v), jnp.linalg.norm(v1))
    err = jnp.maximum(jnp.linalg.norm(ex) / scale_x, jnp.linalg.norm(ev) / scale_v)
    err = jnp.where(jnp.isfinite(err), err, jnp.inf)
    accept = err <= 1.0
    # The step factor from logarithms instead of three powers, which cost ~11 ns each on a
    # CPU (XLA:CPU's float64 pow) — 5 % of a step: one logarithm per step (the previous
    # step's, ``log_err_prev``, is carried in the lane state) and one exponential of the
    # branch's exponent (the same values as a log of each error and an exponential per
    # branch, bit for bit, at 8 ns less per step; ``benchmarks/README.md``). In the state's
    # precision: a float32 factor overflowed the forward-mode tangents of chaotic orbits
    # (finite in float64) to inf, and inf × the exact zero weight of a statistic is NaN.
    le = jnp.log(jnp.maximum(err, 1e-10))
    growth = safety * jnp.exp(jnp.where(accept, -0.7 * k_exp * le + 0.4 * k_exp * log_err_prev, -k_exp * le))
    factor = jnp.where(accept, jnp.clip(growth, 0.2, 10.0), jnp.clip(growth, 0.1, 0.9))
    h_new = h_eff * factor
    # After a shortened (landing) step keep at least the step we had.
    h_new = jnp.where(accept & clipped, direction * jnp.maximum(jnp.abs(h_new), jnp.abs(h)), h_new)
    h_new = jnp.where(h_new == 0, h, h_new)
    # A non-finite step (NaN forces from the start) can never shrink to an accepted one:
    # mark the orbit non-finite so that the lane scheduler retires it.
    finite = jnp.isfinite(h_new)
    t1 = jnp.where(accept, jnp.where(clipped, target, t + h_eff), t)
    # log max(err, 1e-4) for the next step, from le: the same logarithm where err ≥ 1e-4
    # and the floor's logarithm below it (LOG_ERR_FLOOR, XLA:CPU's log of 1e-4 bit for bit)
    log_err_out = jnp.where(accept, jnp.where(err >= 1e-4, le, jnp.asarray(LOG_ERR_FLOOR, le.dtype)), log_err_prev)
    return finite, t1, h_new, log_err_out, accept & clipped, accept
