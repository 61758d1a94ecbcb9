"""Shared benchmark inputs (import after JAX's host devices are set): the tracer stage's
inputs at the fiducial θ (``step_cost.py``, ``kernel_profile.py``) and the halo orbits of
``orbits.py`` (also ``ab.py``, ``kernel_profile.py --orbits``)."""

from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

from jaxgal import simulation as S


def fiducial_tracers(n: int, config: S.SimulationConfig, seed: int = 1) -> SimpleNamespace:
    """The models, LMC orbit, ``n`` stars from the DF at −t_infall (key ``seed``), their
    tolerances and step budgets under ``config``, at ``FIDUCIAL_THETA``: the arguments of
    ``simulation.evolve_tracers`` as ``simulate`` makes them."""
    model = S.SimulationModel()
    th = S.as_theta(S.FIDUCIAL_THETA)
    models = S.build_models(th)
    orbit, _ = S.lmc_orbit(models, th, S.present_day_lmc(th, model), model, config)
    df, w0 = S.initial_halo(models.mw, th, jax.random.PRNGKey(seed), n, model, config)
    return SimpleNamespace(
        model=model, models=models, orbit=orbit, w0=w0,
        rtol=S.tracer_tolerances(df, w0, config), budgets=S.tracer_step_budgets(df, w0, config),
    )


def halo_orbits(pot, n: int, seed: int) -> np.ndarray:
    """(n, 6) [kpc, km/s]: r log-uniform in 5–200 kpc, isotropic x and v directions,
    |v| = f·v_esc(x) in ``pot`` with f ~ U(0.2, 0.8) (``orbits.py``'s orbits)."""
    rng = np.random.default_rng(seed)
    r = np.exp(rng.uniform(np.log(5.0), np.log(200.0), n))
    d = rng.normal(size=(n, 3))
    x = r[:, None] * d / np.linalg.norm(d, axis=1, keepdims=True)
    v_esc = np.sqrt(-2.0 * np.asarray(pot.potential(jnp.asarray(x))))
    f = rng.uniform(0.2, 0.8, n)
    dv = rng.normal(size=(n, 3))
    v = (f * v_esc)[:, None] * dv / np.linalg.norm(dv, axis=1, keepdims=True)
    return np.concatenate([x, v], axis=1)
