"""Coefficient tables of the fixed-step symplectic schemes.

Every scheme is a kick–drift–…–drift–kick sequence for H = T(v) + Φ(x):

    v += b₀ h a(x);  x += a₁ h v;  v += b₁ h a(x);  …;  x += a_s h v;  v += b_s h a(x),

with Σ aᵢ = Σ bᵢ = 1. The last kick of one step and the first kick of the next act at the
same position, so the force there is computed once (first same as last, FSAL): a scheme
with s drifts costs s force evaluations per step.

Two families:

- **compositions** of the kick–drift–kick leapfrog with sub-steps γ₁h, …, γ_m h (Yoshida
  1990, Phys. Lett. A 150, 262; Suzuki 1990; Kahan & Li 1997, Math. Comp. 66, 1089):
  drifts γᵢ and kicks (γᵢ + γᵢ₊₁)/2. Symmetric, valid for any splitting, and usable as
  the base of the per-orbit adaptive integrator (``_adaptive.py``), which composes a
  time-symmetric adaptive leapfrog with the same γ.
- **Runge–Kutta–Nyström splittings** optimised for H = T(v) + Φ(x) (Blanes & Moan 2002,
  J. Comput. Appl. Math. 142, 313, Table 3: SRKN₆ᵇ of order 4 and SRKN₁₁ᵇ of order 6),
  which use that the kick does not depend on v: far smaller error constants per force
  evaluation than the compositions, but only with the plain (fixed-step, position-only
  force) integrator.

The orders are checked in the tests from the energy error at two step sizes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Scheme", "SCHEMES", "get_scheme"]


@dataclasses.dataclass(frozen=True)
class Scheme:
    """A symmetric kick–drift splitting scheme (hashable, static under jit).

    - `name`, `order`.
    - `kicks`: (s + 1,) kick coefficients b₀…b_s; `drifts`: (s,) drift coefficients.
    - `gammas`: the leapfrog sub-steps when the scheme is a composition of leapfrogs
      (``None`` for the Runge–Kutta–Nyström splittings).
    """

    name: str
    order: int
    kicks: tuple[float, ...]
    drifts: tuple[float, ...]
    gammas: tuple[float, ...] | None

    @property
    def n_force(self) -> int:
        """Force evaluations per step (FSAL)."""
        return len(self.drifts)


def _composition(name: str, order: int, gammas) -> Scheme:
    g = [float(x) for x in gammas]
    kicks = [g[0] / 2] + [(g[i] + g[i + 1]) / 2 for i in range(len(g) - 1)] + [g[-1] / 2]
    return Scheme(name, order, tuple(kicks), tuple(g), tuple(g))


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


def _bm(b_half, a_half, order, name) -> Scheme:
    # Odd number of drifts (BM4: 6 drifts, 7 kicks); the middle kick/drift closes the sums.
    if name == "bm4":
        a = list(a_half) + [0.5 - sum(a_half)]
        b = list(b_half) + [1.0 - 2.0 * sum(b_half)]
        kicks = b + b[-2::-1]
        drifts = a + a[::-1]
    else:
        b = list(b_half) + [0.5 - sum(b_half)]
        a = list(a_half) + [1.0 - 2.0 * sum(a_half)]
        kicks = b + b[::-1]
        drifts = a + a[-2::-1]
    return Scheme(name, order, tuple(float(x) for x in kicks), tuple(float(x) for x in drifts), None)


SCHEMES: dict[str, Scheme] = {
    "leapfrog": _composition("leapfrog", 2, [1.0]),
    "yoshida4": _composition("yoshida4", 4, [_W1, _W0, _W1]),
    "suzuki4": _composition("suzuki4", 4, [_P4, _P4, 1.0 - 4.0 * _P4, _P4, _P4]),
    "yoshida6": _composition("yoshida6", 6, _symmetric(_Y6, 1.0 - 2.0 * sum(_Y6))),
    "kahan_li6": _composition("kahan_li6", 6, _symmetric(_KL6, 1.0 - 2.0 * sum(_KL6))),
    "bm4": _bm(_BM4_B, _BM4_A, 4, "bm4"),
    "bm6": _bm(_BM6_B, _BM6_A, 6, "bm6"),
}

for _s in SCHEMES.values():  # consistency of the tables (import-time, cheap)
    assert abs(sum(_s.kicks) - 1.0) < 1e-14 and abs(sum(_s.drifts) - 1.0) < 1e-14, _s.name
    assert len(_s.kicks) == len(_s.drifts) + 1
    assert np.allclose(_s.kicks, _s.kicks[::-1]) and np.allclose(_s.drifts, _s.drifts[::-1])


def get_scheme(name: str) -> Scheme:
    """The scheme called ``name`` (one of :data:`SCHEMES`), or a ``ValueError`` listing them."""
    try:
        return SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown symplectic scheme {name!r}; choose one of {sorted(SCHEMES)}") from None
