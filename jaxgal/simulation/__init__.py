"""One MW–LMC simulation and suites of them (Brooks et al. §3; ``docs/simulation.md``).

- :func:`simulate` — ``simulate(theta, key, n_particles=20_000)``: the stellar halo today
  after 2.2 Gyr in the rigid MW + LMC with dynamical friction; :class:`SimulationModel`
  holds the model's fixed constants (differentiable leaves), :class:`SimulationConfig` the
  numerics and execution; :class:`SimulationResult` the particles, the two-body orbit and
  the derived quantities.
- The stages of a simulation, each a public function: :func:`build_models`,
  :func:`present_day_lmc`, :func:`lmc_orbit`, :func:`initial_halo`,
  :func:`tracer_tolerances`, :func:`evolve_tracers`, :func:`derived_quantities`.
- :func:`simulate_batch` — a batch split over the local devices.
- :func:`run_suite` / :func:`load_suite` — resumable suites of prior draws, stored in
  chunks that are each complete or absent, with the 52 summaries and derived quantities;
  :func:`observe_suite` re-observes a suite's stored stars through an observation model
  (observed summaries and reflex targets; :func:`default_observation_model`);
  ``manifest.json`` (:func:`update_manifest`, :func:`read_manifest`); :func:`run_chunk`,
  the unit of work, and :func:`run_suite_dask`, chunks as tasks on a Dask cluster.
- Table 1 parameters: :class:`Theta`, :data:`THETA_NAMES`, :data:`THETA_RANGES`,
  :data:`PRIOR`, :func:`sample_prior`, :func:`log_prior`, :data:`FIDUCIAL_THETA`.
"""

from ._config import TRACER_TOLERANCES, SimulationConfig, SimulationModel
from ._simulate import SimulationResult, simulate, simulate_batch
from ._stages import (
    MWLMCModels,
    build_models,
    derived_quantities,
    evolve_tracers,
    initial_halo,
    lmc_orbit,
    parked_stars,
    present_day_lmc,
    tracer_step_budgets,
    tracer_tolerances,
)
from ._observe_suite import default_observation_model, observation_identifiers, observe_suite
from ._dask import run_suite_dask
from ._manifest import read_manifest, update_manifest
from ._suite import load_suite, run_chunk, run_suite
from ._suite_gpu import CPU_CHUNK, batch_per_device, device_memory_bytes, plan_batches, simulation_bytes
from ._theta import (
    FIDUCIAL_LMC_ICRS,
    FIDUCIAL_THETA,
    PRIOR,
    THETA_NAMES,
    THETA_RANGES,
    Theta,
    as_theta,
    check_theta,
    log_prior,
    sample_prior,
)

__all__ = [
    "CPU_CHUNK",
    "batch_per_device",
    "device_memory_bytes",
    "plan_batches",
    "simulation_bytes",
    "FIDUCIAL_LMC_ICRS",
    "FIDUCIAL_THETA",
    "MWLMCModels",
    "PRIOR",
    "SimulationConfig",
    "SimulationModel",
    "SimulationResult",
    "THETA_NAMES",
    "THETA_RANGES",
    "TRACER_TOLERANCES",
    "Theta",
    "as_theta",
    "build_models",
    "check_theta",
    "default_observation_model",
    "derived_quantities",
    "evolve_tracers",
    "initial_halo",
    "lmc_orbit",
    "load_suite",
    "log_prior",
    "observation_identifiers",
    "observe_suite",
    "parked_stars",
    "present_day_lmc",
    "read_manifest",
    "run_chunk",
    "run_suite",
    "run_suite_dask",
    "sample_prior",
    "simulate",
    "simulate_batch",
    "tracer_step_budgets",
    "tracer_tolerances",
    "update_manifest",
]
