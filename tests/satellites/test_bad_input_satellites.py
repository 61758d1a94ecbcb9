"""Careless input to jaxgal.satellites: each case raises an error naming the argument within a second."""

import numpy as np
import pytest

import jaxgal as jg

SA = jg.satellites
MW = jg.potentials.NFW(1e12, 20.0)
LMC = jg.potentials.Hernquist(1.5e11, 10.0)
W_LMC = np.array([-0.6, -41.3, -27.1, -63.9, -213.8, 206.6])


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: SA.integrate_two_body(MW, LMC, W_LMC[:5]), ValueError, "w_sat"),
        (lambda: SA.integrate_two_body(MW, LMC, W_LMC, -2200.0, 0.0), ValueError, "dt"),
        (lambda: SA.integrate_two_body(MW, LMC, W_LMC, -2200.0, -1.0), ValueError, "dt"),
        (lambda: SA.integrate_two_body(MW, LMC, W_LMC, 0.0), ValueError, "t1"),
        (lambda: SA.integrate_two_body(MW, LMC, W_LMC, -2.2e9), ValueError, "steps"),
        (lambda: SA.integrate_two_body(MW, LMC, W_LMC, np.nan), ValueError, "t1"),
        (lambda: SA.integrate_two_body("MW", LMC, W_LMC), TypeError, "potentials"),
        (lambda: SA.integrate_two_body(MW, LMC, W_LMC, friction=0.1), TypeError, "friction"),
        (lambda: SA.integrate_two_body(MW, LMC, W_LMC, solver="rk4"), TypeError, "solver"),
        (lambda: SA.ChandrasekharFriction(MW, -1e11, 2.0), ValueError, "mass"),
        (lambda: SA.ChandrasekharFriction(MW, 1e11, 2.0, sigma=0.0), ValueError, "sigma"),
        (lambda: SA.ChandrasekharFriction(MW, 1e11, 2.0, r_floor=0.0), ValueError, "r_floor"),
        (lambda: SA.ChandrasekharFriction("MW", 1e11, 2.0), TypeError, "host"),
        (lambda: SA.coulomb_logarithm(-5.0), ValueError, "a_sat"),
    ],
)
def test_bad_input_raises_a_named_error(raises_quickly, call, err, match):
    raises_quickly(err, call, match=match)
