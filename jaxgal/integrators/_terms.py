"""Force terms: the accelerations an integrator adds up.

A term is an equinox Module with ``acceleration(t, x, v, args)`` for **one** particle in the
internal units (t [Myr], x [kpc], v [kpc/Myr] → kpc/Myr²). Gravity from a potential is one
term; dynamical friction, a constant field or any user force is another; :class:`SumOfTerms`
adds them. Every term says whether it depends on the velocity
(``velocity_dependent``): the symplectic integrators carry position-only forces between
steps (first-same-as-last) and re-evaluate velocity-dependent ones at every kick, solving
the kick v' = v + c·a(x, (v + v')/2) by fixed-point iteration (implicit midpoint); see
``_kick.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import units as U
from ..potentials import AbstractPotential

__all__ = ["AbstractForceTerm", "GravityTerm", "ConstantAcceleration", "SumOfTerms", "as_force_term", "cast_floating"]


class AbstractForceTerm(eqx.Module):
    """An acceleration a(t, x, v) for one particle, in kpc/Myr².

    Subclasses implement ``acceleration(t, x, v, args)`` (t [Myr] scalar, x (3,) [kpc],
    v (3,) [kpc/Myr], ``args`` whatever the caller passes, usually ``None``) and set the
    class variable ``velocity_dependent``. The integrators ``vmap`` over particles, so a term
    is written for one particle.
    """

    #: Whether ``acceleration`` uses ``v``. Defaults to True (always safe); position-only
    #: terms set it to False so that integrators can carry their value between steps,
    #: and then receive ``v=None``.
    velocity_dependent: ClassVar[bool] = True

    @abc.abstractmethod
    def acceleration(
        self, t: Float[ArrayLike, ""], x: Float[Array, "3"], v: Float[Array, "3"], args: Any
    ) -> Float[Array, "3"]:
        """a(t, x, v) in kpc/Myr²."""


class GravityTerm(AbstractForceTerm):
    """−∇Φ(x, t) of a potential.

    **Arguments:**

    - `potential`: evaluated through its :meth:`~jaxgal.potentials.AbstractPotential.grad_phi`
      (each potential's own fastest exact force).
    - `compute_dtype` (static, default None): evaluate the force in this precision (e.g.
      ``jnp.float32``: the potential's parameters and the position are cast, the result is
      cast back to the state's dtype) — mixed precision: a float64 state with float32
      forces, whose relative error ~1e-7 is far below the integration error at the usual
      tolerances and which costs about half as much on a CPU. Forward-mode derivatives
      (``jax.jvp``) of such a force are computed in the state's precision: in float32 the
      tangents of chaotic orbits in a cusp overflow (NaN gradients).
    """

    potential: AbstractPotential
    compute_dtype: Any = eqx.field(static=True, default=None)
    velocity_dependent: ClassVar[bool] = False

    def __init__(self, potential: AbstractPotential, compute_dtype=None):
        self.potential = potential
        self.compute_dtype = None if compute_dtype is None else jnp.dtype(compute_dtype)

    def acceleration(self, t, x, v, args):
        if self.compute_dtype is None:
            return -self.potential.grad_phi(x, t).astype(x.dtype)
        return _low_precision_force(self.potential, x, jnp.asarray(t, x.dtype), dtype=self.compute_dtype)


@eqx.filter_custom_jvp
def _low_precision_force(potential, x, t, *, dtype):
    """−∇Φ(x, t) evaluated in ``dtype`` (parameters, position and time cast), returned in
    x's dtype; its tangent is the full-precision force's (rule below)."""
    low = cast_floating(potential, dtype)
    return -low.grad_phi(x.astype(dtype), t.astype(dtype)).astype(x.dtype)


@_low_precision_force.def_jvp
def _low_precision_force_jvp(primals, tangents, *, dtype):
    potential, x, t = primals
    out = _low_precision_force(potential, x, t, dtype=dtype)
    # the derivative of the force in the state's precision (tangents of orbits that
    # pass close to a cusp grow beyond float32's range)
    _, tan = eqx.filter_jvp(lambda p, xx, tt: -p.grad_phi(xx, tt), primals, tangents)
    return out, tan.astype(x.dtype)


class ConstantAcceleration(AbstractForceTerm):
    """A uniform, constant acceleration (a test field, or a frame's acceleration).

    **Arguments:** `a`: (3,) acceleration in **km/s/Myr** (the public unit), stored
    internally in kpc/Myr².
    """

    a: Float[Array, "3"]
    velocity_dependent: ClassVar[bool] = False

    def __init__(self, a):
        a = jnp.asarray(U.to_value(a, "km/s/Myr"), dtype=float)
        if a.shape != (3,):
            raise ValueError(f"ConstantAcceleration needs a (3,) vector in km/s/Myr; got shape {a.shape}")
        self.a = a * U.KMS_TO_KPC_MYR

    def acceleration(self, t, x, v, args):
        return jnp.broadcast_to(self.a, x.shape).astype(x.dtype)


class SumOfTerms(AbstractForceTerm):
    """a = Σ aᵢ over a tuple of terms; velocity dependent if any term is.

    ``split()`` returns the position-only sum and the velocity-dependent sum (either may be
    ``None``), which is what the symplectic kicks use.
    """

    terms: tuple[AbstractForceTerm, ...]

    def __init__(self, terms: Sequence[AbstractForceTerm]):
        terms = tuple(terms)
        if not terms:
            raise ValueError("SumOfTerms needs at least one term")
        for term in terms:
            if not isinstance(term, AbstractForceTerm):
                raise TypeError(f"force terms must be AbstractForceTerm instances; got {type(term).__name__}")
        self.terms = terms

    @property
    def velocity_dependent(self) -> bool:  # type: ignore[override]
        """True if any of the terms is velocity dependent."""
        return any(term.velocity_dependent for term in self.terms)

    def acceleration(self, t, x, v, args):
        out = self.terms[0].acceleration(t, x, v, args)
        for term in self.terms[1:]:
            out = out + term.acceleration(t, x, v, args)
        return out

    def split(self) -> tuple["SumOfTerms | None", "SumOfTerms | None"]:
        """(position-only part, velocity-dependent part); ``None`` for an empty part."""
        pos = tuple(term for term in self.terms if not term.velocity_dependent)
        vel = tuple(term for term in self.terms if term.velocity_dependent)
        return (SumOfTerms(pos) if pos else None, SumOfTerms(vel) if vel else None)


def as_force_term(pot_or_term, extra_terms=(), *, force_dtype=None) -> SumOfTerms:
    """The total force: gravity of a potential (or any term) plus ``extra_terms``.

    **Arguments:** `pot_or_term`: an :class:`~jaxgal.potentials.AbstractPotential` or an
    :class:`AbstractForceTerm`; `extra_terms`: a term or a sequence of terms; `force_dtype`: precision of the gravity evaluation
    (see :class:`GravityTerm`).

    **Returns:** a flat :class:`SumOfTerms`.
    """
    if isinstance(pot_or_term, AbstractPotential):
        base: list[AbstractForceTerm] = [GravityTerm(pot_or_term, compute_dtype=force_dtype)]
    elif isinstance(pot_or_term, SumOfTerms):
        base = list(pot_or_term.terms)
    elif isinstance(pot_or_term, AbstractForceTerm):
        base = [pot_or_term]
    else:
        raise TypeError(
            f"expected a potential or a force term; got {type(pot_or_term).__name__}"
        )
    if isinstance(extra_terms, AbstractForceTerm):
        extra_terms = (extra_terms,)
    extras: list[AbstractForceTerm] = []
    for term in extra_terms or ():
        if isinstance(term, SumOfTerms):
            extras.extend(term.terms)
        elif isinstance(term, AbstractForceTerm):
            extras.append(term)
        else:
            raise TypeError(f"extra_terms must be AbstractForceTerm instances; got {type(term).__name__}")
    return SumOfTerms(base + extras)


def cast_floating(tree, dtype):
    """Cast every floating array leaf of a pytree to ``dtype`` (others untouched)."""

    def f(leaf):
        if eqx.is_array(leaf) and jnp.issubdtype(leaf.dtype, jnp.floating):
            return leaf.astype(dtype)
        return leaf

    return jax.tree.map(f, tree)
