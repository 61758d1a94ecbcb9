"""Learning and checking posteriors (Brooks et al. §4–5 and appendix A; docs/inference.md).

- ``_npe``: neural posterior estimation with ensembles of conditional masked autoregressive
  flows (flowjax): :func:`train_npe`, :class:`NPEConfig`, :class:`NPEEstimator`
  (``.sample``, ``.log_prob``, ``.save``), :func:`load_npe`;
- ``_posterior``: :func:`posterior` (catalogue → summaries → draws),
  :func:`posterior_from_summaries`, :data:`DEFAULT_CONDITIONS`;
- ``_diagnostics``: TARP coverage (:func:`tarp_coverage`, :func:`run_tarp`) and SBC
  (:func:`sbc_ranks`, :func:`sbc_test`, :func:`run_sbc`);
- ``_ppc``: posterior predictive checks (:func:`posterior_predictive`) and
  :func:`retrain_without` for the flagged ("spurious") inputs;
- ``_results``: the result figures (posterior table, enclosed-mass profiles, reflex motion
  against radius, observed versus simulated summaries);
- ``_c2st``: the classifier two-sample test :func:`c2st`;
- ``_plots``: corner, TARP, SBC and predictive-check figures;
- ``_errors``: the named errors; ``cli``: the ``jaxgal train|infer|diagnose|plot`` commands.
"""

from ._c2st import c2st
from ._diagnostics import (
    SBCResult,
    TarpResult,
    posterior_draws,
    run_sbc,
    run_tarp,
    sbc_ranks,
    sbc_test,
    tarp_coverage,
)
from ._errors import (
    CatalogueColumnsError,
    EstimatorFileError,
    EstimatorVersionError,
    InputMismatchError,
    LeakageError,
    MissingInputError,
    NPEError,
    TooFewStarsError,
)
from ._npe import FORMAT_VERSION, MemberHistory, NPEConfig, NPEEstimator, load_npe, read_metadata, train_npe
from ._plots import plot_corner, plot_ppc, plot_sbc, plot_tarp, save_figure
from ._results import (
    format_posterior_table,
    mock_truth,
    plot_mass_profiles,
    plot_posterior_table,
    plot_reflex_profile,
    posterior_table,
)
from ._posterior import (
    DEFAULT_CONDITIONS,
    add_derived_masses,
    load_shipped_estimator,
    mw_mass_table,
    posterior,
    posterior_from_summaries,
    shipped_estimator_path,
)
from ._ppc import PPCResult, posterior_predictive, retrain_without

__all__ = [
    "CatalogueColumnsError",
    "TooFewStarsError",
    "DEFAULT_CONDITIONS",
    "add_derived_masses",
    "mw_mass_table",
    "EstimatorFileError",
    "EstimatorVersionError",
    "FORMAT_VERSION",
    "InputMismatchError",
    "LeakageError",
    "MemberHistory",
    "MissingInputError",
    "NPEConfig",
    "NPEError",
    "NPEEstimator",
    "PPCResult",
    "SBCResult",
    "TarpResult",
    "c2st",
    "load_npe",
    "load_shipped_estimator",
    "mock_truth",
    "format_posterior_table",
    "plot_corner",
    "plot_mass_profiles",
    "plot_posterior_table",
    "plot_reflex_profile",
    "posterior_table",
    "plot_ppc",
    "plot_sbc",
    "plot_tarp",
    "posterior",
    "posterior_draws",
    "posterior_from_summaries",
    "posterior_predictive",
    "read_metadata",
    "retrain_without",
    "run_sbc",
    "run_tarp",
    "save_figure",
    "sbc_ranks",
    "sbc_test",
    "shipped_estimator_path",
    "tarp_coverage",
    "train_npe",
]
