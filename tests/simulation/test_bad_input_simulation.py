"""Careless input to jaxgal.simulation and the command line: each case raises an error
naming the argument within a second (a mass in the log10 field used to hang inside jit)."""

import jax
import numpy as np
import pytest

import jaxgal as jg

S = jg.simulation
KEY = jax.random.PRNGKey(0)


def _theta(**changes):
    return dict(S.FIDUCIAL_THETA, **changes)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: S.simulate(_theta(log10_m200=1e12), KEY, 100), ValueError, "log10_m200"),
        (lambda: S.simulate(_theta(log10_lambda_df=50.0), KEY, 100), ValueError, "log10_lambda_df"),
        (lambda: S.simulate(_theta(m_lmc=-1.5e11), KEY, 100), ValueError, "m_lmc"),
        (lambda: S.simulate(_theta(dec_lmc=-100.0), KEY, 100), ValueError, "dec_lmc"),
        (lambda: S.simulate(_theta(d_lmc=-50.0), KEY, 100), ValueError, "d_lmc"),
        (lambda: S.simulate(_theta(beta0=1.0), KEY, 100), ValueError, "beta0"),
        (lambda: S.simulate(_theta(gamma=np.nan), KEY, 100), ValueError, "gamma"),
        (lambda: S.simulate(_theta(r_dens="15 kpc"), KEY, 100), TypeError, "r_dens"),
        (lambda: S.simulate(S.FIDUCIAL_THETA, KEY, 0), ValueError, "n_particles"),
        (lambda: S.simulate(S.FIDUCIAL_THETA, KEY, 2.5), ValueError, "n_particles"),
        (lambda: S.simulate(S.FIDUCIAL_THETA, KEY, 100, config={"tracer_method": "leapfrog"}), TypeError, "config"),
        (lambda: S.simulate(S.FIDUCIAL_THETA, KEY, 100, model=120.0), TypeError, "model"),
        (lambda: S.simulate(np.tile(S.as_theta(S.FIDUCIAL_THETA).to_array(), (2, 1)), KEY, 100), ValueError, "simulate_batch"),
        (lambda: S.simulate_batch(np.tile(S.as_theta(S.FIDUCIAL_THETA).to_array(), (3, 1)), jax.random.split(KEY, 2), 10), ValueError, "key"),
        (lambda: S.SimulationConfig(tracer_method="euler"), ValueError, "tracer_method"),
        (lambda: S.SimulationConfig(orbit_method="rk45"), ValueError, "orbit_method"),
        (lambda: S.SimulationConfig(orbit_dt=0.0), ValueError, "orbit_dt"),
        (lambda: S.SimulationConfig(df_n_grid=4), ValueError, "df_n_grid"),
        (lambda: S.SimulationConfig(park_radius=-1.0), ValueError, "park_radius"),
        (lambda: S.SimulationConfig(park_max_steps=0), ValueError, "park_max_steps"),
        (lambda: S.SimulationConfig(park_rtol=0.0), ValueError, "park_rtol"),
        (lambda: S.SimulationConfig(lane_shrink=0), ValueError, "lane_shrink"),
        (lambda: S.SimulationModel(sigma_df=-120.0), ValueError, "sigma_df"),
        (lambda: S.SimulationModel(t_infall=2.2e9), ValueError, "t_infall"),
        (lambda: S.SimulationModel(frame="astropy"), TypeError, "frame"),
    ],
)
def test_bad_input_raises_a_named_error(raises_quickly, call, err, match):
    raises_quickly(err, call, match=match)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [(dict(n_sims=0), ValueError, "n_sims"), (dict(n_sims=4, chunk_size=0), ValueError, "chunk_size"),
     (dict(n_sims=4, seed=-1), ValueError, "seed"), (dict(n_sims=4, n_particles=1.5), ValueError, "n_particles")],
)
def test_bad_suite_arguments_raise(raises_quickly, tmp_path, kwargs, err, match):
    kw = dict(seed=0)
    kw.update(kwargs)
    raises_quickly(err, lambda: S.run_suite(str(tmp_path / "s"), progress=False, **kw), match=match)


def test_host_device_count_is_checked(raises_quickly):
    from jaxgal._hostdevices import set_host_device_count

    raises_quickly(ValueError, lambda: set_host_device_count(0), match="device count")
    raises_quickly(TypeError, lambda: set_host_device_count("2"), match="device count")
    # JAX is running in this process: the count can no longer change
    raises_quickly(RuntimeError, lambda: set_host_device_count(2), match="before JAX")
