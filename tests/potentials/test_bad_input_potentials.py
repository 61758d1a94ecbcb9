"""Careless input to jaxgal.potentials: each case raises an error naming the argument within
a second (``raises_quickly`` in conftest.py also stops a hang after 10 s)."""

import numpy as np
import pytest

import jaxgal as jg

P = jg.potentials


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: P.Hernquist(1e11, 2.0).mass_enclosed(-1.0), ValueError, "r"),
        (lambda: P.Hernquist(1e11, 2.0).mass_enclosed(np.nan), ValueError, "r"),
        (lambda: P.Hernquist(1e11, 2.0).circular_velocity(-8.0), ValueError, "r"),
        (lambda: P.NFW(1e12, 20.0).potential(np.ones((4, 2))), ValueError, "shape"),
        (lambda: P.NFW(1e12, 20.0).potential(["a", "b", "c"]), TypeError, "x"),
        (lambda: P.NFW(1e12, 20.0).potential(np.ones(3), t=np.nan), ValueError, "t"),
        (lambda: P.NFW(1e12, 20.0).acceleration(np.ones((2, 3)), t="now"), TypeError, "t"),
        (lambda: P.Hernquist("heavy", 1.0), TypeError, "mass"),
        (lambda: P.Plummer(1e10, np.inf), ValueError, "r_s"),
        (lambda: P.NFW.from_m200_c200(1e12, np.nan), ValueError, "c200"),
        (lambda: P.MiyamotoNagai(1e10, 3.0, 0.0), ValueError, "b"),
        (lambda: P.milky_way(-1e12), ValueError, "m200"),
        (lambda: P.milky_way(1e12, c200=-4.0), ValueError, "c200"),
        (lambda: P.lmc(0.0), ValueError, "m_lmc"),
        (lambda: P.CompositePotential((P.NFW(1e12, 20.0), "disc")), TypeError, "potentials"),
        (lambda: P.TriaxialNFW(1e12, 20.0, n_nodes=1), ValueError, "n_nodes"),
    ],
)
def test_bad_input_raises_a_named_error(raises_quickly, call, err, match):
    raises_quickly(err, call, match=match)


def test_milky_way_warns_when_c200_is_clipped():
    """milky_way(12.0) — a log10 mass in the mass argument — has no c200 in [1, 60] with
    v_c(R☉) = 235 km/s: it warns (naming m200 and the clipped value) instead of silently
    returning a clipped halo; the flag of solve_c200 says the same."""
    with pytest.warns(UserWarning, match="m200"):
        P.milky_way(12.0)
    _, clipped = P.solve_c200(12.0)
    assert bool(clipped)
