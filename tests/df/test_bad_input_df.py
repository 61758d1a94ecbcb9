"""Careless input to jaxgal.df: each case raises an error naming the argument within a second."""

import jax
import numpy as np
import pytest

import jaxgal as jg

D = jg.df


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: D.DoublePowerLaw(-15.0), ValueError, "r_s"),
        (lambda: D.DoublePowerLaw(15.0, alpha=0.0), ValueError, "alpha"),
        (lambda: D.DoublePowerLaw("far"), TypeError, "r_s"),
        (lambda: D.stellar_halo_density(15.0, np.nan), ValueError, "outer"),
        (lambda: D.hernquist_density(-1e11, 5.0), ValueError, "mass"),
        (lambda: D.ConstantBetaDF.build(jg.potentials.Hernquist(1e11, 5.0), D.hernquist_density(1e11, 5.0), 1.0), ValueError, "beta"),
        (lambda: D.jeans_dispersions(10.0, jg.potentials.Hernquist(1e11, 5.0), D.hernquist_density(1e11, 5.0), 1.2), ValueError, "beta"),
    ],
)
def test_bad_input_raises_a_named_error(raises_quickly, call, err, match):
    raises_quickly(err, call, match=match)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (dict(n=0), ValueError, "n"),
        (dict(n=2.5), ValueError, "n"),
        (dict(n="many"), TypeError, "n"),
        (dict(n=10, r_max_sample=-5.0), ValueError, "r_max_sample"),
        (dict(n=10, n_speed=1), ValueError, "n_speed"),
    ],
)
def test_bad_sample_arguments_raise(raises_quickly, kwargs, err, match):
    """The arguments are checked before the DF is touched (so no DF needs to be built here:
    a stand-in object shows that nothing else is looked at first)."""
    n = kwargs.pop("n")
    raises_quickly(err, lambda: D.sample_df(object(), jax.random.PRNGKey(0), n, **kwargs), match=match)
