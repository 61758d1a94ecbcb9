"""The kick: v ← v + c·a, with velocity-dependent forces solved by implicit midpoint.

A kick of length c (a time, possibly negative) at a fixed position x and time t uses the
position-only acceleration ``g`` carried by the integrator (computed once per position,
first-same-as-last) plus, if there are velocity-dependent terms f (dynamical friction,
drag), the implicit-midpoint solution of

    v' = v + c · [g + f(t, x, (v + v')/2)],

found by ``n_iter`` fixed-point iterations from the explicit Euler guess. The implicit
midpoint kick is time-symmetric (reversing c undoes it up to the iteration residual) and
second-order accurate in c, so a leapfrog with velocity-dependent forces stays
second-order and time-reversible. Higher-order compositions (Yoshida, Blanes–Moan) treat
the velocity-dependent part to second order only: use ``leapfrog`` or an adaptive diffrax
solver when such forces matter at high accuracy. Each iteration costs one evaluation of
the velocity-dependent terms (never of gravity).
"""

from __future__ import annotations

from typing import Any

from jaxtyping import Array, Float

from ._terms import SumOfTerms

__all__ = ["kick"]


def kick(
    v: Float[Array, " d"],
    c,
    g: Float[Array, " d"],
    vel_term: SumOfTerms | None,
    t,
    x: Float[Array, " d"],
    args: Any,
    n_iter: int,
) -> Float[Array, " d"]:
    """v + c·(g + f(t, x, v̄)) with v̄ the implicit-midpoint velocity (see module docstring)."""
    if vel_term is None:
        return v + c * g
    v_new = v + c * (g + vel_term.acceleration(t, x, v, args))
    for _ in range(n_iter):
        v_new = v + c * (g + vel_term.acceleration(t, x, 0.5 * (v + v_new), args))
    return v_new
