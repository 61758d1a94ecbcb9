"""Missing inputs: an input missing at random in training gets an indicator, and the estimator
recovers the exact posterior both when the input is present and when it is missing.

Linear Gaussian model with 5 parameters and 5 inputs; input x_4 (made informative: its row
of A is scaled by 2.5) is NaN in 30 % of the 3,000 training rows. The exact posterior
given x_0..x_3 only is that of the model without A's last row. Tolerances as the fast
Gaussian test (|Δmean| ≤ 0.25 σ, widths within 15 %); the two exact posteriors differ in
width by far more than 15 % in the dimensions x_4 informs, so imputing the missing value
without an indicator (the flow would take x_4 at its mean) fails the width check.
"""

import jax
import numpy as np
import pytest
from _npe_problems import exact_posterior, linear_gaussian

import jaxgal.inference as inf


@pytest.fixture(scope="module")
def problem():
    A, noise = linear_gaussian(5, 5, seed=4)
    A[4] *= 2.5
    rng = np.random.default_rng(8)
    n = 3000
    theta = rng.normal(size=(n, 5))
    x = theta @ A.T + noise * rng.normal(size=(n, 5))
    x[rng.random(n) < 0.3, 4] = np.nan
    est = inf.train_npe(jax.random.key(2), theta, x, 2, config=inf.NPEConfig(show_progress=False))
    return est, A, noise


def _check(est, A_used, noise, xo, key):
    s = np.asarray(est.sample(key, xo, 4000))
    x_used = xo[np.isfinite(xo)]
    mu, cov = exact_posterior(A_used, noise, x_used)
    sd = np.sqrt(np.diag(cov))
    return np.max(np.abs(s.mean(0) - mu) / sd), np.max(np.abs(s.std(0) / sd - 1)), sd


def test_missing_at_random_recovers_both_posteriors(problem):
    est, A, noise = problem
    assert est.missing_inputs == ("x_4",)
    rng = np.random.default_rng(11)
    for i in range(2):
        th = rng.normal(size=5)
        xo = th @ A.T + noise * rng.normal(size=5)
        dm, dw, sd_full = _check(est, A, noise, xo, jax.random.key(i))
        assert dm <= 0.25 and dw <= 0.15, ("present", dm, dw)
        xm = xo.copy()
        xm[4] = np.nan
        dm, dw, sd_miss = _check(est, A[:4], noise, xm, jax.random.key(10 + i))
        assert dm <= 0.25 and dw <= 0.15, ("missing", dm, dw)
        assert np.max(sd_miss / sd_full) > 1.3  # the check above discriminates the two cases


def test_missing_log_prob_uses_indicator(problem):
    """log q(θ | x with x_4 missing) differs from log q(θ | x_4 at its training mean): the
    indicator, not the imputed value, carries the missingness."""
    est, A, noise = problem
    xo = np.array([0.3, -0.2, 0.5, 0.1, np.nan])
    imputed = xo.copy()
    imputed[4] = float(est.x_mean[4])
    th = np.zeros((3, 5))
    a = np.asarray(est.log_prob(th, xo))
    b = np.asarray(est.log_prob(th, imputed))
    assert np.all(np.isfinite(a)) and np.max(np.abs(a - b)) > 0.1
