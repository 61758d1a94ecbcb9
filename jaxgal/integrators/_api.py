"""The integration entry points: :func:`integrate_orbits` (public units, many independent
orbits) and :func:`integrate_system` (internal units, one system of any dimension).

Both validate at the boundary, let the solver grid time (``AbstractSolver._grid``) and run
one ``equinox.filter_jit`` region (:func:`_integrate`) in which the solver advances the batch.
No per-solver logic lives here: a solver is an object that carries its own options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import units as U
from .._validation import (
    as_float_array,
    check_finite_scalar,
    check_float_dtype,
    check_int,
    check_shape,
    concrete_array,
)
from ..potentials import AbstractPotential
from ._base import AbstractFixedStepSolver, AbstractSolver, Grid, check_dt_direction
from ._diffrax import DIFFRAX_SOLVERS, Diffrax
from ._result import OrbitResult
from ._rk4 import RK4
from ._splitting import SPLITTINGS
from ._terms import AbstractForceTerm, GravityTerm, SumOfTerms, as_force_term, cast_floating

__all__ = ["integrate_orbits", "integrate_system", "solver_from_method", "METHODS", "FIXED_STEP_METHODS"]

#: The fixed-step ``method`` names (step ``dt``).
FIXED_STEP_METHODS = tuple(SPLITTINGS) + ("rk4",)
#: Every ``method`` name of the ``dt``/``method`` shorthand.
METHODS = FIXED_STEP_METHODS + tuple(DIFFRAX_SOLVERS)


def solver_from_method(method: str, dt) -> AbstractSolver:
    """The solver the shorthand ``integrate_orbits(pot, w0, t0, t1, dt, method=...)``
    stands for.

    - ``"leapfrog"``, ``"yoshida4"``, ``"suzuki4"``, ``"yoshida6"``, ``"kahan_li6"``,
      ``"bm4"``, ``"bm6"``: the fixed-step splitting of that name with step ``dt``
      (:class:`Leapfrog`, :class:`Yoshida4`, ...); ``"rk4"``: :class:`RK4` with step ``dt``;
    - ``"dopri8"``, ``"tsit5"``, ``"dopri5"``: :class:`Diffrax` with that solver and
      ``PIDController(rtol=1e-10, atol=1e-12)``, ``dt`` setting only the output grid.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}, or pass solver=")
    if method in SPLITTINGS:
        return SPLITTINGS[method](dt)
    if method == "rk4":
        return RK4(dt)
    return Diffrax(method)


# ---------------------------------------------------------------------------------------
# boundary helpers
# ---------------------------------------------------------------------------------------
def _as_initial_conditions(w0):
    """(x [kpc], v [km/s], single) from an (N, 6)/(6,) array or an (x, v) tuple."""
    if hasattr(w0, "unit") and hasattr(w0, "to_value"):
        raise TypeError(
            "w0 is a single astropy Quantity, which cannot hold kpc and km/s at once; pass a "
            "plain array in kpc and km/s, or a pair (x, v) of Quantities"
        )
    if isinstance(w0, tuple) and len(w0) == 2:
        x = as_float_array(w0[0], "w0[0] (positions)", "kpc")
        v = as_float_array(w0[1], "w0[1] (velocities)", "km/s")
        if x.shape != v.shape or x.ndim not in (1, 2) or x.shape[-1] != 3:
            raise ValueError(
                f"w0 as a tuple (x, v) needs two arrays of shape (N, 3) or (3,); got {x.shape} and {v.shape}"
            )
        w0 = jnp.concatenate([x, v], axis=-1)
    else:
        if isinstance(w0, list) and len(w0) == 2 and np.shape(w0) not in ((2, 6),):
            raise ValueError(
                "w0 is a list of two items that is not a (2, 6) array; pass an (N, 6) array of "
                "orbits, or a tuple (x, v) for positions and velocities"
            )
        w0 = as_float_array(w0, "w0")
    check_shape(w0.shape, "w0", "(N, 6) or (6,) in kpc and km/s", w0.ndim in (1, 2) and w0.shape[-1] == 6)
    if w0.ndim == 2 and w0.shape[0] == 0:
        raise ValueError("w0 holds no orbits (shape (0, 6))")
    arr = concrete_array(w0, "w0")
    if arr is not None:
        bad = ~np.isfinite(arr)
        if bad.any():
            rows = np.unique(np.nonzero(bad.reshape(-1, 6))[0])[:5]
            raise ValueError(f"w0 contains NaN or infinite values (first bad rows: {rows.tolist()})")
    single = w0.ndim == 1
    w0 = w0.reshape(-1, 6)
    return w0[:, :3], w0[:, 3:], single


#: With the default ``devices=None``, orbits are split over the devices only when each gets at
#: least this many: below it one device is as fast and compiles a smaller program.
MIN_ORBITS_PER_DEVICE = 1024


