"""Careless input to jaxgal.integrators: each case raises an error naming the argument within
a second; an orbit that turns into NaN ends instead of hanging."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgal as jg

I = jg.integrators
PLUMMER = jg.potentials.Plummer(1e11, 1.0)
W = np.array([3.0, 0.5, 0.3, 20.0, 120.0, 15.0])


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(t1=2.2e9), ValueError, "steps"),  # a time in years
        (dict(t1=2200.0, dt=1e-6), ValueError, "steps"),
        (dict(t1=np.nan), ValueError, "t1"),
        (dict(t1="2200"), TypeError, "t1"),
        (dict(t0=[0.0, 1.0]), ValueError, "t0"),
        (dict(dt=0.0), ValueError, "dt"),
        (dict(dt=-1.0), ValueError, "dt"),
        (dict(save_every=0), ValueError, "save_every"),
        (dict(save_every=2.5), ValueError, "save_every"),
        (dict(save_every="10"), TypeError, "save_every"),
        (dict(method="rk45"), ValueError, "method"),
        (dict(w0=np.zeros((4, 5))), ValueError, "w0"),
        (dict(w0=np.array([1.0, np.nan, 0, 0, 0, 0])), ValueError, "w0"),
        (dict(w0=[np.zeros(3), np.ones(3)]), ValueError, "tuple"),  # a list of two 3-vectors is ambiguous
        (dict(w0=(np.zeros((2, 3)), np.ones((3, 3)))), ValueError, "w0"),
        (dict(w0=[["1", "2", "3", "4", "5", "6"]]), TypeError, "w0"),
        (dict(dt=None), TypeError, "dt"),
        (dict(dt=1.0, solver=I.Leapfrog(1.0)), TypeError, "dt"),
        (dict(dt=None, solver="leapfrog"), TypeError, "solver"),
        (dict(pot="milky_way"), TypeError, "potential"),
        (dict(dtype=jnp.int32), ValueError, "dtype"),
    ],
)
def test_bad_call_raises_a_named_error(raises_quickly, kwargs, err, match):
    call = dict(pot=PLUMMER, w0=W, t0=0.0, t1=10.0, dt=1.0)
    call.update(kwargs)
    raises_quickly(err, lambda: I.integrate_orbits(**call), match=match)


@pytest.mark.parametrize(
    "make, err, match",
    [
        (lambda: I.Leapfrog(0.0), ValueError, "dt"),
        (lambda: I.BM4(np.inf), ValueError, "dt"),
        (lambda: I.Leapfrog(1.0, midpoint_iterations=-1), ValueError, "midpoint_iterations"),
        (lambda: I.RK4("1 Myr"), TypeError, "dt"),
        (lambda: I.ErrorControlledRK("rk45"), ValueError, "tableau"),
        (lambda: I.ErrorControlledRK(rtol=-1e-7), ValueError, "rtol"),
        (lambda: I.ErrorControlledRK(rtol=np.ones((2, 2))), ValueError, "rtol"),
        (lambda: I.ErrorControlledRK(safety=1.5), ValueError, "safety"),
        (lambda: I.ErrorControlledRK(lanes=0), ValueError, "lanes"),
        (lambda: I.AdaptiveComposition("bm4"), ValueError, "composition"),
        (lambda: I.AdaptiveComposition(eta=0.0), ValueError, "eta"),
        (lambda: I.AdaptiveComposition(dt_max=-5.0), ValueError, "dt_max"),
        (lambda: I.Diffrax("euler"), ValueError, "solver"),
        (lambda: I.Diffrax("dopri8", controller=1e-8), TypeError, "controller"),
        (lambda: I.ConstantAcceleration([1.0, 2.0]), ValueError, "shape"),
        (lambda: I.SumOfTerms(()), ValueError, "term"),
    ],
)
def test_bad_solver_options_raise(raises_quickly, make, err, match):
    raises_quickly(err, make, match=match)


def test_adaptive_composition_needs_a_potential(raises_quickly):
    term = I.ConstantAcceleration([1.0, 0.0, 0.0])
    raises_quickly(TypeError, lambda: I.integrate_orbits(term, W, 0.0, 10.0, solver=I.AdaptiveComposition()), match="potential")


def test_per_orbit_rtol_must_match_the_orbits(raises_quickly):
    w0 = np.stack([W, W, W])
    solver = I.ErrorControlledRK(rtol=np.array([1e-7, 1e-8]))
    raises_quickly(ValueError, lambda: I.integrate_orbits(PLUMMER, w0, 0.0, 10.0, solver=solver), match="one value per orbit", limit=10.0)


def test_nan_orbit_ends_instead_of_hanging():
    """A NaN mass (traced, so no constructor can see it) makes every force NaN: the
    error-controlled solver would shrink its step forever; the lanes retire such orbits, so
    the call returns NaN (within the 60 s alarm, not after 5·10⁷ iterations)."""
    import signal

    def handler(signum, frame):
        raise TimeoutError("integration with NaN forces did not end")

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(60)
    try:
        out = jax.jit(lambda m: I.integrate_orbits(jg.potentials.Plummer(m, 1.0), W, 0.0, 100.0, solver=I.ErrorControlledRK(lanes=1)).w)(jnp.nan)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert np.all(np.isnan(np.asarray(out)))
