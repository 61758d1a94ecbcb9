"""``integrate_orbits``: the public entry point (validation, units, dispatch).

Everything numerical happens inside one ``equinox.filter_jit`` region per configuration;
this module converts units, checks inputs at the boundary and picks the engine:

- fixed-step symplectic schemes (``_fixed.py``) on ``lax.scan``;
- the per-orbit adaptive, time-symmetric compositions (``_adaptive.py``) when
  ``step_control=AdaptiveSteps(...)``;
- diffrax's adaptive Runge–Kutta solvers (``_diffrax.py``).

All three split the particles over the available devices (``_sharding.py``).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import units as U
from ..potentials import AbstractPotential
from ._adaptive import AdaptiveSteps, adaptive_orbits
from ._diffrax import DIFFRAX_SOLVERS, DiffraxOptions, diffrax_orbit
from ._fixed import fixed_step_orbit
from ._result import OrbitResult
from ._rk import TABLEAUX, ErrorControl, initial_step, rk_orbits
from ._schemes import SCHEMES, get_scheme
from ._sharding import map_over_devices
from ._stepfunction import StepFunction
from ._terms import AbstractForceTerm, GravityTerm, SumOfTerms, as_force_term

__all__ = ["integrate_orbits", "METHODS"]

#: Every accepted ``method``.
METHODS = tuple(SCHEMES) + tuple(DIFFRAX_SOLVERS)

# Relative slack when deciding whether dt divides the interval (2200/0.5 must give 4400).
_DIVIDES_RTOL = 1e-9


# ---------------------------------------------------------------------------------------
# boundary helpers
# ---------------------------------------------------------------------------------------
def _is_tracer(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def _as_initial_conditions(w0):
    """(x [kpc], v [km/s], single) from an (N, 6)/(6,) array or an (x, v) pair."""
    if hasattr(w0, "unit") and hasattr(w0, "to_value"):
        raise TypeError(
            "w0 is a single astropy Quantity, which cannot hold kpc and km/s at once; pass a "
            "plain array in kpc and km/s, or a pair (x, v) of Quantities"
        )
    if isinstance(w0, (tuple, list)) and len(w0) == 2:
        x = U.to_value(w0[0], "kpc")
        v = U.to_value(w0[1], "km/s")
        x = x if _is_tracer(x) else jnp.asarray(x)
        v = v if _is_tracer(v) else jnp.asarray(v)
        if x.shape != v.shape or x.ndim not in (1, 2) or x.shape[-1] != 3:
            raise ValueError(
                f"w0 as (x, v) needs two arrays of shape (N, 3) or (3,); got {x.shape} and {v.shape}"
            )
        w0 = jnp.concatenate([x, v], axis=-1)
    else:
        w0 = w0 if _is_tracer(w0) else jnp.asarray(w0)
    if w0.ndim not in (1, 2) or w0.shape[-1] != 6:
        raise ValueError(f"w0 must have shape (N, 6) or (6,) in kpc and km/s; got shape {w0.shape}")
    if not jnp.issubdtype(w0.dtype, jnp.floating):
        w0 = w0.astype(float)
    if w0.ndim == 2 and w0.shape[0] == 0:
        raise ValueError("w0 holds no orbits (shape (0, 6))")
    if not _is_tracer(w0):
        bad = ~np.isfinite(np.asarray(w0))
        if bad.any():
            rows = np.unique(np.nonzero(bad.reshape(-1, 6))[0])[:5]
            raise ValueError(f"w0 contains NaN or infinite values (first bad rows: {rows.tolist()})")
    single = w0.ndim == 1
    w0 = w0.reshape(-1, 6)
    return w0[:, :3], w0[:, 3:], single


def _as_time(value, name: str) -> float:
    value = U.to_value(value, "Myr")
    if _is_tracer(value):
        raise ValueError(
            f"{name} must be a concrete number (it fixes the number of steps, a static "
            "quantity under jit); close over it instead of passing it as a traced argument"
        )
    arr = np.asarray(value, dtype=float)
    if arr.shape != ():
        raise ValueError(f"{name} must be a scalar time in Myr; got shape {arr.shape}")
    v = float(arr)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite; got {v}")
    return v


def _step_grid(t0: float, t1: float, dt: float, save_every: int | None):
    """(n_blocks, block, h): the integration grid, equal steps h = (t1 − t0)/n_steps.

    n_steps = ceil(|t1 − t0| / |dt|) (dt dividing the interval to within 1e-9 counts as
    dividing it), rounded up to a multiple of ``save_every``; so the step used never
    exceeds |dt| and the last output lands on t1 exactly.
    """
    span = t1 - t0
    if span == 0:
        raise ValueError("t1 equals t0: nothing to integrate")
    if dt == 0:
        raise ValueError("dt must be non-zero")
    if (dt > 0) != (span > 0):
        raise ValueError(
            f"dt = {dt} has the wrong sign for t1 − t0 = {span}: use a negative dt to integrate "
            "backwards in time"
        )
    ratio = span / dt
    n_steps = max(1, int(math.ceil(ratio * (1.0 - _DIVIDES_RTOL))))
    if save_every is None:
        return 1, n_steps, span / n_steps
    k = int(save_every)
    if k != save_every or k < 1:
        raise ValueError(f"save_every must be a positive integer; got {save_every!r}")
    n_blocks = -(-n_steps // k)
    return n_blocks, k, span / (n_blocks * k)


def _cast(tree, dtype):
    """Cast every floating array leaf of a pytree to ``dtype``."""

    def f(leaf):
        if eqx.is_array(leaf) and jnp.issubdtype(leaf.dtype, jnp.floating):
            return leaf.astype(dtype)
        return leaf

    return jax.tree.map(f, tree)


def _default_lanes(n: int, n_dev: int) -> int:
    """≥ 16 orbits per lane (short tail), 64–1024 lanes (amortised loop overhead on a CPU)."""
    per_dev = -(-n // n_dev)
    return int(max(64, min(1024, per_dev // 16)))


def _devices(devices, n: int):
    devices = tuple(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices is empty")
    return devices if n >= len(devices) else devices[:1]


# ---------------------------------------------------------------------------------------
# engines (inside jit)
# ---------------------------------------------------------------------------------------
def _split_terms(term: SumOfTerms):
    return term.split()


@eqx.filter_jit
def _run_fixed(term, x0, v0, t0, h, args, *, scheme, n_blocks, block, midpoint_iterations, unroll, devices):
    pos, vel = _split_terms(term)
    dyn, static = eqx.partition((pos, vel, args), eqx.is_array)

    def shard_fn(xs, vs, t0_, h_, dyn_):
        pos_, vel_, args_ = eqx.combine(dyn_, static)
        fn = lambda x, v: fixed_step_orbit(  # noqa: E731
            pos_, vel_, scheme, x, v, t0_, h_, n_blocks, block, args_, midpoint_iterations, unroll
        )
        return jax.vmap(fn)(xs, vs)

    return map_over_devices(
        shard_fn, (x0, v0), (t0, h, dyn), out_axes=(0, 0), devices=devices
    )


@eqx.filter_jit
def _run_diffrax(term, x0, v0, t0, t1, ts, options, args, *, solver, devices):
    dyn, static = eqx.partition((term, options, args), eqx.is_array)

    def shard_fn(xs, vs, t0_, t1_, ts_, dyn_):
        term_, options_, args_ = eqx.combine(dyn_, static)
        fn = lambda x, v: diffrax_orbit(term_, solver, x, v, t0_, t1_, ts_, options_, args_)  # noqa: E731
        return jax.vmap(fn)(xs, vs)

    return map_over_devices(
        shard_fn, (x0, v0), (t0, t1, ts, dyn), out_axes=(0, 0), devices=devices
    )


def _cost_key(stepfn: StepFunction, x0, energy):
    """Longest-first queue order: a cheap proxy for the steps an orbit will need."""
    return jax.vmap(stepfn.omega)(x0, energy)


@eqx.filter_jit
def _run_adaptive(
    pot, term, x0, v0, t0, targets, eta, disc_weight, dt_max, args,
    *, gammas, iterations, lanes, max_iterations, midpoint_iterations, devices,
):
    dtype = x0.dtype
    pos, vel = _split_terms(term)
    stepfn = StepFunction.from_potential(
        pot, t0, disc_weight=disc_weight, omega_floor=eta / jnp.abs(dt_max), dtype=dtype
    )
    energy = jax.vmap(lambda x: pot.phi(x, t0))(x0) + 0.5 * jnp.sum(v0 * v0, axis=1)
    energy = jax.lax.stop_gradient(energy)
    n = x0.shape[0]
    n_dev = len(devices)
    order = jnp.argsort(-_cost_key(stepfn, x0, energy))
    # Deal the sorted queue round-robin so that every device gets the same mix.
    n_pad = -(-n // n_dev) * n_dev
    order = jnp.concatenate([order, jnp.repeat(order[-1:], n_pad - n)])
    layout = order.reshape(n_pad // n_dev, n_dev).T.reshape(-1)
    dyn, static = eqx.partition((pos, vel, stepfn, args), eqx.is_array)
    lanes_per_dev = int(min(lanes, n_pad // n_dev))

    def shard_fn(xs, vs, es, t0_, targets_, eta_, dyn_):
        pos_, vel_, stepfn_, args_ = eqx.combine(dyn_, static)
        return adaptive_orbits(
            pos_, vel_, stepfn_, gammas, xs, vs, es, t0_, targets_, eta_,
            lanes=lanes_per_dev, iterations=iterations, midpoint_iterations=midpoint_iterations,
            max_iterations=max_iterations, args=args_,
        )

    out, steps = map_over_devices(
        shard_fn,
        (x0[layout], v0[layout], energy[layout]),
        (t0, targets, eta, dyn),
        out_axes=(1, 0),
        devices=devices,
    )
    w = jnp.zeros((targets.shape[0], n, 6), dtype).at[:, layout].set(out)
    nsteps = jnp.zeros((n,), steps.dtype).at[layout].set(steps)
    return w, nsteps


@eqx.filter_jit
def _run_rk(term, x0, v0, t0, targets, rtol, atol, safety, args, *, solver, lanes, max_iterations, devices):
    dtype = x0.dtype
    n = x0.shape[0]
    n_dev = len(devices)
    direction = jnp.sign(targets[-1] - t0).astype(dtype)
    a0 = jax.vmap(lambda x, v: term.acceleration(t0, x, v, args))(x0, v0)
    h0 = initial_step(x0, v0, a0, direction)
    y0 = jnp.concatenate([x0, v0], axis=1)
    k0 = jnp.concatenate([v0, a0], axis=1)
    # Longest first: the number of initial steps that would cover the interval.
    order = jnp.argsort(jnp.abs(h0))
    n_pad = -(-n // n_dev) * n_dev
    order = jnp.concatenate([order, jnp.repeat(order[-1:], n_pad - n)])
    layout = order.reshape(n_pad // n_dev, n_dev).T.reshape(-1)
    dyn, static = eqx.partition((term, args), eqx.is_array)
    lanes_per_dev = int(min(lanes, n_pad // n_dev))
    rtol_n = jnp.broadcast_to(rtol, (n,))

    def shard_fn(ys, ks, hs, rtols, t0_, targets_, atol_, safety_, dyn_):
        term_, args_ = eqx.combine(dyn_, static)
        return rk_orbits(
            term_, solver, ys, ks, hs, t0_, targets_, rtols, atol_, safety_,
            lanes=lanes_per_dev, max_iterations=max_iterations, args=args_,
        )

    out, steps = map_over_devices(
        shard_fn,
        (y0[layout], k0[layout], h0[layout], rtol_n[layout]),
        (t0, targets, atol, safety, dyn),
        out_axes=(1, 0),
        devices=devices,
    )
    w = jnp.zeros((targets.shape[0], n, 6), dtype).at[:, layout].set(out)
    nsteps = jnp.zeros((n,), steps.dtype).at[layout].set(steps)
    return w, nsteps


# ---------------------------------------------------------------------------------------
# public
# ---------------------------------------------------------------------------------------
def integrate_orbits(
    pot: AbstractPotential | AbstractForceTerm,
    w0,
    t0,
    t1,
    dt,
    method: str = "leapfrog",
    *,
    save_every: int | None = None,
    step_control: AdaptiveSteps | ErrorControl | None = None,
    extra_terms: AbstractForceTerm | Sequence[AbstractForceTerm] = (),
    args: Any = None,
    dtype=None,
    force_dtype=None,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int | None = None,
    midpoint_iterations: int = 2,
    unroll: int = 1,
    devices: Sequence[jax.Device] | None = None,
) -> OrbitResult:
    """Integrate orbits in a potential from t0 to t1 (forwards or backwards in time).

    **Arguments:**

    - `pot`: a potential (gravity, −∇Φ(x, t), so time-dependent potentials work), or any
      :class:`AbstractForceTerm`.
    - `w0`: initial conditions, (N, 6) or (6,): x [kpc], v [km/s]; or a pair ``(x, v)`` of
      arrays / astropy Quantities of shape (N, 3) or (3,).
    - `t0`, `t1`: start and end times [Myr] (or Quantities); t1 < t0 integrates backwards.
    - `dt`: step [Myr], with the sign of t1 − t0. Fixed-step methods use
      n = ceil(|t1 − t0|/|dt|) equal steps of (t1 − t0)/n (never longer than |dt|; with
      ``save_every=k``, n is rounded up to a multiple of k). With
      ``step_control=AdaptiveSteps(...)`` dt is the longest step allowed; for ``"dopri8"``
      / ``"tsit5"`` / ``"dopri5"`` (diffrax or ``ErrorControl``) it only sets the output
      grid of ``save_every``.
    - `method`: ``"leapfrog"`` (kick–drift–kick), ``"yoshida4"``, ``"suzuki4"``,
      ``"yoshida6"``, ``"kahan_li6"`` (compositions), ``"bm4"``, ``"bm6"`` (Blanes & Moan
      2002 Runge–Kutta–Nyström splittings: the most accurate per force evaluation at fixed
      step), ``"dopri8"``, ``"tsit5"``, ``"dopri5"`` (diffrax, adaptive per orbit).
    - `save_every`: save every k-th step (k steps of the output grid for adaptive methods);
      ``None`` returns only the final state.
    - `step_control`: ``None`` (fixed steps for the symplectic schemes, diffrax's
      ``vmap``-ed solves for the Runge–Kutta methods); :class:`ErrorControl` (jaxgal's
      lane-scheduled embedded Runge–Kutta with per-orbit error control: ``dopri8``,
      ``tsit5``, ``dopri5`` — the fastest accurate engine, see ``benchmarks/README.md``);
      or :class:`AdaptiveSteps` (per-orbit adaptive time-symmetric steps; compositions
      only).
    - `extra_terms`: further :class:`AbstractForceTerm` s added to gravity (e.g. dynamical
      friction). Velocity-dependent terms are solved by implicit midpoint in each kick
      (``midpoint_iterations`` fixed-point sweeps); see ``_kick.py``.
    - `args`: passed to every term's ``acceleration``.
    - `dtype`: ``jnp.float32`` for single precision (state, forces and potential
      parameters cast); default float64 when x64 is on.
    - `force_dtype`: mixed precision: evaluate gravity in this dtype (``jnp.float32``)
      while the state and the integrator stay in ``dtype``.
    - `rtol`, `atol`, `max_steps`: diffrax PID controller tolerances (defaults 1e-10,
      1e-12; atol in kpc and kpc/Myr) and step limit per orbit.
    - `unroll`: ``lax.scan`` unroll of the fixed-step loop.
    - `devices`: devices to split the orbits over (default all of ``jax.devices()``).

    **Returns:** an :class:`OrbitResult` with ``t`` [Myr] and ``w`` [kpc, km/s]: the final
    state (N, 6)/(6,), or with ``save_every`` the time-major snapshots (n_save, N, 6) /
    (n_save, 6) including the initial state.

    Raises ``ValueError``/``TypeError`` for malformed shapes, NaN initial conditions, a
    zero or wrongly signed dt, unknown methods and options that do not apply.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    is_diffrax = method in DIFFRAX_SOLVERS
    if not is_diffrax and (rtol is not None or atol is not None or max_steps is not None):
        raise ValueError(f"rtol/atol/max_steps apply to the diffrax methods, not to {method!r}")
    if isinstance(step_control, ErrorControl):
        if method not in TABLEAUX:
            raise ValueError(f"step_control=ErrorControl works with {sorted(TABLEAUX)}; got {method!r}")
        if rtol is not None or atol is not None or max_steps is not None:
            raise ValueError("with step_control=ErrorControl set rtol/atol inside ErrorControl")
    elif step_control is not None:
        if not isinstance(step_control, AdaptiveSteps):
            raise TypeError(
                f"step_control must be AdaptiveSteps, ErrorControl or None; got {type(step_control).__name__}"
            )
        if is_diffrax or SCHEMES[method].gammas is None:
            comps = [k for k, s in SCHEMES.items() if s.gammas is not None]
            raise ValueError(f"step_control=AdaptiveSteps works with the compositions {comps}; got {method!r}")
        if not isinstance(pot, AbstractPotential):
            raise TypeError("step_control=AdaptiveSteps needs a potential (its step function is built from it)")
    if int(midpoint_iterations) != midpoint_iterations or midpoint_iterations < 0:
        raise ValueError(f"midpoint_iterations must be a non-negative integer; got {midpoint_iterations}")

    x0, v0, single = _as_initial_conditions(w0)
    t0f, t1f, dtf = _as_time(t0, "t0"), _as_time(t1, "t1"), _as_time(dt, "dt")
    n_blocks, block, h = _step_grid(t0f, t1f, dtf, save_every)

    if dtype is None:
        dtype = jnp.result_type(float)
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype must be a floating type; got {dtype}")
    term = _cast(as_force_term(pot, extra_terms), dtype)
    if force_dtype is not None:
        # Cast after the state dtype so that the gravity keeps its compute precision.
        term = SumOfTerms(
            tuple(
                GravityTerm(t.potential, compute_dtype=force_dtype)
                if isinstance(t, GravityTerm)
                else t
                for t in term.terms
            )
        )
    x0 = x0.astype(dtype)
    v0 = (v0 * U.KMS_TO_KPC_MYR).astype(dtype)
    args = _cast(args, dtype)
    n = x0.shape[0]
    devs = _devices(devices, n)
    t0a = jnp.asarray(t0f, dtype)

    # Output times: t0 + j·block·h, j = 0..n_blocks.
    grid = t0f + np.arange(n_blocks + 1) * block * h
    grid[-1] = t1f

    if isinstance(step_control, ErrorControl):
        if jnp.ndim(step_control.rtol) not in (0,) and jnp.shape(step_control.rtol) != (n,):
            raise ValueError(
                f"ErrorControl.rtol must be a scalar or one value per orbit, shape ({n},); "
                f"got shape {jnp.shape(step_control.rtol)}"
            )
        targets = jnp.asarray(grid[1:], dtype)
        out, nsteps = _run_rk(
            term, x0, v0, t0a, targets,
            jnp.asarray(step_control.rtol, dtype), jnp.asarray(step_control.atol, dtype),
            jnp.asarray(step_control.safety, dtype), args,
            solver=method, lanes=step_control.lanes or _default_lanes(n, len(devs)),
            max_iterations=step_control.max_iterations, devices=devs,
        )
        w = out
        if save_every is not None:
            w = jnp.concatenate([jnp.concatenate([x0, v0], axis=1)[None], w], axis=0)
    elif is_diffrax:
        options = DiffraxOptions(
            rtol=1e-10 if rtol is None else rtol,
            atol=1e-12 if atol is None else atol,
            max_steps=200_000 if max_steps is None else int(max_steps),
        )
        ts = None if save_every is None else jnp.asarray(grid, dtype)
        ys, nsteps = _run_diffrax(
            term, x0, v0, t0a, jnp.asarray(t1f, dtype), ts, _cast(options, dtype), args,
            solver=method, devices=devs,
        )
        w = jnp.moveaxis(ys, 1, 0)  # (k, N, 6)
    elif step_control is not None:
        scheme = get_scheme(method)
        targets = jnp.asarray(grid[1:], dtype)
        out, nsteps = _run_adaptive(
            _cast(pot, dtype), term, x0, v0, t0a, targets,
            jnp.asarray(step_control.eta, dtype), jnp.asarray(step_control.disc_weight, dtype),
            jnp.asarray(dtf, dtype), args,
            gammas=scheme.gammas, iterations=step_control.iterations,
            lanes=step_control.lanes or _default_lanes(n, len(devs)), max_iterations=step_control.max_iterations,
            midpoint_iterations=int(midpoint_iterations), devices=devs,
        )
        w = out
        if save_every is not None:
            w = jnp.concatenate([jnp.concatenate([x0, v0], axis=1)[None], w], axis=0)
    else:
        scheme = get_scheme(method)
        xs, vs = _run_fixed(
            term, x0, v0, t0a, jnp.asarray(h, dtype), args,
            scheme=scheme, n_blocks=n_blocks, block=block,
            midpoint_iterations=int(midpoint_iterations), unroll=int(unroll), devices=devs,
        )
        w = jnp.moveaxis(jnp.concatenate([xs, vs], axis=-1), 1, 0)  # (n_blocks, N, 6)
        if save_every is not None:
            w = jnp.concatenate([jnp.concatenate([x0, v0], axis=1)[None], w], axis=0)
        nsteps = jnp.full((n,), n_blocks * block, jnp.int32)

    w = w.at[..., 3:].divide(U.KMS_TO_KPC_MYR)
    if save_every is None:
        w = w[-1]
        t = jnp.asarray(t1f, dtype)
    else:
        t = jnp.asarray(grid, dtype)
    if single:
        w = w[..., 0, :] if save_every is None else w[:, 0, :]
        nsteps = nsteps[0]
    return OrbitResult(t=t, w=w, n_steps=nsteps, method=method)
