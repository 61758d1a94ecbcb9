"""The inference commands and :func:`jaxgal.inference.posterior` end to end on a synthetic
suite (θ from the Table 1 prior; summaries = the embedded mock observation's values plus a
linear function of θ plus noise, so the plumbing — columns by name, flags as missing
inputs, extras, holdout — is exercised without running simulations)."""

import json
import os

import jax
import numpy as np
import pytest

import jaxgal as jg
import jaxgal.inference as inf
from jaxgal.inference import cli

N_SIMS, HOLDOUT = 700, 200
# the outermost bins (r_gal > 134 kpc) are missing together in 10 % of the training rows
UNSEEN_BIN = "vgsr_mean_Q2_r30-56"
FAR_BINS = tuple(n for n in jg.observables.summary_names() if n.endswith("r134-160") or n.endswith("r138.3-160"))


def _write_suite(path):
    theta = np.asarray(jg.simulation.sample_prior(jax.random.PRNGKey(0), N_SIMS))
    names = jg.observables.summary_names()
    base = jg.observables.default_observation().values
    rng = np.random.default_rng(0)
    z = (theta - theta.mean(0)) / theta.std(0)
    B = rng.normal(size=(len(names), 12)) * 8.0
    summ = base + z @ B.T + 5.0 * rng.normal(size=(N_SIMS, len(names)))
    flags = np.zeros_like(summ, dtype=bool)
    far_rows = rng.random(N_SIMS) < 0.1
    for nm in FAR_BINS:
        flags[far_rows, names.index(nm)] = True
    # the last (held-out) row misses a bin no training row misses: diagnose must leave it out
    flags[N_SIMS - 1, names.index(UNSEEN_BIN)] = True
    summ[flags] = 0.0  # the suite's fill value for flagged bins
    m200 = 10 ** theta[:, 0]
    os.makedirs(path)
    settings = dict(n_sims=N_SIMS, seed=0, n_particles=1, chunk_size=350, theta_names=list(jg.simulation.THETA_NAMES))
    json.dump(settings, open(os.path.join(path, "suite.json"), "w"))
    for c in range(2):
        sl = slice(350 * c, 350 * (c + 1))
        np.savez(os.path.join(path, f"chunk_{c:05d}.npz"), index=np.arange(N_SIMS)[sl], theta=theta[sl],
                 summaries=summ[sl], counts=np.where(flags, 2.0, 50.0)[sl], flags=flags[sl],
                 derived_m_mw_50=(0.4 * m200)[sl])


