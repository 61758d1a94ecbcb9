"""Uncertainties of the summaries: bootstrap over an observed catalogue, and the Gaussian
noise model that puts them on simulated summaries (SPEC §B, "Noise").

- :func:`bootstrap_summaries`: resample the N stars with replacement ``n_boot`` times
  (as multinomial weights on the fixed star set, so one compiled function, vmapped over
  the resamples) and take the standard deviation of each summary across the resamples.
- :func:`add_noise`: x_sim + σ_obs · ε, ε ~ N(0, 1), each summary with its own bootstrap σ.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from .. import frames as F
from ._summaries import Summaries, SummaryConfig, summaries

__all__ = ["BootstrapSummaries", "bootstrap_summaries", "add_noise"]


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
    n = catalogue.n_stars if hasattr(catalogue, "n_stars") else jnp.asarray(catalogue).shape[0]

    def one(k):
        idx = jax.random.randint(k, (n,), 0, n)
        w = jnp.zeros(n).at[idx].add(1.0)
        s = summaries(catalogue, config, frame=frame, weights=w)
        return s.values, s.flags

    vals, flg = jax.jit(jax.vmap(one))(jax.random.split(key, n_boot))
    good = ~flg
    ng = good.sum(axis=0)
    mu = jnp.sum(jnp.where(good, vals, 0.0), axis=0) / jnp.maximum(ng, 1)
    var = jnp.sum(jnp.where(good, (vals - mu) ** 2, 0.0), axis=0) / jnp.maximum(ng - 1, 1)
    flags = full.flags | (ng < n_boot / 2)
    errors = jnp.where(flags, 0.0, jnp.sqrt(var))
    return BootstrapSummaries(full.values, errors, full.counts, flags, vals, full.names)


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