def _devices(devices, n: int) -> tuple:
    if devices is None:
        devices = tuple(jax.devices())
        return devices if n >= MIN_ORBITS_PER_DEVICE * len(devices) else devices[:1]
    devices = tuple(devices)
    if not devices:
        raise ValueError("devices is empty")
    return devices if n >= len(devices) else devices[:1]


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces: tests assert no silent recompiles
def _integrate(solver, term, x0, v0, t0, grid: Grid, targets, h, args, devices):
    return solver._run(term, x0, v0, t0, grid, targets, h, args, devices)


def _run(solver, term, x0, v0, t0f: float, grid: Grid, args, devices):
    dtype = x0.dtype
    targets = jnp.asarray(np.asarray(grid.times[1:]), dtype)
    # Only the counts are static (they fix the program's shape); times and the step are
    # arrays, so that new times with the same counts reuse the compiled program.
    shape = grid._replace(h=0.0, times=())
    return _integrate(
        solver, term, x0, v0, jnp.asarray(t0f, dtype), shape, targets, jnp.asarray(grid.h, dtype), args, devices
    )


# ---------------------------------------------------------------------------------------
# public
# ---------------------------------------------------------------------------------------
def integrate_orbits(
    pot: AbstractPotential | AbstractForceTerm,
    w0,
    t0,
    t1,
    dt=None,
    method: str = "leapfrog",
    *,
    solver: AbstractSolver | None = None,
    save_every=None,
    extra_terms: AbstractForceTerm | Sequence[AbstractForceTerm] = (),
    args: Any = None,
    dtype=None,
    force_dtype=None,
    devices: Sequence[jax.Device] | None = None,
) -> OrbitResult:
    """Integrate orbits in a potential from t0 to t1 (forwards or backwards in time).

    Two ways to choose the integrator:

    - the shorthand ``integrate_orbits(pot, w0, t0, t1, dt, method="leapfrog")``: a
      fixed-step method with step ``dt`` (``"leapfrog"``, ``"yoshida4"``, ``"suzuki4"``,
      ``"yoshida6"``, ``"kahan_li6"``, ``"bm4"``, ``"bm6"``, ``"rk4"``) or diffrax's
      ``"dopri8"``, ``"tsit5"``, ``"dopri5"`` at rtol 1e-10 (:func:`solver_from_method`);
    - a solver object: ``integrate_orbits(pot, w0, t0, t1, solver=ErrorControlledRK("dopri5",
      rtol=1e-7))`` — :class:`Leapfrog`, :class:`BM4`, ... (their own step),
      :class:`ErrorControlledRK`, :class:`AdaptiveComposition`, :class:`Diffrax`
      (``docs/integrators.md`` compares them).

    **Arguments:**

    - `pot`: a potential (gravity −∇Φ(x, t), so time-dependent potentials work) or any
      :class:`AbstractForceTerm`.
    - `w0`: initial conditions, (N, 6) or (6,): x [kpc], v [km/s]; or a tuple ``(x, v)``
      of arrays / astropy Quantities of shape (N, 3) or (3,).
    - `t0`, `t1`: start and end times [Myr] (or Quantities); t1 < t0 integrates backwards.
    - `dt`: step [Myr] of the shorthand. Fixed-step methods take n = ceil(|t1 − t0|/|dt|)
      equal steps of (t1 − t0)/n (never longer than |dt|; with ``save_every=k``, n is
      rounded up to a multiple of k). With an adaptive solver object, ``dt`` (optional)
      sets only the spacing of the ``save_every`` output grid; a fixed-step solver object
      carries its own step, so ``dt`` must then be ``None``.
    - `method`: the shorthand's method name (ignored when `solver` is given).
    - `solver`: an :class:`AbstractSolver`.
    - `save_every`: save every k-th step (of ``dt`` for adaptive solvers); ``None`` returns
      only the final state.
    - `extra_terms`: further :class:`AbstractForceTerm` s added to gravity (e.g. dynamical
      friction). Velocity-dependent terms are solved by implicit midpoint in each kick of
      the splitting solvers (``_kick.py``).
    - `args`: passed to every term's ``acceleration``.
    - `dtype`: ``jnp.float32`` for single precision (state, forces and potential
      parameters cast); default float64 when x64 is on.
    - `force_dtype`: mixed precision: evaluate gravity in this dtype (``jnp.float32``)
      while the state and the integrator stay in ``dtype``.
    - `devices`: devices to split the orbits over (default: all of ``jax.devices()`` when
      each gets at least ``MIN_ORBITS_PER_DEVICE`` = 1024 orbits, else one).

    **Returns:** an :class:`OrbitResult` with ``t`` [Myr] and ``w`` [kpc, km/s]: the final
    state (N, 6)/(6,), or with ``save_every`` the time-major snapshots (n_save, N, 6) /
    (n_save, 6) including the initial state.

    Raises ``ValueError``/``TypeError`` naming the argument for malformed shapes, NaN
    initial conditions, non-finite or traced times, a zero or wrongly signed dt, an
    unknown method, and more than :data:`jaxgal._validation.MAX_STEPS` steps per orbit
    (usually a time in years).
    """
    x0, v0, single = _as_initial_conditions(w0)
    t0f = check_finite_scalar(t0, "t0", unit="Myr")
    t1f = check_finite_scalar(t1, "t1", unit="Myr")
    if t1f == t0f:
        raise ValueError(f"t1 equals t0 = {t0f} Myr: nothing to integrate")
    dtf = None if dt is None else check_finite_scalar(dt, "dt", unit="Myr")
    if save_every is not None:
        save_every = check_int(save_every, "save_every")
    if solver is None:
        if dtf is None:
            raise TypeError("integrate_orbits needs a step dt [Myr] (with method=...) or a solver object")
        if not isinstance(method, str) or method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}, or pass solver=")
        if method in FIXED_STEP_METHODS:
            check_dt_direction(dtf, t1f - t0f)
        solver = solver_from_method(method, dtf)
    else:
        if not isinstance(solver, AbstractSolver):
            raise TypeError(f"solver must be a jaxgal.integrators solver object; got {type(solver).__name__}")
        if isinstance(solver, AbstractFixedStepSolver) and dtf is not None:
            raise TypeError(
                f"{type(solver).__name__} carries its own step (dt = {solver.dt} Myr): pass dt=None with a "
                "fixed-step solver object"
            )
        if dtf is not None:
            check_dt_direction(dtf, t1f - t0f)
    grid = solver._grid(t0f, t1f, dtf, save_every)  # refuses more than MAX_STEPS steps

    if dtype is None:
        dtype = jnp.result_type(float)
    dtype = check_float_dtype(dtype, "dtype")
    term = cast_floating(as_force_term(pot, extra_terms), dtype)
    if force_dtype is not None:
        # Cast after the state dtype so that the gravity keeps its compute precision.
        term = SumOfTerms(
            tuple(
                GravityTerm(t.potential, compute_dtype=force_dtype) if isinstance(t, GravityTerm) else t
                for t in term.terms
            )
        )
    x0 = x0.astype(dtype)
    v0 = (v0 * U.KMS_TO_KPC_MYR).astype(dtype)
    args = cast_floating(args, dtype)
    n = x0.shape[0]
    w, nsteps = _run(solver, term, x0, v0, t0f, grid, args, _devices(devices, n))

    if save_every is not None:
        w = jnp.concatenate([jnp.concatenate([x0, v0], axis=1)[None], w], axis=0)
    w = w.at[..., 3:].divide(U.KMS_TO_KPC_MYR)
    if save_every is None:
        w = w[-1]
        t = jnp.asarray(t1f, dtype)
    else:
        t = jnp.asarray(np.asarray(grid.times), dtype)
    if single:
        w = w[..., 0, :] if save_every is None else w[:, 0, :]
        nsteps = nsteps[0]
    return OrbitResult(t=t, w=w, n_steps=nsteps, method=solver.name)


