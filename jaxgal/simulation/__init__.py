"""One MW–LMC simulation and batches of them (Brooks et al.; SPEC §A).

- :func:`simulate` — ``simulate(theta, key, n_particles=20_000)``: the stellar halo today
  after 2.2 Gyr in the rigid MW + LMC with dynamical friction; :class:`SimulationConfig`
  holds every step, grid and tolerance; :class:`SimulationResult` the particles, the
  two-body orbit and the derived quantities.
- :func:`simulate_batch` — a vmapped batch split over the local devices.
- :func:`run_suite` / :func:`load_suite` — resumable suites of prior draws, stored in
  chunks that are each complete or absent, with the 52 summaries and derived quantities.
- Table 1 parameters: :class:`Theta`, :data:`THETA_NAMES`, :data:`PRIOR`,
  :func:`sample_prior`, :func:`log_prior`, :data:`FIDUCIAL_THETA`.
"""

from ._simulate import SimulationConfig, SimulationResult, simulate, simulate_batch
from ._suite import load_suite, run_suite
from ._theta import (
    FIDUCIAL_LMC_ICRS,
    FIDUCIAL_THETA,
    PRIOR,
    THETA_NAMES,
    Theta,
    as_theta,
    check_theta,
    log_prior,
    sample_prior,
)

__all__ = [
    "FIDUCIAL_LMC_ICRS",
    "FIDUCIAL_THETA",
    "PRIOR",
    "SimulationConfig",
    "SimulationResult",
    "THETA_NAMES",
    "Theta",
    "as_theta",
    "check_theta",
    "load_suite",
    "log_prior",
    "run_suite",
    "sample_prior",
    "simulate",
    "simulate_batch",
]
