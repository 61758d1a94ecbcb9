"""Training from a compact suite file and the cross-fitted coverage (``jaxgal diagnose CONFIG
--crossfit``) on a problem with a known answer: a target observed through one summary with
Gaussian noise, so a calibrated posterior's 68 % intervals hold the truth 68 % of the time."""

import json
import os

import numpy as np
import pytest

from jaxgal.inference import cli

N = 800


def _compact_suite(path):
    rng = np.random.default_rng(5)
    names = ["log10_m200", "m_lmc", "beta0"]
    theta = np.stack([rng.uniform(10.5, 12.5, N), rng.uniform(2.5e10, 5e11, N), rng.uniform(0, 0.85, N)], 1)
    s = np.zeros((N, 3))
    s[:, 0] = 100 * (theta[:, 0] - 11.5) + 20 * rng.normal(size=N)
    s[:, 1] = rng.normal(size=N)
    s[:, 2] = 50 * theta[:, 2] + 10 * rng.normal(size=N)
    ok = np.ones(N, bool)
    ok[:7] = False  # rows a [suite] require drops
    mocks = s[:, None, :] + np.array([0.0, 1.0])[None, :, None] * rng.normal(size=(N, 2, 3))  # 2 mocks
    np.savez(path, theta=theta, theta_names=np.asarray(names), summaries_train=s, summaries_mock=mocks,
             flags_mock=np.zeros((N, 2, 3), bool),
             summary_names=np.asarray(["a", "b", "c"]), flags_train=np.zeros((N, 3), bool), reflex_converged=ok,
             manifest=np.asarray(json.dumps({"what": "test"})))


def _config(tmp_path, max_epochs, layers=2):
    suite = str(tmp_path / "suite.npz")
    _compact_suite(suite)
    (tmp_path / "train.toml").write_text(
        '[suite]\ndir = "suite.npz"\nsummaries = "summaries_train"\nflags = "flags_train"\n'
        'require = ["reflex_converged"]\n'
        '[targets]\nnames = ["log10_m200", "beta0"]\n'
        '[flow]\nlayers = {layers}\nwidth = 16\n[training]\nn_ensemble = 1\npatience = 20\nmax_epochs = {max_epochs}\n'
        'learning_rate = 3e-3\nbatch_size = 100\n'
        '[output]\npath = "est"\n'.replace("{max_epochs}", str(max_epochs)).replace("{layers}", str(layers)))
    cfg = cli.load_train_config(str(tmp_path / "train.toml"))
    # relative paths are relative to the configuration file
    assert cfg["suite"]["dir"] == suite and cfg["output"]["path"] == str(tmp_path / "est")
    return cfg


def test_compact_suite_crossfit_plumbing(tmp_path):
    """Fast: folds, unusable rows, the tarp package on the same draws (3 epochs of training)."""
    pytest.importorskip("tarp", reason="the tarp package (test extra) is not installed")
    cfg = _config(tmp_path, 2, layers=1)
    res = cli.run_crossfit(cfg, n_folds=2, n_samples=50, out=str(tmp_path / "cf"), plot=False, progress=False)
    assert res["n_sims"] == N - 7 and res["n_rows_unusable"] == 7
    assert res["folds"][0]["rows"][0] == 0 and res["folds"][0]["rows"][1] == res["folds"][1]["rows"][0]
    assert res["folds"][1]["rows"][1] == N - 7
    assert res["tarp_package_max_abs_diff_ecp"] < 1e-12
    with np.load(os.path.join(str(tmp_path / "cf"), "diagnostics.npz")) as z:
        assert z["ranks"].shape == (N - 7, 2) and z["ranks"].max() <= 50


def test_train_and_diagnose_on_mock_summaries(tmp_path):
    """Fast: a (n, mocks, k) summaries column trains on every mock of the training
    simulations (whole simulations in the validation split) and diagnoses on the first mock
    of each held-out one."""
    cfg = _config(tmp_path, 2, layers=1)
    cfg["suite"].update(summaries="summaries_mock", flags="flags_mock", holdout=100)
    est = cli.run_train(cfg, show_progress=False)
    n_sims = N - 100 - 7  # 7 rows dropped by require
    assert est.info.n_train + est.info.n_val == 2 * n_sims and est.info.n_val % 2 == 0
    assert est.metadata["mocks_per_simulation"] == 2
    res = cli.run_diagnose(cfg["output"]["path"], n_samples=20, out=str(tmp_path / "dg"), plot=False,
                           progress=False)
    assert res["n_test"] == 100 and res["rows"] == [N - 100, N]
    # [suite] mocks = m trains on the first m mocks of each simulation
    suite = cli.load_suite_any(cfg["suite"]["dir"])
    x1, _ = cli._suite_inputs(suite, dict(cfg, suite=dict(cfg["suite"], mocks=1)))
    assert x1.shape == (N, 1, 3) and np.array_equal(x1[:, 0], suite["summaries_mock"][:, 0])
    with pytest.raises(ValueError, match="holds 2 mocks"):
        cli._suite_inputs(suite, dict(cfg, suite=dict(cfg["suite"], mocks=3)))


@pytest.mark.slow
def test_compact_suite_crossfit_calibrated(tmp_path):
    pytest.importorskip("tarp", reason="the tarp package (test extra) is not installed")
    cfg = _config(tmp_path, 400)
    out = str(tmp_path / "cf")
    res = cli.run_crossfit(cfg, n_folds=2, n_samples=100, out=out, plot=False, progress=False)
    assert res["n_sims"] == N - 7 and res["n_rows_unusable"] == 7
    assert res["folds"][0]["rows"][0] == 0 and res["folds"][0]["rows"][1] == res["folds"][1]["rows"][0]
    assert res["folds"][1]["rows"][1] == N - 7
    assert res["tarp_package_max_abs_diff_ecp"] < 1e-12
    # calibrated: 68 % intervals hold the truth 68 ± 7 % of the time (~3σ of a binomial with n = 793)
    for k, c in res["coverage_68"].items():
        assert 0.63 <= c <= 0.73, (k, c)
    assert abs(res["tarp"]["atc"]) < 0.1
    assert os.path.exists(os.path.join(out, "diagnostics.npz"))
    # and informative: much narrower than the prior
    with np.load(os.path.join(out, "diagnostics.npz")) as z:
        width = np.mean(z["p84"][:, 0] - z["p16"][:, 0])
    assert width < 0.5 * (2.0 * 0.68)  # much narrower than the prior's 68 % width of log10 M200
