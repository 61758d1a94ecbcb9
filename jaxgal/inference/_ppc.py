"""Posterior predictive checks and "spurious" inputs (Brooks et al., appendix A2).

Draws θ_s from the posterior of an observation x_obs are pushed through the simulator,
x_s = S(θ_s, key_s); for each summary j the predictive mean μ_j and standard deviation σ_j
of the x_s,j are compared with the observed value,

    z_j = (x_obs,j − μ_j) / σ_j,

and a summary is flagged ("spurious": not reproduced by the model) when |z_j| ≥ 3 (the
paper drops 6 of its 52 summaries this way and retrains). Simulated summaries that are
missing (NaN, e.g. a bin with too few stars) are left out of μ_j and σ_j; an observed value
that is missing is never flagged. :func:`retrain_without` trains a new estimator without
the flagged inputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

__all__ = ["PPCResult", "posterior_predictive", "retrain_without"]


@dataclasses.dataclass(frozen=True)
class PPCResult:
    """A posterior predictive check (module docstring).

    - `names`: (k,) summary names; `observed`: (k,) observed values (NaN = missing).
    - `predictive`: (n_draws, k) simulated summaries at the posterior draws.
    - `mean`, `std`: (k,) predictive mean and standard deviation (NaN-aware, ddof = 1).
    - `z`: (k,) (observed − mean)/std; `flagged`: (k,) |z| ≥ `n_sigma`.
    """

    names: tuple
    observed: np.ndarray
    predictive: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    z: np.ndarray
    flagged: np.ndarray
    n_sigma: float

    @property
    def flagged_names(self) -> tuple[str, ...]:
        """Names of the flagged ("spurious") summaries."""
        return tuple(n for n, f in zip(self.names, self.flagged) if f)

    def to_dict(self) -> dict:
        return {"names": list(self.names), "observed": self.observed.tolist(), "mean": self.mean.tolist(),
                "std": self.std.tolist(), "z": self.z.tolist(), "flagged": list(self.flagged_names),
                "n_sigma": self.n_sigma, "n_draws": int(self.predictive.shape[0])}

    def save(self, path: str) -> str:
        """Write the result as a ``.npz`` (plain arrays, no pickle)."""
        np.savez(path, names=np.asarray(self.names), observed=self.observed, predictive=self.predictive,
                 n_sigma=np.asarray(self.n_sigma))
        return path

    @classmethod
    def from_predictive(cls, names: Sequence[str], observed, predictive, n_sigma: float = 3.0) -> "PPCResult":
        """The check from summaries simulated elsewhere (e.g. a suite run at posterior draws
        with :func:`jaxgal.simulation.simulate_batch`, observed like the data).

        **Arguments:** `names` (k,); `observed` (k,) observed summaries (NaN = missing);
        `predictive` (n_draws ≥ 2, k) simulated summaries (NaN = missing); `n_sigma` the
        flagging threshold.
        """
        observed = np.asarray(observed, dtype=float).reshape(-1)
        predictive = np.asarray(predictive, dtype=float)
        if len(names) != observed.size:
            raise ValueError(f"PPCResult.from_predictive: {len(names)} names for {observed.size} observed values")
        if predictive.ndim != 2 or predictive.shape[1] != observed.size or predictive.shape[0] < 2:
            raise ValueError(
                f"PPCResult.from_predictive: predictive must be (n_draws >= 2, {observed.size}); got shape "
                f"{predictive.shape}"
            )
        if not n_sigma > 0:
            raise ValueError(f"PPCResult.from_predictive: n_sigma must be > 0; got {n_sigma}")
        return _summarise(tuple(str(n) for n in names), observed, predictive, float(n_sigma))

    @classmethod
    def load(cls, path: str) -> "PPCResult":
        with np.load(path, allow_pickle=False) as z:
            return _summarise(tuple(str(s) for s in z["names"]), z["observed"], z["predictive"], float(z["n_sigma"]))


def _summarise(names, observed, predictive, n_sigma) -> PPCResult:
    observed = np.asarray(observed, dtype=float)
    predictive = np.asarray(predictive, dtype=float)
    ok = np.isfinite(predictive)
    cnt = ok.sum(0)
    mean = np.where(cnt > 0, np.nansum(predictive, 0) / np.maximum(cnt, 1), np.nan)
    var = np.where(cnt > 1, np.nansum((predictive - mean) ** 2, 0) / np.maximum(cnt - 1, 1), np.nan)
    std = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (observed - mean) / std
    flagged = np.isfinite(z) & (np.abs(z) >= n_sigma)
    # a zero-variance predictive with a different observed value is infinitely far off
    flagged |= np.isfinite(observed) & (std == 0) & (observed != mean)
    return PPCResult(tuple(names), observed, predictive, mean, std, z, flagged, float(n_sigma))


def _as_values(out):
    """Simulator output -> (..., k) array; a Summaries-like object (``values``/``flags``)
    has its flagged entries set to NaN."""
    if hasattr(out, "values") and hasattr(out, "flags"):
        return jnp.where(out.flags, jnp.nan, out.values)
    return jnp.asarray(out)


def posterior_predictive(
    key,
    simulator: Callable,
    theta_draws,
    x_obs,
    *,
    names: Sequence[str] | None = None,
    n_sigma: float = 3.0,
    batch_size: int | None = None,
    progress: bool = True,
) -> PPCResult:
    """Simulate at posterior draws and flag observed summaries ≥ `n_sigma` σ from the
    predictive mean (module docstring).

    **Arguments:**

    - `key`: a ``jax.random`` key; draw s is simulated with ``fold_in(key, s)``.
    - `simulator`: ``simulator(theta, key) -> summaries``: theta one (d,) row of
      `theta_draws`, the output (k,) (or an object with ``values`` and ``flags``, as
      :class:`jaxgal.observables.Summaries`; flagged entries count as missing). It is
      ``jax.vmap``-ed over batches of draws and jit-compiled, so it must be pure JAX.
    - `theta_draws`: (n_draws, d) posterior draws (e.g. ``estimator.sample(...)``).
    - `x_obs`: (k,) observed summaries (NaN = missing), or a mapping name -> value (then
      `names` selects and orders them).
    - `names`: (k,) summary names (default ``x_0``…, or the mapping's keys).
    - `n_sigma`: flagging threshold (3, as the paper).
    - `batch_size`: draws simulated per ``vmap`` call (default all at once; lower it for a
      memory-hungry simulator); a progress bar runs over the batches.

    **Returns:** a :class:`PPCResult`.
    """
    from tqdm.auto import tqdm

    from ._npe import _typed_key

    key = _typed_key(key)
    if isinstance(x_obs, Mapping):
        names = list(x_obs.keys()) if names is None else list(names)
        missing = [n for n in names if n not in x_obs]
        if missing:
            raise ValueError(f"posterior_predictive: x_obs lacks {missing}")
        obs = np.array([float(x_obs[n]) for n in names])
    else:
        obs = np.asarray(x_obs, dtype=float).reshape(-1)
        names = [f"x_{i}" for i in range(obs.size)] if names is None else list(names)
    if len(names) != obs.size:
        raise ValueError(f"posterior_predictive: {len(names)} names for {obs.size} observed values")
    th = np.asarray(theta_draws, dtype=float)
    if th.ndim != 2 or th.shape[0] < 2:
        raise ValueError(f"posterior_predictive: theta_draws must be (n_draws >= 2, d); got shape {th.shape}")
    n = th.shape[0]
    bs = n if batch_size is None else max(1, int(batch_size))
    sim = eqx.filter_jit(jax.vmap(lambda t, k: _as_values(simulator(t, k))))
    keys = jax.vmap(lambda i: jr.fold_in(key, i))(jnp.arange(n))
    outs = []
    for st in tqdm(range(0, n, bs), desc="predictive simulations", disable=not progress, leave=False):
        hi = min(st + bs, n)
        idx = np.arange(st, st + bs) if hi - st == bs else np.concatenate([np.arange(st, hi), np.full(st + bs - hi, hi - 1)])
        out = np.asarray(sim(jnp.asarray(th[idx]), keys[idx]))[: hi - st]
        outs.append(out.reshape(hi - st, -1))
    pred = np.concatenate(outs, axis=0)
    if pred.shape[1] != obs.size:
        raise ValueError(f"posterior_predictive: the simulator returns {pred.shape[1]} summaries; x_obs has {obs.size}")
    return _summarise(names, obs, pred, n_sigma)


def retrain_without(key, estimator, theta, x, drop: Sequence[str], *, n_ensemble: int | None = None,
                    config=None, groups=None):
    """Train a new estimator like `estimator` (same targets, inputs, configuration and
    ensemble size unless given) on (theta, x) without the inputs named in `drop` (e.g.
    ``ppc.flagged_names``).

    **Arguments:** `theta` (n, d) in ``estimator.theta_names`` order (or a mapping);
    `x` (n, k) in ``estimator.x_names`` order (or a mapping holding those names); `groups`:
    rows sharing a simulation, as in :func:`~jaxgal.inference.train_npe`.

    **Returns:** the new :class:`~jaxgal.inference.NPEEstimator`; its metadata records
    the dropped inputs under ``"dropped"``.
    """
    from ._npe import train_npe

    drop = [str(d) for d in drop]
    if isinstance(x, Mapping):
        missing = [n for n in estimator.x_names if n not in x]
        if missing:
            raise ValueError(f"retrain_without: x lacks the estimator's inputs {missing}")
        x = np.stack([np.asarray(x[n], dtype=float) for n in estimator.x_names], axis=1)
    if isinstance(theta, Mapping):
        theta = np.stack([np.asarray(theta[n], dtype=float) for n in estimator.theta_names], axis=1)
    meta = dict(estimator.metadata)
    meta["dropped"] = sorted(set(meta.get("dropped", [])) | set(drop))
    return train_npe(key, theta, x, estimator.n_ensemble if n_ensemble is None else n_ensemble,
                     theta_names=estimator.theta_names, x_names=estimator.x_names,
                     config=estimator.config if config is None else config, drop=drop, metadata=meta,
                     groups=groups)
