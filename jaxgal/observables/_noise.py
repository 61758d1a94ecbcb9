"""Uncertainties of the summaries: bootstrap over an observed catalogue, and the Gaussian
noise models that put them on simulated summaries (Brooks et al. §2.2, §3.2).

- :func:`bootstrap_summaries`: resample the N stars with replacement ``n_boot`` times
  (as multinomial weights on the fixed star set, so one compiled function, vmapped over
  the resamples) and take the standard deviation of each summary across the resamples.
- :func:`add_noise`: x_sim + σ_obs · ε, ε ~ N(0, 1), each summary with its own bootstrap σ
  (the paper's noise model).
- :func:`finite_sample_sigma`, :func:`add_finite_sample_noise`: the noise a simulated
  summary needs when the simulated stars are *already* observed through the survey's errors
  (:func:`jaxgal.observables.observed_summaries`), so that a training summary and the
  observed one have the same distribution (docs/observables.md, "Noise on simulated
  summaries"):

      x_train = x_sim + σ_add ε,
      σ_add² = σ_boot² · (s_sim / s_obs)² · max(1 − n_obs / n_sim, 0),

  with σ_boot the data's bootstrap error of that summary, n_obs and n_sim the data's and the
  simulation's (selected) star counts in its bin, and s_sim / s_obs the ratio of the
  simulated to the observed dispersion of the bin (1 with ``scale_with_dispersion=False``).
  Reasoning: a clipped mean or dispersion of n stars of per-star dispersion s has a sampling
  variance ≈ c s² / n (c = 1 for the mean, ≈ 1/2 for the dispersion), so the observation's
  is σ_boot² and the simulation's own ≈ σ_boot² (s_sim/s_obs)² n_obs/n_sim; adding σ_add²
  makes the total the observation's variance at the simulated θ. The measurement errors are
  not added again: they are in the observed stars' velocities already.
"""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from .. import frames as F
from ._summaries import Summaries, SummaryConfig, summaries

__all__ = [
    "BootstrapSummaries",
    "bootstrap_summaries",
    "add_noise",
    "finite_sample_sigma",
    "add_finite_sample_noise",
]


class BootstrapSummaries(eqx.Module):
    """Summaries of a catalogue and their bootstrap uncertainties.

    - `values`, `counts`, `flags`: as :class:`Summaries` for the full catalogue.
    - `errors`: (k,) standard deviation (ddof = 1) of each summary over the resamples,
      using only the resamples in which that bin was not flagged; a bin flagged in more
      than half of them (or in the full catalogue) is flagged here too and its error set
      to 0.
    - `samples`: (n_boot, k) the resampled summaries (flagged entries hold the fill value).
    - `names`: the summary names.
    """

    values: Float[Array, " k"]
    errors: Float[Array, " k"]
    counts: Float[Array, " k"]
    flags: Bool[Array, " k"]
    samples: Float[Array, "n_boot k"]
    names: tuple[str, ...] = eqx.field(static=True)

    def values_or_nan(self) -> Array:
        """The values with NaN in flagged entries (the estimator's "missing" convention)."""
        return jnp.where(self.flags, jnp.nan, self.values)


def bootstrap_summaries(
    key: PRNGKeyArray,
    catalogue,
    n_boot: int = 1000,
    config: SummaryConfig | None = None,
    *,
    frame: F.GalactocentricFrame | None = None,
) -> BootstrapSummaries:
    """Bootstrap uncertainties of the summaries of a catalogue (or an (N, 6) particle array).

    Each resample draws N indices uniformly with replacement; the multiplicity of each star
    is its weight in :func:`jaxgal.observables.summaries` (identical to summarising the
    resampled list). Same key, same result.

    **Arguments:** `key`; `catalogue` (a :class:`Catalogue` or (N, 6) array); `n_boot`
    resamples (1000); `config`, `frame` as :func:`summaries`.

    **Returns:** a :class:`BootstrapSummaries`.
    """
    if n_boot < 2:
        raise ValueError(f"bootstrap_summaries: n_boot must be >= 2; got {n_boot}")
    full = summaries(catalogue, config, frame=frame)
    if not hasattr(catalogue, "n_stars"):
        catalogue = jnp.asarray(catalogue)
    vals, flg = _resample(key, catalogue, int(n_boot), config, frame)
    good = ~flg
    ng = good.sum(axis=0)
    mu = jnp.sum(jnp.where(good, vals, 0.0), axis=0) / jnp.maximum(ng, 1)
    var = jnp.sum(jnp.where(good, (vals - mu) ** 2, 0.0), axis=0) / jnp.maximum(ng - 1, 1)
    flags = full.flags | (ng < n_boot / 2)
    errors = jnp.where(flags, 0.0, jnp.sqrt(var))
    return BootstrapSummaries(full.values, errors, full.counts, flags, vals, full.names)


@eqx.filter_jit
def _resample(key, catalogue, n_boot, config, frame):
    """(n_boot, k) summaries and flags of multinomial resamples (one compilation per
    catalogue shape, n_boot and config)."""
    n = catalogue.n_stars if hasattr(catalogue, "n_stars") else catalogue.shape[0]

    def one(k):
        idx = jax.random.randint(k, (n,), 0, n)
        w = jnp.zeros(n).at[idx].add(1.0)
        s = summaries(catalogue, config, frame=frame, weights=w)
        return s.values, s.flags

    return jax.vmap(one)(jax.random.split(key, n_boot))


