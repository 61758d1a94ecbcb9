"""Shared problems with known posteriors for the inference tests (not a test module).

The linear Gaussian model: θ ~ N(0, I_d), x = A θ + ε with ε ~ N(0, σ² I_k). Its exact
posterior is Gaussian with covariance Σ = (I + AᵀA/σ²)⁻¹ and mean μ = Σ Aᵀ x / σ²
(e.g. Bishop 2006, eq. 2.116–2.117). Trained estimators are cached per process so that
several test files can share one training run.
"""

from __future__ import annotations

import functools

import jax
import numpy as np


def linear_gaussian(d: int, k: int, seed: int = 0, scale: float = 0.7, noise: float = 1.0):
    """The design matrix A (k, d) and the noise σ of a linear Gaussian problem."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(k, d)) * scale, noise


def simulate(A, noise, n: int, seed: int):
    """n prior draws θ (n, d) and their data x (n, k)."""
    rng = np.random.default_rng(seed)
    k, d = A.shape
    theta = rng.normal(size=(n, d))
    x = theta @ A.T + noise * rng.normal(size=(n, k))
    return theta, x


def typical_observations(A, noise, n: int, seed: int, p_min: float = 0.5):
    """n observations x from the prior predictive N(0, AAᵀ + σ²I) inside its central
    1 − p_min region (χ² p-value of the Mahalanobis distance ≥ p_min; default: the central
    half): NPE accuracy is checked where the training set is dense; how it degrades towards
    the tails is measured by ``benchmarks/inference.py --accuracy`` (docs/inference.md)."""
    from scipy import stats

    k = A.shape[0]
    prec = np.linalg.inv(A @ A.T + noise**2 * np.eye(k))
    out = []
    s = seed
    while len(out) < n:
        _, x = simulate(A, noise, 4 * n, s)
        m2 = np.einsum("ij,jk,ik->i", x, prec, x)
        out.extend(x[stats.chi2.sf(m2, k) >= p_min])
        s += 1000
    return np.array(out[:n])


def exact_posterior(A, noise, x):
    """Mean (..., d) and covariance (d, d) of p(θ | x) for the linear Gaussian problem."""
    d = A.shape[1]
    cov = np.linalg.inv(np.eye(d) + A.T @ A / noise**2)
    mean = np.asarray(x) @ (cov @ A.T / noise**2).T
    return mean, cov


def exact_draws(A, noise, x, n: int, seed: int):
    """n exact posterior draws (n, d) for one observation x (k,)."""
    mean, cov = exact_posterior(A, noise, x)
    return np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)


@functools.lru_cache(maxsize=None)
def trained_gaussian(d: int, k: int, n_train: int, n_ensemble: int, seed: int = 0, dtype: str = "float64"):
    """(estimator, A, noise) trained on n_train draws of the linear Gaussian problem."""
    from jaxgal.inference import NPEConfig, train_npe

    A, noise = linear_gaussian(d, k, seed)
    theta, x = simulate(A, noise, n_train, seed + 1)
    est = train_npe(jax.random.key(seed), theta, x, n_ensemble,
                    config=NPEConfig(show_progress=False, dtype=dtype))
    return est, A, noise


#: Small flows for the 2-D problems (transforms, bounds, drop): one shared architecture.
TWO_D_CONFIG = dict(flow_layers=2, nn_width=16, max_epochs=40, show_progress=False)


def two_d_problem(n: int, seed: int = 0, m_box=(0.5, 2.0)):
    """n draws of a 2-D problem with a positive, bounded target and a (0, 1) target.

    m = 10^a, a ~ N(0, 0.3²) restricted to m ∈ `m_box` (rejection); p = 1/(1 + e^(−b)),
    b ~ N(0, 1); data x = (a + 0.2 ε₁, b + 0.5 ε₂).
    """
    rng = np.random.default_rng(seed)
    a = np.empty(0)
    while a.size < n:
        cand = rng.normal(0, 0.3, 2 * n)
        a = np.concatenate([a, cand[(10**cand > m_box[0]) & (10**cand < m_box[1])]])
    a = a[:n]
    b = rng.normal(0, 1.0, n)
    theta = np.stack([10**a, 1 / (1 + np.exp(-b))], axis=1)
    x = np.stack([a + 0.2 * rng.normal(size=n), b + 0.5 * rng.normal(size=n)], axis=1)
    return theta, x
