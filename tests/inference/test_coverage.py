"""TARP and SBC coverage diagnostics, and the C2ST used by the accuracy tests.

Exact posteriors come from a conjugate Gaussian model: θ ~ N(0, I₄), x = θ + ε with
ε ~ N(0, 0.75² I), so p(θ | x) = N(v x / 0.75², v I), v = (1 + 1/0.75²)⁻¹.
"""

import jax
import numpy as np
import pytest
from _npe_problems import simulate, trained_gaussian

import jaxgal.inference as inf

N_SIMS, L, D = 400, 300, 4
SIG = 0.75


def _draws(scale=1.0, bias=0.0, seed=0):
    rng = np.random.default_rng(seed)
    th = rng.normal(size=(N_SIMS, D))
    x = th + SIG * rng.normal(size=(N_SIMS, D))
    v = 1 / (1 + 1 / SIG**2)
    m = v * x / SIG**2
    s = m[:, None, :] + bias * np.sqrt(v) + scale * np.sqrt(v) * rng.normal(size=(N_SIMS, L, D))
    return s, th


@pytest.mark.parametrize("scale", [1.0, 0.5, 2.0])
def test_tarp_equals_tarp_package(scale):
    tarp = pytest.importorskip("tarp", reason="the tarp package (test extra) is not installed")
    s, th = _draws(scale)
    res = inf.tarp_coverage(s, th, key=jax.random.key(3), n_bootstrap=0)
    k_ref = jax.random.split(jax.random.key(3))[0]
    refs = np.asarray(jax.random.uniform(k_ref, (N_SIMS, D)))
    ecp, alpha = tarp.get_tarp_coverage(np.swapaxes(s, 0, 1).copy(), th.copy(), references=refs, norm=True)
    np.testing.assert_allclose(res.ecp, ecp, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.alpha, alpha, rtol=0, atol=1e-12)


def test_tarp_calibrated_vs_overconfident():
    s, th = _draws(1.0)
    good = inf.tarp_coverage(s, th, key=jax.random.key(1))
    assert abs(good.atc) < 0.025 and good.ks_pvalue > 0.05, (good.atc, good.ks_pvalue)
    # the bootstrap 1σ band is a band around the curve and mostly covers the diagonal
    assert np.all(good.ecp_band[0] <= good.ecp + 1e-12) and np.all(good.ecp_band[1] >= good.ecp - 1e-12)
    inside = (good.ecp_band[0] - 1e-9 <= good.alpha) & (good.alpha <= good.ecp_band[1] + 1e-9)
    assert inside.mean() > 0.5
    narrow = inf.tarp_coverage(*_draws(0.5), key=jax.random.key(1))
    assert narrow.atc < -0.04 and narrow.ks_pvalue < 0.05, (narrow.atc, narrow.ks_pvalue)
    wide = inf.tarp_coverage(*_draws(2.0), key=jax.random.key(1))
    assert wide.atc > 0.04 and wide.ks_pvalue < 0.05, (wide.atc, wide.ks_pvalue)


def test_tarp_of_trained_estimator():
    """The fast Gaussian estimator (3,000 draws, 2 flows) is calibrated on 300 held-out
    simulations."""
    est, A, noise = trained_gaussian(5, 6, 3000, 2)
    th, x = simulate(A, noise, 300, 77)
    res = inf.run_tarp(jax.random.key(0), est, th, x, n_samples=200, progress=False, n_bootstrap=20)
    assert abs(res.atc) < 0.03 and res.ks_pvalue > 0.05, (res.atc, res.ks_pvalue)


def test_sbc_exact_uniform_biased_not():
    s, th = _draws(1.0, seed=4)
    ranks = inf.sbc_ranks(s, th)
    assert ranks.shape == (N_SIMS, D) and ranks.min() >= 0 and ranks.max() <= L
    ok = inf.sbc_test(ranks, L)
    assert ok.n_bins == 40
    # 4 parameters, each p ~ U(0,1) under the null: Bonferroni at 1 %
    assert np.min(ok.pvalues) > 0.01 / D and np.min(ok.ks_pvalues) > 0.01 / D
    biased = inf.sbc_test(inf.sbc_ranks(*_draws(1.0, bias=0.5, seed=4)), L)
    assert np.all(biased.pvalues < 1e-3) and np.all(biased.ks_pvalues < 1e-3)
    narrow = inf.sbc_test(inf.sbc_ranks(*_draws(0.7, seed=4)), L)
    assert np.all(narrow.pvalues < 1e-3)


def test_sbc_chi2_expected_counts_exact():
    """With L + 1 = 7 rank values in 3 bins the bins hold 3, 2, 2 values: a sample with
    exactly the uniform proportions has χ² = 0."""
    ranks = np.repeat(np.arange(7), 10)[:, None]
    res = inf.sbc_test(ranks, 6, n_bins=3)
    assert res.chi2[0] == pytest.approx(0.0) and res.pvalues[0] == pytest.approx(1.0)


def test_c2st_size_and_power():
    # 3,000 points in 5-D: the shapes of the Gaussian accuracy tests (shared compilation)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3000, 5))
    same = inf.c2st(jax.random.key(0), a, rng.normal(size=(3000, 5)))
    assert abs(same - 0.5) < 0.025
    b = rng.normal(size=(3000, 5))
    b[:, 0] += 0.4  # optimal accuracy Φ(0.2) = 0.579
    shifted = inf.c2st(jax.random.key(0), a, b)
    assert 0.545 < shifted < 0.6
