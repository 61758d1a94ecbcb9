"""Careless input to jaxgal.frames: latitudes beyond ±90° and negative distances are refused
as astropy refuses them, text and wrong shapes raise errors naming the argument, each
within a second."""

import numpy as np
import pytest

import jaxgal as jg

F = jg.frames


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: F.galactic_to_galactocentric(10.0, 120.0, 5.0, 0.0, 0.0, 0.0), ValueError, "b"),
        (lambda: F.galactic_to_galactocentric(10.0, 20.0, -5.0, 0.0, 0.0, 0.0), ValueError, "distance"),
        (lambda: F.icrs_to_galactocentric(10.0, -91.0, 5.0, 0.0, 0.0, 0.0), ValueError, "dec"),
        (lambda: F.icrs_to_galactic(10.0, 20.0, [1.0, -2.0], 0.0, 0.0, 0.0), ValueError, "distance"),
        (lambda: F.gd1_to_galactocentric(-30.0, 95.0, 8.0, 0.0, 0.0, 0.0), ValueError, "phi2"),
        (lambda: F.icrs_to_gd1(10.0, 100.0, 0.0, 0.0), ValueError, "dec"),
        (lambda: F.v_los_to_v_gsr(10.0, -90.5, 100.0), ValueError, "b"),
        (lambda: F.galactic_to_galactocentric("ten", 20.0, 5.0, 0.0, 0.0, 0.0), TypeError, "l"),
        (lambda: F.galactocentric_to_galactic(np.zeros((3, 5))), ValueError, "shape"),
        (lambda: F.v_gsr(np.zeros(6), frame="astropy"), TypeError, "GalactocentricFrame"),
        (lambda: F.GalactocentricFrame(galcen_distance=np.nan), ValueError, "galcen_distance"),
        (lambda: F.GalactocentricFrame(galcen_dec=100.0), ValueError, "galcen_dec"),
        (lambda: F.GalactocentricFrame(galcen_v_sun=(1.0, np.inf, 3.0)), ValueError, "galcen_v_sun"),
    ],
)
def test_bad_input_raises_a_named_error(raises_quickly, call, err, match):
    raises_quickly(err, call, match=match)


def test_missing_values_still_propagate():
    """NaN (a missing radial velocity, say) is not bad input: it propagates to the velocity
    components and nowhere else, as before."""
    w = np.asarray(F.gd1_to_galactocentric(-30.0, 0.0, 8.0, -10.0, -2.0, np.nan))
    assert np.all(np.isfinite(w[:3])) and np.all(np.isnan(w[3:]))
