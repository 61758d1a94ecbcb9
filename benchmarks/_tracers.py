"""The tracer stage's inputs at the fiducial θ, shared by ``step_cost.py`` and
``kernel_profile.py`` (import after JAX's host devices are set)."""

from __future__ import annotations

from types import SimpleNamespace

import jax

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
