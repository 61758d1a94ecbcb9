"""Training on several mocks per simulation (``[suite] summaries = "summaries_mock"``).

Each simulation θ_i gives R observations x_ir = A θ_i + ε_ir of the linear Gaussian problem
of ``_npe_problems`` (exact posterior known). Repeating θ over its R mocks leaves the joint
distribution of a training pair (θ, x) unchanged, so the estimator must still recover the
exact posterior; the validation split takes whole simulations (``groups``).
"""

import jax
import numpy as np
import pytest
from _npe_problems import exact_draws, exact_posterior, linear_gaussian, typical_observations

import jaxgal.inference as inf
from jaxgal.inference import cli

D, K_IN, R, N_SIMS = 3, 4, 4, 800


def _mock_problem(seed=1):
    A, noise = linear_gaussian(D, K_IN, 0)
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(N_SIMS, D))
    x = theta[:, None, :] @ A.T + noise * rng.normal(size=(N_SIMS, R, K_IN))  # (n, R, k)
    return A, noise, theta, x


def test_expand_mocks_pairs_and_groups():
    _, _, theta, x = _mock_problem()
    rows = np.array([3, 7, 11])
    th, xx, g = cli._expand_mocks(theta, x, rows)
    assert th.shape == (3 * R, D) and xx.shape == (3 * R, K_IN)
    np.testing.assert_array_equal(g, np.repeat(rows, R))
    np.testing.assert_array_equal(th[R:2 * R], np.repeat(theta[7:8], R, axis=0))
    np.testing.assert_array_equal(xx[R:2 * R], x[7])
    np.testing.assert_array_equal(cli._first_mock(x)[rows], x[rows, 0])
    # 2-D inputs are passed through with no groups
    th2, xx2, g2 = cli._expand_mocks(theta, x[:, 0], rows)
    assert g2 is None and xx2.shape == (3, K_IN)


def test_mock_augmented_posterior_is_exact():
    """R = 4 mocks of 800 simulations (3,200 pairs, 2 flows): at 3 typical observations the
    draws match the exact posterior (C2ST ≤ 0.58, |Δmean| ≤ 0.25 σ, widths within 15 %: the
    fast tolerances of test_npe_gaussian, which reject the prior, a 0.5 σ shift and
    widths × 0.8); the validation split takes whole simulations."""
    A, noise, theta, x = _mock_problem()
    th, xx, g = cli._expand_mocks(theta, x, np.arange(N_SIMS))
    with pytest.raises(ValueError, match="groups has shape"):
        inf.train_npe(jax.random.key(3), th, xx, 2, groups=g[:-1])
    est = inf.train_npe(jax.random.key(3), th, xx, 2, config=inf.NPEConfig(show_progress=False), groups=g)
    # the validation rows are whole simulations: 10 % of the 800 (80) with all their R mocks
    assert (est.info.n_val, est.info.n_train) == (80 * R, 720 * R)
    for i, xo in enumerate(typical_observations(A, noise, 3, 5)):
        s = np.asarray(est.sample(jax.random.key(10 + i), xo, 3000))
        mu, cov = exact_posterior(A, noise, xo)
        sd = np.sqrt(np.diag(cov))
        acc = inf.c2st(jax.random.key(20 + i), s, exact_draws(A, noise, xo, 3000, 30 + i))
        assert acc <= 0.58, acc
        assert np.max(np.abs(s.mean(0) - mu) / sd) <= 0.25
        assert np.max(np.abs(s.std(0) / sd - 1)) <= 0.15
