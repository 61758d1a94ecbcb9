"""Calibration diagnostics of a posterior estimator on held-out simulations (docs/inference.md).

**TARP** (Tests of Accuracy with Random Points; Lemos, Coogan et al. 2023). For each test
simulation i with true parameters θ_i, posterior draws {θ_i^(l)}, l = 1..L, and a random
reference point θ_r,i, the coverage value

    f_i = (1/L) Σ_l 1[ d(θ_i^(l), θ_r,i) < d(θ_i, θ_r,i) ]

is the credibility of the smallest ball around θ_r,i that contains the truth. The
posterior is calibrated for every credibility level iff f is uniform on [0, 1] (Lemos et
al., Theorem 3), so the *expected coverage probability* ECP(α) = P(f < α) — the empirical
CDF of the f_i — must follow the diagonal. Following the ``tarp`` package (and sbi), the
parameters are first rescaled to the unit box spanned by the true values
((θ − min θ)/(max θ − min θ + 10⁻¹⁰)), references are drawn uniformly in that box, the
distance is Euclidean, and ECP is the cumulative histogram of the f_i in
``n_sims // 10`` equal bins between min f and max f (its edges are the α grid).

Two numbers summarise the curve (Brooks et al., appendix A):

- the **ATC** (area to curve), Σ_{α_j ≥ α_mid} (ECP_j − α_j) Δα over the upper half of the
  α grid (sbi's ``check_tarp``): ≈ 0 if calibrated, < 0 if the posterior is too narrow
  (over-confident), > 0 if too wide;
- a **KS p-value**. ``ks_pvalue`` is the one-sample Kolmogorov–Smirnov test of the f_i
  against U(0, 1) — the test of "ECP equals the diagonal", with the number of test
  simulations as its sample size. ``ks_pvalue_curves`` is sbi's statistic (the two-sample
  KS test between the *values* of the ECP and α arrays), reported because the paper quotes
  it; it has little power (the paper's p = 1.0) and should not be used to accept a
  posterior.

A bootstrap over test simulations (resampling the f_i with replacement) gives the
uncertainty band of the ECP curve (the paper's Fig. A1, 1σ band).

**SBC** (simulation-based calibration; Talts et al. 2018). For each test simulation and
each parameter the rank r = #{l : θ^(l) < θ} ∈ {0, …, L} is uniform on those L + 1 values
if the posterior is exact. :func:`sbc_ranks` computes the ranks; :func:`sbc_test` bins them
into B bins (B = min(L + 1, n_sims // 10) by default, so ≥ 10 expected per bin; each bin's
expected count computed exactly from the integer ranks it holds) and reports Pearson's
χ² statistic with B − 1 degrees of freedom and its p-value per parameter, plus a KS p-value
of the mid-ranks (r + ½)/(L + 1) against U(0, 1) (conservative for discrete ranks).
"""

from __future__ import annotations

import dataclasses

import jax.random as jr
import numpy as np

__all__ = [
    "TarpResult",
    "tarp_coverage",
    "run_tarp",
    "SBCResult",
    "sbc_ranks",
    "sbc_test",
    "run_sbc",
    "posterior_draws",
]


@dataclasses.dataclass(frozen=True)
class TarpResult:
    """TARP coverage (module docstring).

    - `alpha`: (B + 1,) credibility grid; `ecp`: (B + 1,) expected coverage on it.
    - `f`: (n_sims,) coverage value of each test simulation.
    - `atc`: area to curve for α ≥ α_mid; `ks_pvalue`: one-sample KS of f vs U(0, 1);
      `ks_pvalue_curves`: sbi's two-sample KS of the ECP and α arrays.
    - `ecp_band`: (2, B + 1) 15.9th/84.1th percentiles of the bootstrap ECP (1σ band), or
      None; `ecp_boot`: (n_bootstrap, B + 1) bootstrap curves, or None.
    """

    alpha: np.ndarray
    ecp: np.ndarray
    f: np.ndarray
    atc: float
    ks_pvalue: float
    ks_pvalue_curves: float
    ecp_band: np.ndarray | None = None
    ecp_boot: np.ndarray | None = None

    @property
    def n_sims(self) -> int:
        return int(self.f.size)

    def to_dict(self) -> dict:
        return {"atc": self.atc, "ks_pvalue": self.ks_pvalue, "ks_pvalue_curves": self.ks_pvalue_curves,
                "n_sims": self.n_sims, "alpha": self.alpha.tolist(), "ecp": self.ecp.tolist(),
                "ecp_band": None if self.ecp_band is None else self.ecp_band.tolist()}


def _ecdf_on_grid(f, alpha):
    """P(f < α_j) on the grid, 1 at the last edge: the cumulative histogram of ``tarp``."""
    out = np.mean(f[None, :] < alpha[:-1, None], axis=1)
    return np.concatenate([out, [np.mean(f <= alpha[-1])]])


