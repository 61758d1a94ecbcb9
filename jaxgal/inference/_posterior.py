"""The posterior of an observed catalogue: catalogue → the binned summaries → missing bins as
NaN → the estimator's draws (Brooks et al. §5).

Inputs an estimator needs beyond the summaries (the paper conditions on the LMC's
present-day position and velocity and on the stellar-halo slope γ) are passed as keyword
arguments; those not given take :data:`DEFAULT_CONDITIONS`: the fiducial present-day LMC
of Brooks et al. §5 (Galactocentric x = (−0.6, −41.3, −27.1) kpc,
v = (−63.9, −213.8, 206.6) km/s, after Vasiliev et al. 2021), expressed as the ICRS
observables of the simulation parameters (``ra_lmc``, ``dec_lmc`` [deg], ``d_lmc`` [kpc],
``vlos_lmc`` [km/s], ``pmra_lmc``, ``pmdec_lmc`` [mas/yr]; they reproduce those vectors to
< 0.01 kpc and < 0.05 km/s), and γ = 4.55 (Amarante et al. 2024).

The enclosed masses M_MW(<50 kpc) and M_LMC(<50 kpc) are exact functions of log10 M200 and
M_LMC in the simulation's model; an estimator that learns those parameters gets the masses
added draw by draw (:func:`add_derived_masses`). The estimator shipped in ``jaxgal/data/npe``
and how it was trained: docs/inference.md, section 6.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from ..simulation import FIDUCIAL_LMC_ICRS
import warnings

from ._errors import CatalogueColumnsError, InputMismatchError, MissingInputError, TooFewStarsError
from ._npe import NPEEstimator, load_npe

__all__ = ["DEFAULT_CONDITIONS", "posterior", "posterior_from_summaries", "shipped_estimator_path",
           "load_shipped_estimator", "add_derived_masses", "mw_mass_table"]

#: Default values of the non-summary conditioning inputs (module docstring).
DEFAULT_CONDITIONS: dict[str, float] = {**FIDUCIAL_LMC_ICRS, "gamma": 4.55}


def shipped_estimator_path() -> str:
    """Folder of the estimator that ships with jaxgal (``jaxgal/data/npe``)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "npe")


def load_shipped_estimator() -> NPEEstimator:
    """The estimator shipped in ``jaxgal/data/npe``; ``FileNotFoundError`` if none ships."""
    path = shipped_estimator_path()
    if not os.path.exists(os.path.join(path, "metadata.json")):
        raise FileNotFoundError(
            f"no trained estimator ships with this jaxgal installation (nothing in {path}). Train one from "
            "a simulation suite with `jaxgal train CONFIG.toml` (docs/inference.md) and pass it as "
            "estimator=jaxgal.inference.load_npe(PATH)"
        )
    return load_npe(path)


def mw_mass_table(lo: float = 10.4, hi: float = 12.6, n: int = 1101) -> dict:
    """M_MW(<50 kpc) [Msun] of ``jaxgal.potentials.milky_way(10**x)`` on a grid of
    x = log10 M200 (one vmapped, jit-compiled evaluation): ``{"log10_m200": grid,
    "log10_m_mw_50": values}``. Linear interpolation of log10 M(<50) on this grid (spacing
    0.002 dex) reproduces the direct evaluation to < 1e-6 relative."""
    import jax
    import jax.numpy as jnp

    from ..potentials import milky_way

    g = np.linspace(lo, hi, n)
    f = jax.jit(jax.vmap(lambda x: milky_way(10.0**x).mass_enclosed(jnp.asarray(50.0))))
    return {"log10_m200": g.tolist(), "log10_m_mw_50": np.log10(np.asarray(f(jnp.asarray(g)))).tolist()}


