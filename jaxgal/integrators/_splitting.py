"""Fixed-step symplectic splitting schemes: the leapfrog, its compositions and the
Runge–Kutta–Nyström splittings of Blanes & Moan, one small class each.

Every scheme is a kick–drift–…–drift–kick sequence for H = T(v) + Φ(x):

    v += b₀ h a(x);  x += a₁ h v;  v += b₁ h a(x);  …;  x += a_s h v;  v += b_s h a(x),

with Σ aᵢ = Σ bᵢ = 1. The last kick of one step and the first kick of the next act at the
same position, so the position-only force there is computed once (first same as last): a
scheme with s drifts costs s force evaluations per step. Velocity-dependent forces
(dynamical friction, drag) are solved in each kick by implicit midpoint (``_kick.py``).

Two families (``docs/integrators.md`` has the coefficients' sources and orders):

- **compositions** of the kick–drift–kick leapfrog with sub-steps γ₁h, …, γ_m h (Yoshida
  1990, Phys. Lett. A 150, 262; Suzuki 1990; Kahan & Li 1997, Math. Comp. 66, 1089):
  drifts γᵢ and kicks (γᵢ + γᵢ₊₁)/2. Symmetric, valid for any splitting, and the bases of
  :class:`~jaxgal.integrators.AdaptiveComposition`;
- **Runge–Kutta–Nyström splittings** optimised for H = T(v) + Φ(x) (Blanes & Moan 2002,
  J. Comput. Appl. Math. 142, 313, Table 3: SRKN₆ᵇ of order 4 and SRKN₁₁ᵇ of order 6):
  far smaller error constants per force evaluation than the compositions.

The orders are checked in the tests from the energy error at two step sizes.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._validation import check_int
from ._base import AbstractFixedStepSolver, check_dt
from ._fixed import run_fixed, scan_blocks
from ._kick import kick

__all__ = [
    "AbstractSplittingSolver",
    "Leapfrog",
    "Yoshida4",
    "Suzuki4",
    "Yoshida6",
    "KahanLi6",
    "BM4",
    "BM6",
    "SPLITTINGS",
    "COMPOSITIONS",
]


@dataclasses.dataclass(frozen=True)
class Splitting:
    """The coefficients of a symmetric kick–drift splitting (hashable, static).

    - `order`; `kicks` (s + 1,) b₀…b_s; `drifts` (s,) a₁…a_s;
    - `gammas`: the leapfrog sub-steps when the scheme is a composition of leapfrogs
      (``None`` for the Runge–Kutta–Nyström splittings).
    """

    order: int
    kicks: tuple[float, ...]
    drifts: tuple[float, ...]
    gammas: tuple[float, ...] | None

    @property
    def n_force(self) -> int:
        """Force evaluations per step (first same as last)."""
        return len(self.drifts)


def _composition(order: int, gammas) -> Splitting:
    g = [float(x) for x in gammas]
    kicks = [g[0] / 2] + [(g[i] + g[i + 1]) / 2 for i in range(len(g) - 1)] + [g[-1] / 2]
    return Splitting(order, tuple(kicks), tuple(g), tuple(g))


def _symmetric(half, centre=None):
    """Mirror a half list of coefficients around an optional centre value."""
    half = list(half)
    return half + ([centre] if centre is not None else []) + half[::-1]


# Yoshida (1990) / Creutz & Gocksch (1989) triple jump.
_W1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
_W0 = -(2.0 ** (1.0 / 3.0)) * _W1
# Suzuki (1990) five-stage fourth order: smaller error constant than the triple jump.
_P4 = 1.0 / (4.0 - 4.0 ** (1.0 / 3.0))
# Yoshida (1990) sixth order, solution A (7 stages).
_Y6 = (0.78451361047755726381949763, 0.23557321335935813368479318, -1.17767998417887100694641568)
# Kahan & Li (1997) sixth order, 9 stages (s9odr6a).
_KL6 = (
    0.39216144400731413927925056,
    0.33259913678935943859974864,
    -0.70624617255763935980996482,
    0.08221359629355080023149045,
)
# Blanes & Moan (2002) Table 3: SRKN_6^b (order 4) and SRKN_11^b (order 6); b = kicks.
_BM4_B = (0.0829844064174052, 0.396309801498368, -0.0390563049223486)
_BM4_A = (0.245298957184271, 0.604872665711080)
_BM6_B = (0.0414649985182624, 0.198128671918067, -0.0400061921041533, 0.0752539843015807, -0.0115113874206879)
_BM6_A = (0.123229775946271, 0.290553797799558, -0.127049212625417, -0.246331761062075, 0.357208872795928)


def _bm4() -> Splitting:
    # 6 drifts, 7 kicks: the middle kick closes Σb = 1, the middle drift pair Σa = 1.
    a = list(_BM4_A) + [0.5 - sum(_BM4_A)]
    b = list(_BM4_B) + [1.0 - 2.0 * sum(_BM4_B)]
    return Splitting(4, tuple(float(x) for x in b + b[-2::-1]), tuple(float(x) for x in a + a[::-1]), None)


def _bm6() -> Splitting:
    # 11 drifts, 12 kicks: the middle drift closes Σa = 1, the middle kick pair Σb = 1.
    b = list(_BM6_B) + [0.5 - sum(_BM6_B)]
    a = list(_BM6_A) + [1.0 - 2.0 * sum(_BM6_A)]
    return Splitting(6, tuple(float(x) for x in b + b[::-1]), tuple(float(x) for x in a + a[-2::-1]), None)


class AbstractSplittingSolver(AbstractFixedStepSolver):
    """A fixed-step kick–drift splitting (module docstring). Concrete classes set the
    coefficient table ``splitting``.

    **Arguments:**

    - `dt`: the step [Myr] (its sign is taken from the direction of integration; the
      interval is divided into equal steps no longer than |dt|).
    - `midpoint_iterations`: fixed-point sweeps of the implicit-midpoint kick for
      velocity-dependent forces (default 2; unused without them).
    - `unroll`: ``lax.scan`` unroll of the step loop (default 1).

    Gradients: forward and reverse mode (the loop is a ``lax.scan``).
    """

    splitting: eqx.AbstractClassVar[Splitting]
    dt: float = eqx.field(static=True)
    midpoint_iterations: int = eqx.field(static=True, default=2)
    unroll: int = eqx.field(static=True, default=1)

    def __init__(self, dt, *, midpoint_iterations: int = 2, unroll: int = 1):
        self.dt = check_dt(type(self).__name__, dt)
        self.midpoint_iterations = check_int(midpoint_iterations, f"{type(self).__name__}: midpoint_iterations", lo=0)
        self.unroll = check_int(unroll, f"{type(self).__name__}: unroll", lo=1)

    def _orbit(self, term, x0, v0, t0, h, n_blocks, block, args):
        """One system: (xs, vs) after each of ``n_blocks`` blocks of ``block`` steps."""
        pos_term, vel_term = term.split()
        dtype = x0.dtype
        kicks = self.splitting.kicks
        drifts = self.splitting.drifts
        # Fraction of the step elapsed after each drift (for the force's time argument).
        elapsed = tuple(float(c) for c in np.cumsum(drifts))
        t0 = jnp.asarray(t0, dtype)
        h = jnp.asarray(h, dtype)
        n_iter = self.midpoint_iterations

        def pos_acc(t, x):
            if pos_term is None:
                return jnp.zeros_like(x)
            return pos_term.acceleration(t, x, None, args)

        def step(carry, i):
            x, v, g = carry
            base = t0 + i.astype(dtype) * h
            tk = base
            for k, b in enumerate(kicks):
                v = kick(v, b * h, g, vel_term, tk, x, args, n_iter)
                if k < len(drifts):
                    x = x + (drifts[k] * h) * v
                    tk = base + elapsed[k] * h
                    g = pos_acc(tk, x)
            return (x, v, g), None

        carry0 = (x0, v0, pos_acc(t0, x0))
        return scan_blocks(step, carry0, n_blocks, block, self.unroll, lambda c: (c[0], c[1]))

    def _run(self, term, x0, v0, t0, grid, targets, h, args, devices):
        return run_fixed(self, term, x0, v0, t0, grid, h, args, devices)


class Leapfrog(AbstractSplittingSolver):
    """Kick–drift–kick leapfrog (second order, symplectic, time-reversible)."""

    splitting: ClassVar[Splitting] = _composition(2, [1.0])


class Yoshida4(AbstractSplittingSolver):
    """Yoshida (1990) / Creutz & Gocksch (1989) triple-jump composition (fourth order)."""

    splitting: ClassVar[Splitting] = _composition(4, [_W1, _W0, _W1])


class Suzuki4(AbstractSplittingSolver):
    """Suzuki (1990) five-stage composition (fourth order; smaller error than Yoshida4)."""

    splitting: ClassVar[Splitting] = _composition(4, [_P4, _P4, 1.0 - 4.0 * _P4, _P4, _P4])


class Yoshida6(AbstractSplittingSolver):
    """Yoshida (1990) seven-stage composition, solution A (sixth order)."""

    splitting: ClassVar[Splitting] = _composition(6, _symmetric(_Y6, 1.0 - 2.0 * sum(_Y6)))


class KahanLi6(AbstractSplittingSolver):
    """Kahan & Li (1997) nine-stage composition s9odr6a (sixth order)."""

    splitting: ClassVar[Splitting] = _composition(6, _symmetric(_KL6, 1.0 - 2.0 * sum(_KL6)))


class BM4(AbstractSplittingSolver):
    """Blanes & Moan (2002) SRKN₆ᵇ Runge–Kutta–Nyström splitting (fourth order, 6 forces
    per step): the most accurate fourth-order scheme per force evaluation here."""

    splitting: ClassVar[Splitting] = _bm4()


class BM6(AbstractSplittingSolver):
    """Blanes & Moan (2002) SRKN₁₁ᵇ Runge–Kutta–Nyström splitting (sixth order, 11 forces
    per step)."""

    splitting: ClassVar[Splitting] = _bm6()


#: Every splitting solver by its ``method`` name.
SPLITTINGS: dict[str, type[AbstractSplittingSolver]] = {
    "leapfrog": Leapfrog,
    "yoshida4": Yoshida4,
    "suzuki4": Suzuki4,
    "yoshida6": Yoshida6,
    "kahan_li6": KahanLi6,
    "bm4": BM4,
    "bm6": BM6,
}
#: The compositions of leapfrogs (the bases of the adaptive composition), by name.
COMPOSITIONS: dict[str, type[AbstractSplittingSolver]] = {
    k: v for k, v in SPLITTINGS.items() if v.splitting.gammas is not None
}

for _name, _cls in SPLITTINGS.items():  # consistency of the tables (import-time, cheap)
    _s = _cls.splitting
    assert abs(sum(_s.kicks) - 1.0) < 1e-14 and abs(sum(_s.drifts) - 1.0) < 1e-14, _name
    assert len(_s.kicks) == len(_s.drifts) + 1
    assert np.allclose(_s.kicks, _s.kicks[::-1]) and np.allclose(_s.drifts, _s.drifts[::-1])
