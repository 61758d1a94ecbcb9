"""What every solver is: an object handed to one integration call.

A solver (diffrax's pattern: ``_solver/dopri5.py``) carries its own options and knows two
things:

- how it grids time (:meth:`AbstractSolver._grid`): the output times and, for fixed-step
  methods, the steps between them;
- how it advances a batch of independent systems x'' = a(t, x, v) to those times
  (:meth:`AbstractSolver._run`), in internal units (t [Myr], x [kpc], v [kpc/Myr]), with
  the batch split over devices.

Integration entry points (``_api.py``) convert units, validate and call these two; they hold
no per-solver logic.
"""

from __future__ import annotations

import abc
import math
from typing import Any, NamedTuple

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float, Int

from .._validation import check_finite_scalar, check_step_budget
from ._terms import SumOfTerms

__all__ = ["AbstractSolver", "AbstractFixedStepSolver", "Grid"]

# Relative slack when deciding whether dt divides the interval (2200/0.5 must give 4400).
_DIVIDES_RTOL = 1e-9


class Grid(NamedTuple):
    """The time grid of one integration (static: part of the compiled program's shape).

    - `n_out`: number of output intervals (outputs at t0 and after each interval);
    - `block`: steps per output interval for a fixed-step solver (1 otherwise);
    - `h`: the step [Myr] (fixed-step), span / (n_out · block);
    - `times`: the n_out + 1 output times [Myr], t0 first and exactly t1 last.
    """

    n_out: int
    block: int
    h: float
    times: tuple[float, ...]


def _uniform_grid(t0: float, t1: float, n_out: int, block: int) -> Grid:
    check_step_budget(n_out * block)  # before any array of that length is made
    span = t1 - t0
    h = span / (n_out * block)
    times = t0 + np.arange(n_out + 1) * block * h
    times[-1] = t1
    return Grid(n_out, block, h, tuple(float(t) for t in times))


def steps_grid(t0: float, t1: float, dt: float, save_every: int | None) -> Grid:
    """The grid of ``ceil(|t1 − t0|/|dt|)`` equal steps (dt dividing the interval to 1e-9
    counts as dividing it), rounded up to a multiple of ``save_every`` with an output
    every ``save_every`` steps (``None``: only the end). The step used never exceeds |dt|
    and the last output lands on t1 exactly."""
    span = t1 - t0
    if span == 0:
        raise ValueError("t1 equals t0: nothing to integrate")
    check_dt_direction(dt, span)
    n_steps = max(1, int(math.ceil(span / dt * (1.0 - _DIVIDES_RTOL))))
    if save_every is None:
        return _uniform_grid(t0, t1, 1, n_steps)
    n_out = -(-n_steps // save_every)
    return _uniform_grid(t0, t1, n_out, save_every)


def check_dt_direction(dt: float, span: float) -> None:
    """A step [Myr] must be non-zero and point from t0 towards t1 (span = t1 − t0)."""
    if dt == 0:
        raise ValueError("dt must be a non-zero step in Myr")
    if (dt > 0) != (span > 0):
        raise ValueError(
            f"dt = {dt} Myr has the wrong sign for t1 − t0 = {span} Myr: use a negative dt to "
            "integrate backwards in time"
        )


class AbstractSolver(eqx.Module):
    """An orbit solver: a Module whose fields are its options.

    Concrete solvers: the fixed-step symplectic splittings (:class:`Leapfrog`,
    :class:`Yoshida4`, ...), :class:`RK4`, :class:`ErrorControlledRK`,
    :class:`AdaptiveComposition` and :class:`Diffrax`. Subclasses implement
    :meth:`_grid` and :meth:`_run`.
    """

    @property
    def name(self) -> str:
        """A short label (stored in :class:`OrbitResult`)."""
        return type(self).__name__

    @abc.abstractmethod
    def _grid(self, t0: float, t1: float, dt: float | None, save_every: int | None) -> Grid:
        """The output grid of an integration from t0 to t1 [Myr]: ``save_every`` steps of
        ``dt`` between outputs (``None``: only the end)."""

    def _grid_n(self, t0: float, t1: float, n_out: int) -> Grid:
        """The grid with ``n_out`` equal output intervals (adaptive solvers: no steps)."""
        return _uniform_grid(t0, t1, n_out, 1)

    @abc.abstractmethod
    def _run(
        self,
        term: SumOfTerms,
        x0: Float[Array, "n d"],
        v0: Float[Array, "n d"],
        t0: Float[Array, ""],
        grid: Grid,
        targets: Float[Array, " k"],
        h: Float[Array, ""],
        args: Any,
        devices: tuple,
    ) -> tuple[Float[Array, "k n D"], Int[Array, " n"]]:
        """Integrate ``n`` independent systems (x0, v0 of dimension d each) to the output
        times ``targets`` = ``grid.times[1:]`` (an array, so that new times do not
        recompile); ``h`` is the fixed step as an array. Returns the states (k, n, 2d) at
        the targets and the steps taken per system."""


class AbstractFixedStepSolver(AbstractSolver):
    """A solver with a fixed step ``dt`` [Myr] (static: it sets the number of steps)."""

    dt: eqx.AbstractVar[float]

    def _grid(self, t0, t1, dt, save_every):
        # The solver's own step; `dt` of the call is not used (it built the solver).
        return steps_grid(t0, t1, math.copysign(abs(self.dt), t1 - t0), save_every)

    def _grid_n(self, t0, t1, n_out):
        span = t1 - t0
        per = max(1, int(math.ceil(abs(span) / n_out / abs(self.dt) * (1.0 - _DIVIDES_RTOL))))
        return _uniform_grid(t0, t1, n_out, per)


def check_dt(cls_name: str, dt) -> float:
    """A fixed step: a finite, non-zero, concrete number [Myr] (its sign is taken from the
    direction of integration)."""
    v = check_finite_scalar(dt, f"{cls_name}: dt", unit="Myr")
    if v == 0:
        raise ValueError(f"{cls_name}: dt must be a non-zero step in Myr; got {v}")
    return abs(v)
