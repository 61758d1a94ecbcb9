"""From particles or stars to observables (SPEC §B, §C).

- ``_catalogue``: :class:`Catalogue` (observed stars and their errors), :func:`read_catalogue`,
  :func:`write_catalogue`, :func:`make_catalogue`, :func:`catalogue_from_table`;
- ``_summaries``: the 52 binned summaries, :func:`summaries`, :func:`summary_names`,
  :class:`SummaryConfig` (bins, quadrants, 3σ clipping), :func:`sigma_clipped_stats`;
- ``_noise``: :func:`bootstrap_summaries` and the noise model :func:`add_noise`;
- ``_mocks``: :class:`ErrorModel`, :func:`mock_catalogue`, :func:`selection_matched_mock`;
- ``_default``: the embedded **mock** default observation, :func:`default_observation`;
- ``_reflex``: the reflex-motion fit :func:`fit_reflex` (9- and 18-parameter models),
  :func:`reflex_nll`, :class:`ReflexFit`.

Units at the boundary: deg, kpc, km/s, mas/yr; everything numerical is pure JAX.
"""

from ._catalogue import (
    CATALOGUE_COLUMNS,
    Catalogue,
    catalogue_from_table,
    catalogue_to_table,
    make_catalogue,
    read_catalogue,
    write_catalogue,
)
from ._default import DefaultObservation, default_observation
from ._mocks import (
    ErrorModel,
    apply_errors,
    catalogue_from_particles,
    gaia_pm_error,
    mock_catalogue,
    selection_matched_mock,
)
from ._noise import BootstrapSummaries, add_noise, bootstrap_summaries
from ._reflex import PARAM_NAMES, ReflexAtRadius, ReflexFit, fit_reflex, reflex_at, reflex_nll
from ._summaries import (
    PAPER_QUADRANTS,
    Summaries,
    SummaryConfig,
    equal_bins,
    sigma_clipped_stats,
    star_velocities,
    summaries,
    summary_names,
)

__all__ = [
    "BootstrapSummaries",
    "CATALOGUE_COLUMNS",
    "Catalogue",
    "DefaultObservation",
    "ErrorModel",
    "PAPER_QUADRANTS",
    "PARAM_NAMES",
    "ReflexAtRadius",
    "ReflexFit",
    "Summaries",
    "SummaryConfig",
    "add_noise",
    "apply_errors",
    "bootstrap_summaries",
    "catalogue_from_particles",
    "catalogue_from_table",
    "catalogue_to_table",
    "default_observation",
    "equal_bins",
    "fit_reflex",
    "gaia_pm_error",
    "make_catalogue",
    "mock_catalogue",
    "read_catalogue",
    "reflex_at",
    "reflex_nll",
    "selection_matched_mock",
    "sigma_clipped_stats",
    "star_velocities",
    "summaries",
    "summary_names",
    "write_catalogue",
]