def add_noise(key: PRNGKeyArray, values, sigma) -> Float[Array, "... k"]:
    """Gaussian observational noise on simulated summaries: x + σ ε, ε ~ N(0, 1).

    **Arguments:** `key`; `values`: (..., k) summaries (a :class:`Summaries` is accepted:
    its ``.values``); `sigma`: (k,) per-summary uncertainties (e.g.
    ``bootstrap_summaries(...).errors``), broadcast against `values`.

    **Returns:** the noisy summaries, same shape as `values`. Entries with σ = 0 (e.g.
    flagged bins) are returned unchanged.
    """
    x = values.values if isinstance(values, Summaries) else jnp.asarray(values)
    s = jnp.asarray(sigma, dtype=x.dtype)
    if s.shape[-1:] != x.shape[-1:]:
        raise ValueError(
            f"add_noise: sigma of shape {s.shape} does not match summaries of shape {x.shape}"
        )
    return x + s * jax.random.normal(key, x.shape, dtype=x.dtype)


def _dispersion_index(names: tuple[str, ...]) -> np.ndarray:
    """For each summary, the index of its bin's dispersion entry (``_mean_`` → ``_sigma_``)."""
    pos = {n: i for i, n in enumerate(names)}
    out = []
    for n in names:
        d = n.replace("_mean_", "_sigma_")
        if d not in pos:
            raise ValueError(f"finite_sample_sigma: no dispersion entry {d!r} for summary {n!r}")
        out.append(pos[d])
    return np.asarray(out)


def finite_sample_sigma(
    sim: Summaries,
    obs_errors,
    obs_counts,
    obs_values=None,
    *,
    scale_with_dispersion: bool = True,
) -> Float[Array, "... k"]:
    """σ_add of each simulated summary (module docstring): the Gaussian noise that gives
    summaries of stars observed through the survey's errors (N_sim stars) the finite-sample
    scatter of the observation (n_obs stars).

    **Arguments:**

    - `sim`: the simulated :class:`Summaries` (of observed-like stars), (k,) or batched.
    - `obs_errors`: (k,) the data's bootstrap errors σ_boot [km/s].
    - `obs_counts`: (k,) the data's star counts per summary bin.
    - `obs_values`: (k,) the data's summaries (needed for ``scale_with_dispersion``).
    - `scale_with_dispersion`: scale σ_boot by s_sim / s_obs, the ratio of the simulated to
      the observed dispersion of the bin (True); False uses σ_boot as it is.

    **Returns:** σ_add [km/s], the shape of ``sim.values``; 0 where the data's or the
    simulation's bin is flagged, where σ_boot = 0, or where the simulation has no more stars
    than the data in that bin (nothing to add: its own scatter is already at least the
    observation's).
    """
    x = sim.values
    e = jnp.asarray(obs_errors, dtype=x.dtype)
    n_obs = jnp.asarray(obs_counts, dtype=x.dtype)
    if e.shape != x.shape[-1:] or n_obs.shape != x.shape[-1:]:
        raise ValueError(
            f"finite_sample_sigma: obs_errors {e.shape} and obs_counts {n_obs.shape} must "
            f"match the summaries' last axis {x.shape[-1:]}"
        )
    n_sim = sim.counts
    frac = jnp.clip(1.0 - n_obs / jnp.where(n_sim > 0, n_sim, 1.0), 0.0, 1.0)
    scale = jnp.ones_like(x)
    if scale_with_dispersion:
        if obs_values is None:
            raise ValueError("finite_sample_sigma: scale_with_dispersion needs obs_values")
        idx = jnp.asarray(_dispersion_index(sim.names))
        s_obs = jnp.asarray(obs_values, dtype=x.dtype)[idx]
        s_sim = x[..., idx]
        scale = jnp.where(s_obs > 0, s_sim / jnp.where(s_obs > 0, s_obs, 1.0), 0.0)
    ok = ~sim.flags & (n_sim > 0) & (e > 0)
    return jnp.where(ok, e * jnp.abs(scale) * jnp.sqrt(frac), 0.0)


def add_finite_sample_noise(
    key: PRNGKeyArray,
    sim: Summaries,
    boot: BootstrapSummaries,
    *,
    scale_with_dispersion: bool = True,
) -> Float[Array, "... k"]:
    """x_sim + σ_add ε with σ_add from :func:`finite_sample_sigma` and the data's
    :class:`BootstrapSummaries` `boot`. Use it on summaries of observed-like stars
    (:func:`jaxgal.observables.observed_summaries`); use :func:`add_noise` (the paper's
    σ_boot) on error-free ones. Flagged entries are returned unchanged (fill value)."""
    sig = finite_sample_sigma(
        sim, boot.errors, boot.counts, boot.values, scale_with_dispersion=scale_with_dispersion
    )
    x = sim.values
    return x + sig * jax.random.normal(key, x.shape, dtype=x.dtype)
