"""Orbit integration: solvers as objects, one integration call.

- :func:`integrate_orbits` — many independent orbits in a potential (public units:
  kpc, km/s, Myr), returning an :class:`OrbitResult`; the shorthand
  ``integrate_orbits(pot, w0, t0, t1, dt, method="leapfrog")`` or a solver object
  ``integrate_orbits(pot, w0, t0, t1, solver=ErrorControlledRK("dopri5", rtol=1e-7))``;
- :func:`integrate_system` — one system of any dimension in internal units (the
  host–satellite pair of :mod:`jaxgal.satellites`);
- solvers: fixed-step symplectic splittings (:class:`Leapfrog`, :class:`Yoshida4`,
  :class:`Suzuki4`, :class:`Yoshida6`, :class:`KahanLi6`, :class:`BM4`, :class:`BM6`),
  :class:`RK4`, per-orbit adaptive solvers on load-balanced lanes
  (:class:`ErrorControlledRK`, :class:`AdaptiveComposition`) and :class:`Diffrax`;
- force terms: :class:`AbstractForceTerm`, :class:`GravityTerm`,
  :class:`ConstantAcceleration`, :class:`SumOfTerms`.

The methods, their orders and costs are in ``docs/integrators.md``.
"""

from ._adaptive import AdaptiveComposition
from ._api import FIXED_STEP_METHODS, METHODS, integrate_orbits, integrate_system, solver_from_method
from ._base import AbstractFixedStepSolver, AbstractSolver
from ._diffrax import Diffrax
from ._result import OrbitResult
from ._rk import ErrorControlledRK
from ._rk4 import RK4
from ._splitting import BM4, BM6, AbstractSplittingSolver, KahanLi6, Leapfrog, Suzuki4, Yoshida4, Yoshida6
from ._terms import AbstractForceTerm, ConstantAcceleration, GravityTerm, SumOfTerms

__all__ = [
    "AbstractFixedStepSolver",
    "AbstractForceTerm",
    "AbstractSolver",
    "AbstractSplittingSolver",
    "AdaptiveComposition",
    "BM4",
    "BM6",
    "ConstantAcceleration",
    "Diffrax",
    "ErrorControlledRK",
    "FIXED_STEP_METHODS",
    "GravityTerm",
    "KahanLi6",
    "Leapfrog",
    "METHODS",
    "OrbitResult",
    "RK4",
    "SumOfTerms",
    "Suzuki4",
    "Yoshida4",
    "Yoshida6",
    "integrate_orbits",
    "integrate_system",
    "solver_from_method",
]
