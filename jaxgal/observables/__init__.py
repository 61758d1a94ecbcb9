"""From particles or stars to observables (Brooks et al. §2.2, §3.2, §6.3; docs/observables.md).

- ``_catalogue``: :class:`Catalogue` (observed stars and their errors), :func:`read_catalogue`,
  :func:`write_catalogue`, :func:`make_catalogue`, :func:`catalogue_from_table`;
- ``_summaries``: the 52 binned summaries, :func:`summaries`, :func:`summary_names`,
  :class:`SummaryConfig` (bins, quadrants, 3σ clipping), :func:`sigma_clipped_stats`;
- ``_noise``: :func:`bootstrap_summaries`, the noise models :func:`add_noise` (the paper's) and
  :func:`add_finite_sample_noise` / :func:`finite_sample_sigma` (for observed-like stars);
- ``_mocks``: :class:`ErrorModel`, :func:`mock_catalogue`, :func:`selection_matched_mock`;
- ``_observe``: observation models (:class:`CatalogueErrorModel` from a catalogue's errors,
  :class:`ErrorModel`), :func:`observe`, :func:`observed_summaries`, :class:`QualityCuts`,
  :func:`load_observation_model`;
- ``_default``: the embedded **mock** default observation, :func:`default_observation`;
- ``_reflex``: the reflex-motion fit :func:`fit_reflex` (9- and 18-parameter models),
  :func:`reflex_nll`, :class:`ReflexFit`;
- ``_jeans``: equilibrium (pre-infall) Jeans dispersions of the summary bins
  (:class:`JeansGeometry`, :func:`jeans_summary_dispersions`) and the maximum-likelihood MW
  mass from dispersions (:func:`jeans_mass_mle`);
- ``_targets``: :func:`reflex_targets`, the per-simulation linear reflex fit of observed-like
  stars at 40–120 kpc (the inference targets).

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
from ._jeans import (
    JeansGeometry,
    JeansMassFit,
    clipped_mixture_dispersion,
    jeans_mass_mle,
    jeans_summary_dispersions,
)
from ._mocks import (
    ErrorModel,
    apply_errors,
    catalogue_from_particles,
    gaia_pm_error,
    mock_catalogue,
    selection_matched_mock,
)
from ._observe import (
    AbstractObservationModel,
    CatalogueErrorModel,
    ObservedStars,
    QualityCuts,
    StarErrors,
    observe,
    observed_summaries,
)
from ._observation_io import load_observation_model
from ._noise import (
    BootstrapSummaries,
    add_finite_sample_noise,
    add_noise,
    bootstrap_summaries,
    finite_sample_sigma,
)
from ._reflex import PARAM_NAMES, ReflexAtRadius, ReflexFit, fit_reflex, reflex_at, reflex_nll
from ._targets import ReflexTargets, reflex_target_names, reflex_targets
from ._summaries import (
    PAPER_QUADRANTS,
    Summaries,
    SummaryConfig,
    equal_bins,
    sigma_clipped_stats,
    star_velocities,
    summaries,
    summary_names,
    poisson_deviation,
)

__all__ = [
    "AbstractObservationModel",
    "CatalogueErrorModel",
    "ObservedStars",
    "QualityCuts",
    "StarErrors",
    "load_observation_model",
    "observe",
    "observed_summaries",
    "BootstrapSummaries",
    "CATALOGUE_COLUMNS",
    "Catalogue",
    "DefaultObservation",
    "ErrorModel",
    "JeansGeometry",
    "JeansMassFit",
    "PAPER_QUADRANTS",
    "PARAM_NAMES",
    "ReflexAtRadius",
    "ReflexFit",
    "ReflexTargets",
    "Summaries",
    "SummaryConfig",
    "add_finite_sample_noise",
    "add_noise",
    "finite_sample_sigma",
    "apply_errors",
    "bootstrap_summaries",
    "catalogue_from_particles",
    "catalogue_from_table",
    "catalogue_to_table",
    "clipped_mixture_dispersion",
    "default_observation",
    "equal_bins",
    "fit_reflex",
    "gaia_pm_error",
    "jeans_mass_mle",
    "jeans_summary_dispersions",
    "make_catalogue",
    "mock_catalogue",
    "read_catalogue",
    "reflex_at",
    "reflex_nll",
    "reflex_target_names",
    "reflex_targets",
    "selection_matched_mock",
    "sigma_clipped_stats",
    "star_velocities",
    "summaries",
    "summary_names",
    "poisson_deviation",
    "write_catalogue",
]