CONFIG = """
[suite]
dir = "{suite}"
holdout = {holdout}

[targets]
names = ["log10_m200", "m_mw_50", "beta0"]
transforms = {{ m_mw_50 = "log10", beta0 = "logit" }}
bounds = {{ beta0 = [0.0, 0.85] }}

[inputs]
extra = ["gamma"]

[flow]
layers = 2
width = 16

[training]
n_ensemble = 2
max_epochs = 5

[output]
path = "{out}"
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("npe_cli")
    suite = str(root / "suite")
    _write_suite(suite)
    cfg_path = root / "train.toml"
    cfg_path.write_text(CONFIG.format(suite=suite, holdout=HOLDOUT, out=str(root / "est")))
    assert cli.main(["train", str(cfg_path)]) == 0
    return root, inf.load_npe(str(root / "est"))


def test_config_validation_names_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"\[suite\] dir is required"):
        cli.validate_train_config({})
    with pytest.raises(ValueError, match=r"unknown key 'layer' in \[flow\]"):
        cli.validate_train_config({"suite": {"dir": "x"}, "flow": {"layer": 3}})
    with pytest.raises(ValueError, match=r"\[training\] patience must be int"):
        cli.validate_train_config({"suite": {"dir": "x"}, "training": {"patience": "3"}})
    with pytest.raises(ValueError, match=r"\[training\] val_fraction"):
        cli.validate_train_config({"suite": {"dir": "x"}, "training": {"val_fraction": 1.5}})
    with pytest.raises(ValueError, match=r"unknown section \[model\]"):
        cli.validate_train_config({"suite": {"dir": "x"}, "model": {}})
    with pytest.raises(ValueError, match=r"bounds.beta0 must be \[lo, hi\]"):
        cli.validate_train_config({"suite": {"dir": "x"}, "targets": {"bounds": {"beta0": [1.0, 0.0]}}})
    with pytest.raises(ValueError, match="nn_activation"):
        cli.validate_train_config({"suite": {"dir": "x"}, "flow": {"activation": "sigmoid"}})
    p = tmp_path / "bad.toml"
    p.write_text("[suite\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        cli.load_train_config(str(p))
    # the example configuration is valid
    p.write_text(cli.EXAMPLE_CONFIG)
    assert cli.load_train_config(str(p))["targets"]["bounds"]["beta0"] == [0.0, 0.85]


def test_train_uses_names_flags_and_holdout(trained):
    root, est = trained
    names = jg.observables.summary_names()
    assert est.theta_names == ("log10_m200", "m_mw_50", "beta0")
    assert est.x_names == tuple(names) + ("gamma",)
    assert len(FAR_BINS) == 10 and est.missing_inputs == FAR_BINS  # flagged bins became missing inputs
    assert est.metadata["holdout_rows"] == [N_SIMS - HOLDOUT, N_SIMS]
    assert est.info.n_train + est.info.n_val == N_SIMS - HOLDOUT
    # the paper's "means only" inputs: the 26 mean velocities, in the suite's order
    suite = cli.load_suite_any(est.metadata["suite"])
    cfg = cli.validate_train_config({"suite": {"dir": est.metadata["suite"]}, "inputs": {"summaries": "means"}})
    x, x_names = cli._suite_inputs(suite, cfg)
    assert x_names == [n for n in names if "_mean_" in n] and len(x_names) == 26 and x.shape == (N_SIMS, 26)
    with pytest.raises(ValueError, match=r"\[inputs\] summaries must be"):
        cli.validate_train_config({"suite": {"dir": "x"}, "inputs": {"summaries": "dispersions"}})
    with pytest.raises(ValueError, match=r"\[targets\] name 'v_travel_100' is not in the suite"):
        cli.run_train(cli.validate_train_config({"suite": {"dir": est.metadata["suite"]},
                                                 "targets": {"names": ["v_travel_100"]}}))


def test_posterior_from_catalogue(trained):
    root, est = trained
    cat = jg.observables.default_observation().catalogue
    post = inf.posterior(jax.random.key(0), cat, 400, est, gamma=4.0)
    assert set(post) == {"log10_m200", "m_mw_50", "beta0"}
    assert all(v.shape == (400,) and np.all(np.isfinite(v)) for v in post.values())
    assert np.all((post["beta0"] > 0) & (post["beta0"] < 0.85)) and np.all(post["m_mw_50"] > 0)
    # same key, same draws; the default γ (4.55) is used when not given
    again = inf.posterior(jax.random.key(0), cat, 400, est, gamma=4.0)
    np.testing.assert_array_equal(post["m_mw_50"], again["m_mw_50"])
    default = inf.posterior_from_summaries(jax.random.key(0), jg.observables.summaries(cat), 400, est)
    explicit = inf.posterior_from_summaries(jax.random.key(0), jg.observables.summaries(cat), 400, est, gamma=4.55)
    np.testing.assert_array_equal(default["beta0"], explicit["beta0"])
    with pytest.raises(ValueError, match=r"not conditioned on \['d_lmc_typo'\]"):
        inf.posterior(jax.random.key(0), cat, 10, est, d_lmc_typo=50.0)
    # summaries computed with other bins than the estimator's: a named error
    other = jg.observables.SummaryConfig(gsr_edges=jg.observables.equal_bins(30.0, 160.0, 4))
    with pytest.raises(inf.InputMismatchError, match="other inputs than those supplied"):
        inf.posterior(jax.random.key(0), cat, 10, est, summary_config=other)


def _without_bin(cat, quadrant_box, r_lo, r_hi):
    r, l, b, _, _ = jg.observables.star_velocities(cat)
    l0, l1, b0, b1 = quadrant_box
    inside = (np.asarray(r) >= r_lo) & (np.asarray(r) < r_hi) & (np.asarray(l) >= l0) & (np.asarray(l) <= l1) \
        & (np.asarray(b) >= b0) & (np.asarray(b) <= b1)
    return _drop_stars(cat, inside), int(inside.sum())


def _drop_stars(cat, mask):
    """The catalogue with the masked stars unobserved (NaN distance: they leave every bin).
    Keeping the number of stars fixed avoids recompiling the summaries for a new shape."""
    import equinox as eqx
    import jax.numpy as jnp

    return eqx.tree_at(lambda c: c.distance, cat, jnp.asarray(np.where(mask, np.nan, np.asarray(cat.distance))))


def test_posterior_missing_bins(trained):
    root, est = trained
    cat = jg.observables.default_observation().catalogue
    # a bin the estimator saw missing: fine (its indicator is set)
    r, *_ = jg.observables.star_velocities(cat)
    far = np.asarray(r) >= 134.0
    cat_far = _drop_stars(cat, far)
    s = jg.observables.summaries(cat_far)
    flagged = {n for n, f in zip(s.names, np.asarray(s.flags)) if f}
    assert flagged == set(FAR_BINS)
    post = inf.posterior(jax.random.key(1), cat_far, 100, est)
    assert np.all(np.isfinite(post["log10_m200"]))
    # a bin it never saw missing: a named error giving the bin and its star count
    cat_q1, n_removed = _without_bin(cat, (0.0, 180.0, 0.0, 90.0), 30.0, 56.0)
    assert n_removed > 0
    with pytest.raises(inf.MissingInputError, match=r"vgsr_mean_Q1_r30-56 \(0 stars\).*drop="):
        inf.posterior(jax.random.key(1), cat_q1, 100, est)


def test_no_shipped_estimator_is_a_clear_error():
    if os.path.exists(os.path.join(inf.shipped_estimator_path(), "metadata.json")):
        pytest.skip("an estimator ships with this installation")
    cat = jg.observables.default_observation().catalogue
    with pytest.raises(FileNotFoundError, match="jaxgal train"):
        inf.posterior(jax.random.key(0), cat, 10)


def test_infer_diagnose_plot_commands(trained, tmp_path):
    root, est = trained
    cat_path = str(tmp_path / "cat.ecsv")
    jg.observables.write_catalogue(jg.observables.default_observation().catalogue, cat_path)
    out = str(tmp_path / "post")
    assert cli.main(["infer", cat_path, "--estimator", str(root / "est"), "--n", "300", "--out", out,
                     "--set", "gamma=4.2"]) == 0
    res = json.load(open(os.path.join(out, "posterior.json")))
    assert set(res["table"]) == set(est.theta_names) and res["conditions"] == {"gamma": 4.2}
    t = res["table"]["log10_m200"]
    assert t["p16"] <= t["median"] <= t["p84"]
    for f in ("posterior.npz", "corner.png", "corner.pdf"):
        assert os.path.getsize(os.path.join(out, f)) > 0
    dout = str(tmp_path / "diag")
    assert cli.main(["diagnose", str(root / "est"), "--n-samples", "50", "--out", dout]) == 0
    diag = json.load(open(os.path.join(dout, "diagnostics.json")))
    assert diag["rows"] == [N_SIMS - HOLDOUT, N_SIMS] and diag["tarp"]["n_sims"] == HOLDOUT - 1
    assert diag["left_out_unseen_missing"] == 1 and UNSEEN_BIN not in est.missing_inputs
    assert -0.5 < diag["tarp"]["atc"] < 0.5 and set(diag["sbc"]["pvalues"]) == set(est.theta_names)
    for f in ("tarp.png", "tarp.pdf", "sbc.png", "sbc.pdf", "diagnostics.npz"):
        assert os.path.getsize(os.path.join(dout, f)) > 0
    for kind, src in (("corner", os.path.join(out, "posterior.npz")), ("tarp", os.path.join(dout, "diagnostics.npz")),
                      ("sbc", os.path.join(dout, "diagnostics.npz"))):
        assert cli.main(["plot", kind, src, "--out", str(tmp_path / f"re_{kind}")]) == 0
        assert os.path.getsize(str(tmp_path / f"re_{kind}.png")) > 0
    with pytest.raises(ValueError, match="not a posterior.npz"):
        cli.run_plot("corner", os.path.join(dout, "diagnostics.npz"))