def add_derived_masses(draws: Mapping[str, np.ndarray], table: Mapping | None = None) -> dict[str, np.ndarray]:
    """Add the enclosed masses that are functions of θ to posterior draws.

    - ``m_mw_50`` [Msun], M_MW(<50 kpc) of ``jaxgal.potentials.milky_way(10**log10_m200)``
      (the simulation's Milky Way: NFW halo whose c200 gives v_c(R☉) = 235 km/s, plus the
      disc and bulge; spherically averaged), from ``log10_m200``, interpolated in the
      :func:`mw_mass_table` `table` (the shipped estimator stores one in its metadata; None
      computes it, a one-off jit compilation of ~10–40 s);
    - ``m_lmc_50`` [Msun], M_LMC(<50 kpc) = M (50 kpc)² / (50 kpc + a)² of the Hernquist
      LMC of ``jaxgal.potentials.lmc(m_lmc)``, a = 8.7 kpc (√(M / 1.7×10¹⁰ Msun) − 1)
      (floored at 0.1 kpc), from ``m_lmc``.

    Both are exactly the simulation's derived quantities (``simulate(...).derived``), so an
    estimator learns θ and these follow draw by draw. Existing keys are left as they are.

    **Returns:** a new dict with the added keys.
    """
    from ..potentials import lmc_scale_radius

    out = dict(draws)
    if "log10_m200" in out and "m_mw_50" not in out:
        tab = mw_mass_table() if table is None else table
        g = np.asarray(tab["log10_m200"], float)
        lm = np.asarray(out["log10_m200"], float)
        if lm.size and (lm.min() < g[0] or lm.max() > g[-1]):
            raise ValueError(f"add_derived_masses: log10_m200 outside the table's range [{g[0]}, {g[-1]}]")
        out["m_mw_50"] = 10.0 ** np.interp(lm, g, np.asarray(tab["log10_m_mw_50"], float))
    if "m_lmc" in out and "m_lmc_50" not in out:
        m = np.asarray(out["m_lmc"], float)
        a = np.asarray(lmc_scale_radius(m))
        out["m_lmc_50"] = m * 50.0**2 / (50.0 + a) ** 2
    return out


def _inputs(values: Mapping, estimator: NPEEstimator, conditions: Mapping) -> dict:
    unknown = [k for k in conditions if k not in estimator.x_names]
    if unknown:
        raise ValueError(
            f"posterior: the estimator is not conditioned on {unknown}; its inputs beyond the summaries are "
            f"{[n for n in estimator.x_names if n not in values]}"
        )
    clash = [k for k in conditions if k in values]
    if clash:
        raise ValueError(f"posterior: {clash} are summaries, not extra conditions")
    inputs = dict(values)
    lacking = []
    for name in estimator.x_names:
        if name in values:
            continue
        if name in conditions:
            inputs[name] = float(conditions[name])
        elif name in DEFAULT_CONDITIONS:
            inputs[name] = DEFAULT_CONDITIONS[name]
        else:
            lacking.append(name)
    if lacking:
        raise InputMismatchError(
            f"the estimator needs inputs {lacking} that are neither summaries of the observation nor given as "
            "keyword arguments (and have no default); it was trained on other inputs than those supplied"
        )
    return inputs


def posterior_from_summaries(
    key,
    summaries,
    n: int = 10_000,
    estimator: NPEEstimator | None = None,
    *,
    names: Sequence[str] | None = None,
    flags=None,
    **conditions,
) -> dict[str, np.ndarray]:
    """Posterior draws given observed summaries.

    **Arguments:**

    - `key`: a ``jax.random`` key.
    - `summaries`: a :class:`jaxgal.observables.Summaries` (flagged bins become missing),
      a mapping name -> value, or a (k,) array named by `names` (default
      :func:`jaxgal.observables.summary_names`). NaN = missing.
    - `n`: number of draws.
    - `estimator`: an :class:`NPEEstimator` (default: the shipped one).
    - `flags`: optional (k,) booleans for an array: True entries become missing.
    - `**conditions`: extra conditioning values (module docstring; defaults
      :data:`DEFAULT_CONDITIONS`).

    **Returns:** a dict target name -> (n,) draws in the estimator's units, plus the
    enclosed masses of :func:`add_derived_masses` when the estimator learned ``log10_m200``
    or ``m_lmc``.
    """
    from ..observables import Summaries, summary_names

    est = load_shipped_estimator() if estimator is None else estimator
    if isinstance(summaries, Summaries):
        vals = np.where(np.asarray(summaries.flags), np.nan, np.asarray(summaries.values, dtype=float))
        values = dict(zip(summaries.names, vals.tolist()))
    elif isinstance(summaries, Mapping):
        values = {str(k): float(v) for k, v in summaries.items()}
    else:
        arr = np.asarray(summaries, dtype=float).reshape(-1)
        nm = summary_names() if names is None else tuple(names)
        if len(nm) != arr.size:
            raise ValueError(f"posterior: {arr.size} summaries but {len(nm)} names")
        if flags is not None:
            arr = np.where(np.asarray(flags, dtype=bool).reshape(-1), np.nan, arr)
        values = dict(zip(nm, arr.tolist()))
    inputs = _inputs(values, est, conditions)
    return add_derived_masses(est.sample_dict(key, inputs, n), est.metadata.get("mw_mass_table"))