def _draws_and_truths(samples, theta, caller: str) -> tuple[np.ndarray, np.ndarray]:
    """Posterior draws (n_sims, L, d) and truths (n_sims, d) as float arrays; a 1-D `theta`
    (and then 2-D `samples`) is one parameter. Raises ``ValueError`` naming `caller`."""
    s = np.asarray(samples, dtype=float)
    t = np.asarray(theta, dtype=float)
    if t.ndim == 1:
        t = t[:, None]
    if s.ndim == 2 and t.shape[1] == 1:
        s = s[..., None]
    if s.ndim != 3 or t.ndim != 2 or s.shape[0] != t.shape[0] or s.shape[2] != t.shape[1]:
        raise ValueError(f"{caller}: samples must be (n_sims, L, d) and theta (n_sims, d); got {s.shape}, {t.shape}")
    return s, t


def tarp_coverage(
    samples,
    theta,
    *,
    key=None,
    references=None,
    num_bins: int | None = None,
    norm: bool = True,
    metric: str = "euclidean",
    n_bootstrap: int = 100,
) -> TarpResult:
    """TARP expected coverage of posterior draws (module docstring).

    **Arguments:**

    - `samples`: (n_sims, L, d) posterior draws, one row of L draws per test simulation
      (the ``tarp`` package takes the transpose, (L, n_sims, d)).
    - `theta`: (n_sims, d) true parameters of the test simulations.
    - `key`: ``jax.random`` key for the references and the bootstrap (default key 0).
    - `references`: (n_sims, d) reference points, in the rescaled unit box if `norm` (as the
      ``tarp`` package), else in parameter units; default uniform in that box.
    - `num_bins`: histogram bins of the f values (default n_sims // 10, at least 1).
    - `norm`: rescale by the range of `theta` first.
    - `metric`: ``"euclidean"`` or ``"manhattan"``.
    - `n_bootstrap`: bootstrap resamples for the band (0 = none).

    **Returns:** a :class:`TarpResult`.
    """
    from scipy import stats

    from ._npe import _typed_key

    s, t = _draws_and_truths(samples, theta, "tarp_coverage")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(t))):
        raise ValueError("tarp_coverage: samples and theta must be finite")
    if metric not in ("euclidean", "manhattan"):
        raise ValueError(f"tarp_coverage: metric must be 'euclidean' or 'manhattan'; got {metric!r}")
    n_sims, n_draws, d = s.shape
    if n_sims < 2:
        raise ValueError("tarp_coverage: need at least 2 test simulations")
    key = _typed_key(jr.key(0) if key is None else key)
    k_ref, k_boot = jr.split(key)
    lo, hi = t.min(0), t.max(0)
    if norm:
        s = (s - lo) / (hi - lo + 1e-10)
        t = (t - lo) / (hi - lo + 1e-10)
    if references is None:
        u = np.asarray(jr.uniform(k_ref, (n_sims, d)))
        ref = u if norm else lo + (hi - lo) * u
    else:
        ref = np.asarray(references, dtype=float)
        if ref.shape != (n_sims, d):
            raise ValueError(f"tarp_coverage: references must have shape {(n_sims, d)}; got {ref.shape}")
    diff_s = ref[:, None, :] - s
    diff_t = ref - t
    if metric == "euclidean":
        ds = np.sqrt(np.sum(diff_s**2, axis=-1))
        dt = np.sqrt(np.sum(diff_t**2, axis=-1))
    else:
        ds = np.sum(np.abs(diff_s), axis=-1)
        dt = np.sum(np.abs(diff_t), axis=-1)
    f = np.sum(ds < dt[:, None], axis=1) / n_draws
    bins = max(1, n_sims // 10) if num_bins is None else int(num_bins)
    h, alpha = np.histogram(f, density=True, bins=bins)
    dx = alpha[1] - alpha[0]
    ecp = np.concatenate([[0.0], np.cumsum(h) * dx])
    mid = alpha.shape[0] // 2
    atc = float(np.sum((ecp[mid:] - alpha[mid:]) * dx))
    ks_p = float(stats.kstest(f, "uniform").pvalue)
    ks_curves = float(stats.ks_2samp(ecp, alpha).pvalue)
    band = boot = None
    if n_bootstrap > 0:
        idx = np.asarray(jr.randint(k_boot, (int(n_bootstrap), n_sims), 0, n_sims))
        boot = np.stack([_ecdf_on_grid(f[i], alpha) for i in idx])
        band = np.percentile(boot, [15.865, 84.135], axis=0)
    return TarpResult(alpha, ecp, f, atc, ks_p, ks_curves, band, boot)


def posterior_draws(key, estimator, x, n_samples: int, *, batch: int = 50, progress: bool = True) -> np.ndarray:
    """(n_sims, n_samples, d) draws of `estimator` at each row of `x` (n_sims, k), in
    batches of `batch` observations with a progress bar."""
    from tqdm.auto import tqdm

    from ._npe import _typed_key

    key = _typed_key(key)
    x = np.asarray(x, dtype=float)
    out = []
    starts = range(0, x.shape[0], batch)
    for i, st in enumerate(tqdm(starts, desc="posterior draws", disable=not progress, leave=False)):
        out.append(np.asarray(estimator.sample(jr.fold_in(key, i), x[st:st + batch], n_samples)))
    return np.concatenate(out, axis=0)


def run_tarp(key, estimator, theta, x, n_samples: int = 1000, *, progress: bool = True, **kwargs) -> TarpResult:
    """:func:`tarp_coverage` of `estimator` on test pairs (theta (n_sims, d), x (n_sims, k));
    further keywords go to :func:`tarp_coverage`."""
    from ._npe import _typed_key

    k_draw, k_tarp = jr.split(_typed_key(key))
    draws = posterior_draws(k_draw, estimator, x, n_samples, progress=progress)
    return tarp_coverage(draws, theta, key=k_tarp, **kwargs)


@dataclasses.dataclass(frozen=True)
class SBCResult:
    """SBC ranks and their uniformity tests (module docstring).

    - `ranks`: (n_sims, d) integer ranks in 0..`n_samples`.
    - `n_bins`: bins of the χ² test; `chi2`, `pvalues`: (d,) statistic and p-value
      (B − 1 degrees of freedom); `ks_pvalues`: (d,) KS p-values of the mid-ranks.
    - `names`: parameter names (or None).
    """

    ranks: np.ndarray
    n_samples: int
    n_bins: int
    chi2: np.ndarray
    pvalues: np.ndarray
    ks_pvalues: np.ndarray
    names: tuple | None = None

    def to_dict(self) -> dict:
        names = self.names or tuple(f"theta_{i}" for i in range(self.ranks.shape[1]))
        return {"n_samples": self.n_samples, "n_bins": self.n_bins, "n_sims": int(self.ranks.shape[0]),
                "chi2": dict(zip(names, self.chi2.tolist())), "pvalues": dict(zip(names, self.pvalues.tolist())),
                "ks_pvalues": dict(zip(names, self.ks_pvalues.tolist()))}


def sbc_ranks(samples, theta) -> np.ndarray:
    """Ranks r_ij = #{l : θ_ij^(l) < θ_ij} of the truth among the draws.

    **Arguments:** `samples` (n_sims, L, d) posterior draws; `theta` (n_sims, d) truths.

    **Returns:** (n_sims, d) integers in 0..L.
    """
    s, t = _draws_and_truths(samples, theta, "sbc_ranks")
    return np.sum(s < t[:, None, :], axis=1)


def sbc_test(ranks, n_samples: int, *, n_bins: int | None = None, names=None) -> SBCResult:
    """Uniformity tests of SBC ranks (module docstring).

    **Arguments:**

    - `ranks`: (n_sims, d) ranks in 0..`n_samples` (:func:`sbc_ranks`).
    - `n_samples`: L, the number of draws per simulation.
    - `n_bins`: χ² bins (default min(L + 1, n_sims // 10), at least 2).
    - `names`: optional parameter names.

    **Returns:** an :class:`SBCResult`.
    """
    from scipy import stats

    r = np.asarray(ranks)
    if r.ndim == 1:
        r = r[:, None]
    L = int(n_samples)
    if np.any(r < 0) or np.any(r > L):
        raise ValueError(f"sbc_test: ranks must lie in 0..{L}")
    n_sims, d = r.shape
    B = int(n_bins) if n_bins else max(2, min(L + 1, n_sims // 10))
    B = min(B, L + 1)
    bin_of = (np.arange(L + 1) * B) // (L + 1)
    p_bin = np.bincount(bin_of, minlength=B) / (L + 1)
    expected = n_sims * p_bin
    chi2 = np.empty(d)
    pv = np.empty(d)
    ks = np.empty(d)
    for j in range(d):
        obs = np.bincount(bin_of[r[:, j]], minlength=B)
        chi2[j] = np.sum((obs - expected) ** 2 / expected)
        pv[j] = stats.chi2.sf(chi2[j], B - 1)
        ks[j] = stats.kstest((r[:, j] + 0.5) / (L + 1), "uniform").pvalue
    return SBCResult(r, L, B, chi2, pv, ks, None if names is None else tuple(names))


def run_sbc(key, estimator, theta, x, n_samples: int = 100, *, n_bins: int | None = None,
            progress: bool = True) -> SBCResult:
    """SBC of `estimator` on test pairs (theta (n_sims, d), x (n_sims, k)) with `n_samples`
    draws each."""
    draws = posterior_draws(key, estimator, x, n_samples, progress=progress)
    return sbc_test(sbc_ranks(draws, theta), n_samples, n_bins=n_bins, names=estimator.theta_names)
