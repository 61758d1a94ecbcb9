"""Posterior predictive checks: flag observed summaries ≥ 3σ from the predictive mean."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgal.inference as inf
from _npe_problems import TWO_D_CONFIG, two_d_problem

A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -1.0]])
NOISE = 0.3


def simulator(theta, key):
    return jnp.asarray(A) @ theta + NOISE * jax.random.normal(key, (4,))


def test_ppc_flags_the_corrupted_summary():
    rng = np.random.default_rng(0)
    theta_true = np.array([0.4, -0.7])
    x = A @ theta_true + NOISE * rng.normal(size=4)
    # exact posterior of θ ~ N(0, I) given all four summaries
    cov = np.linalg.inv(np.eye(2) + A.T @ A / NOISE**2)
    mu = cov @ A.T @ x / NOISE**2
    draws = rng.multivariate_normal(mu, cov, size=2000)
    res = inf.posterior_predictive(jax.random.key(1), simulator, draws, x, names=["a", "b", "c", "d"],
                                   batch_size=512, progress=False)
    # predictive sd = sqrt(a Σ aᵀ + σ²) per summary (the law of total variance)
    sd_exact = np.sqrt(np.einsum("ij,jk,ik->i", A, cov, A) + NOISE**2)
    np.testing.assert_allclose(res.std, sd_exact, rtol=0.06)
    assert np.all(np.abs(res.mean - A @ mu) < 4 * sd_exact / np.sqrt(2000))
    assert res.flagged_names == ()
    bad = x.copy()
    bad[3] += 5 * sd_exact[3]
    res2 = inf.posterior_predictive(jax.random.key(1), simulator, draws, bad, names=["a", "b", "c", "d"],
                                    batch_size=512, progress=False)
    assert res2.flagged_names == ("d",)
    assert res2.z[3] == pytest.approx((bad[3] - res2.mean[3]) / res2.std[3])
    # missing observed values are never flagged; missing simulated values are left out
    nan_obs = bad.copy()
    nan_obs[3] = np.nan
    res3 = inf.posterior_predictive(jax.random.key(1), simulator, draws, nan_obs, progress=False)
    assert not res3.flagged.any()


def test_ppc_save_load_and_retrain_without(tmp_path):
    theta, x = two_d_problem(2000, seed=7)
    x = np.c_[x, np.random.default_rng(1).normal(size=len(x))]
    # retrain_without needs only the estimator's description (names, configuration, ensemble
    # size, metadata): a stand-in saves training a first estimator here
    from types import SimpleNamespace

    cfg = inf.NPEConfig(**TWO_D_CONFIG)
    est = SimpleNamespace(theta_names=("m", "p"), x_names=("xa", "xb", "junk"), config=cfg, n_ensemble=1,
                          metadata={"suite": "somewhere"})
    # a simulator reproducing xa, xb but not the observed "junk" value
    rng = np.random.default_rng(3)
    draws = np.c_[10 ** rng.normal(0.1, 0.1, 500), rng.uniform(0.3, 0.6, 500)]

    def sim(t, k):
        a, b = jnp.log10(t[0]), jnp.log(t[1] / (1 - t[1]))
        return jnp.stack([a, b, 0.0]) + jnp.array([0.2, 0.5, 1.0]) * jax.random.normal(k, (3,))

    obs = np.array([0.1, 0.0, 9.0])
    res = inf.posterior_predictive(jax.random.key(2), sim, draws, obs, names=list(est.x_names), progress=False)
    assert res.flagged_names == ("junk",)
    path = res.save(str(tmp_path / "ppc.npz"))
    back = inf.PPCResult.load(path)
    np.testing.assert_array_equal(back.predictive, res.predictive)
    assert back.flagged_names == res.flagged_names
    new = inf.retrain_without(jax.random.key(3), est, theta, x, res.flagged_names)
    assert new.x_names == ("xa", "xb") and new.theta_names == ("m", "p")
    assert new.metadata == {"suite": "somewhere", "dropped": ["junk"]}
    assert new.config == cfg and new.n_ensemble == 1


def test_ppc_from_predictive_matches_hand_computed_z():
    """PPCResult.from_predictive (summaries simulated elsewhere, e.g. by re-running the suite
    at posterior draws): mean, ddof-1 σ and z by hand; a missing simulated value is left out;
    bad shapes raise."""
    pred = np.array([[1.0, 10.0, np.nan], [3.0, 14.0, 2.0], [2.0, 12.0, 4.0]])
    obs = np.array([2.0, 20.0, 3.0])
    res = inf.PPCResult.from_predictive(["a", "b", "c"], obs, pred)
    np.testing.assert_allclose(res.mean, [2.0, 12.0, 3.0])
    np.testing.assert_allclose(res.std, [1.0, 2.0, np.sqrt(2.0)])
    np.testing.assert_allclose(res.z, [0.0, 4.0, 0.0])
    assert res.flagged_names == ("b",)
    assert inf.PPCResult.from_predictive(["a", "b", "c"], obs, pred, n_sigma=5).flagged_names == ()
    with pytest.raises(ValueError, match="predictive must be"):
        inf.PPCResult.from_predictive(["a", "b", "c"], obs, pred[:, :2])
    with pytest.raises(ValueError, match="names"):
        inf.PPCResult.from_predictive(["a", "b"], obs, pred)