def posterior(
    key,
    catalogue,
    n: int = 10_000,
    estimator: NPEEstimator | None = None,
    *,
    summary_config=None,
    frame=None,
    **conditions,
) -> dict[str, np.ndarray]:
    """Posterior draws of the MW–LMC parameters given an observed catalogue.

    The catalogue's summaries are computed with :func:`jaxgal.observables.summaries`
    (the 52 3σ-clipped means and dispersions of v_GSR and v_t,b in distance bins); bins with
    fewer than ``summary_config.min_count`` stars are missing (NaN) inputs, legal only if
    the estimator saw them missing in training (else :class:`MissingInputError` naming the
    bins and their star counts). Inputs beyond the summaries come from `**conditions`
    or :data:`DEFAULT_CONDITIONS`.

    **Arguments:**

    - `key`: a ``jax.random`` key.
    - `catalogue`: a :class:`jaxgal.observables.Catalogue` or a path read by
      :func:`jaxgal.observables.read_catalogue`.
    - `n`: number of draws (10,000 as the paper's figures).
    - `estimator`: an :class:`NPEEstimator` (default: the one shipped in
      ``jaxgal/data/npe``; ``FileNotFoundError`` explaining how to train one if absent).
    - `summary_config`, `frame`: passed to :func:`jaxgal.observables.summaries`.
    - `**conditions`: e.g. ``gamma=4.55``, ``d_lmc=49.6`` (module docstring).

    **Returns:** a dict name -> (n,) draws: the estimator's targets (for the shipped one
    ``log10_m200``, ``m_lmc`` [Msun], ``v_travel_100`` [km/s], ``beta0``) and the enclosed
    masses ``m_mw_50``, ``m_lmc_50`` [Msun] that follow from them
    (:func:`add_derived_masses`).
    """
    from ..observables import Catalogue, catalogue_from_table, read_catalogue, summaries

    try:
        if isinstance(catalogue, (str, os.PathLike)):
            catalogue = read_catalogue(os.fspath(catalogue))
        elif not isinstance(catalogue, Catalogue) and hasattr(catalogue, "colnames"):
            catalogue = catalogue_from_table(catalogue)
    except KeyError as e:
        raise CatalogueColumnsError(f"posterior: {e.args[0] if e.args else e}") from None
    if not isinstance(catalogue, Catalogue):
        raise TypeError(
            f"posterior: catalogue must be a jaxgal Catalogue, an astropy Table or a file path; got "
            f"{type(catalogue).__name__}"
        )
    if catalogue.l.ndim != 1:
        raise ValueError(f"posterior: expected one catalogue (N stars); got a batch of shape {catalogue.l.shape}")
    est = load_shipped_estimator() if estimator is None else estimator
    s = summaries(catalogue, summary_config, frame=frame)
    _check_counts(s, est)
    try:
        return posterior_from_summaries(key, s, n, est, **conditions)
    except MissingInputError as e:
        counts = dict(zip(s.names, np.asarray(s.counts).tolist()))
        flagged = [nm for nm, f in zip(s.names, np.asarray(s.flags)) if f and nm in est.x_names
                   and nm not in est.missing_inputs]
        detail = ", ".join(f"{nm} ({counts[nm]:g} stars)" for nm in flagged)
        raise TooFewStarsError(
            f"the catalogue has too few stars (fewer than the minimum of the summaries) in bins the estimator "
            f"needs: {detail}. The estimator never saw these bins missing; retrain without them "
            f"(train_npe(..., drop=[...]) or [inputs] drop in the training configuration). [{e}]"
        ) from None


def _check_counts(s, est: NPEEstimator) -> None:
    """Warn when the catalogue's star counts per bin differ from those the estimator's
    training noise was matched to (``metadata["observation_counts"]``, written for the
    shipped estimator): its summaries then scatter differently from the training ones and
    the posterior's width is not calibrated for it."""
    ref = est.metadata.get("observation_counts") if isinstance(est.metadata, dict) else None
    if not ref:
        return
    ref = np.asarray(ref, dtype=float)
    c = np.asarray(s.counts, dtype=float)
    if ref.shape != c.shape:
        return
    ratio = np.where(ref > 0, c / np.where(ref > 0, ref, 1.0), 1.0)
    off = (ratio < 0.5) | (ratio > 2.0)
    if np.any(off):
        names = [nm for nm, o in zip(s.names, off) if o]
        warnings.warn(
            f"posterior: the catalogue's star counts differ by more than a factor of 2 from those the estimator's "
            f"training noise was matched to in {len(names)} bins (e.g. {names[:3]}); its summaries scatter "
            "differently from the training ones, so the posterior width is not calibrated for this catalogue "
            "(docs/inference.md, 'The shipped estimator')",
            stacklevel=3,
        )