def integrate_system(
    term: AbstractForceTerm,
    x0,
    v0,
    t0: float,
    t1: float,
    solver: AbstractSolver,
    *,
    n_save=1,
    args: Any = None,
):
    """Integrate one system x'' = a(t, x, v) of any dimension d, in internal units.

    For the few-body systems of other packages (the host–satellite pair of
    ``jaxgal.satellites`` has d = 6: both centres). Runs on one device; jit-, vmap- and
    (with a fixed-step or :class:`Diffrax` solver) reverse-mode differentiable.

    **Arguments:** `term`: the force (an :class:`AbstractForceTerm` whose ``acceleration``
    takes and returns (d,) arrays; ``velocity_dependent`` parts are split off for the
    symplectic kicks); `x0`, `v0`: (d,) [kpc, kpc/Myr]; `t0`, `t1` [Myr] (concrete
    numbers); `solver`; `n_save`: number of equal output intervals (a fixed-step solver
    takes equal steps no longer than its ``dt`` inside each); `args`.

    **Returns:** ``(t, x, v)``: the n_save + 1 output times (n_save + 1,) [Myr] from t0 to
    t1, and the states there (n_save + 1, d) [kpc, kpc/Myr].
    """
    t0f = check_finite_scalar(t0, "t0", unit="Myr")
    t1f = check_finite_scalar(t1, "t1", unit="Myr")
    if t1f == t0f:
        raise ValueError(f"t1 equals t0 = {t0f} Myr: nothing to integrate")
    n_save = check_int(n_save, "n_save")
    if not isinstance(solver, AbstractSolver):
        raise TypeError(f"solver must be a jaxgal.integrators solver object; got {type(solver).__name__}")
    grid = solver._grid_n(t0f, t1f, n_save)  # refuses more than MAX_STEPS steps
    term = as_force_term(term)
    x0 = jnp.asarray(x0)
    v0 = jnp.asarray(v0)
    check_shape(x0.shape, "x0", "(d,)", x0.ndim == 1 and v0.shape == x0.shape)
    w, _ = _run(solver, term, x0[None], v0[None], t0f, grid, args, tuple(jax.devices()[:1]))
    w = jnp.concatenate([jnp.concatenate([x0, v0])[None], w[:, 0]], axis=0)
    d = x0.shape[0]
    t = jnp.asarray(np.asarray(grid.times), x0.dtype)
    return t, w[:, :d], w[:, d:]
