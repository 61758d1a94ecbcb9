"""Saving and loading estimators, and the named errors at the estimator's boundary."""

import json
import os

import jax
import numpy as np
import pytest
from _npe_problems import TWO_D_CONFIG, simulate, trained_gaussian, two_d_problem

import jaxgal.inference as inf

D, K_IN = 5, 6


@pytest.fixture(scope="module")
def est():
    return trained_gaussian(D, K_IN, 3000, 2)


def test_round_trip_identical(est, tmp_path):
    e, A, noise = est
    path = e.save(str(tmp_path / "est"))
    back = inf.load_npe(path)
    _, xs = simulate(A, noise, 3, 5)
    s1 = np.asarray(e.sample(jax.random.key(4), xs, 300))
    s2 = np.asarray(back.sample(jax.random.key(4), xs, 300))
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(np.asarray(e.log_prob(s1, xs[:, None, :])), np.asarray(back.log_prob(s1, xs[:, None, :])))
    assert back.theta_names == e.theta_names and back.x_names == e.x_names
    np.testing.assert_array_equal(back.weights, e.weights)
    assert back.history == e.history and back.config == e.config
    meta = json.load(open(os.path.join(path, "metadata.json")))
    assert meta["format_version"] == inf.FORMAT_VERSION and meta["format"] == "jaxgal-npe"
    assert meta["config"]["flow_layers"] == 5 and meta["config"]["nn_width"] == 50
    assert len(meta["history"]) == 2 and meta["weights"] == pytest.approx(list(e.weights))
    # same key, same draws; another key, other draws
    s3 = np.asarray(e.sample(jax.random.key(5), xs, 300))
    assert not np.array_equal(s1, s3)


def test_load_errors(est, tmp_path):
    e, *_ = est
    path = e.save(str(tmp_path / "est"))
    mpath = os.path.join(path, "metadata.json")
    meta = json.load(open(mpath))
    # a different format version
    bad = dict(meta, format_version=meta["format_version"] + 1)
    vdir = tmp_path / "v"
    vdir.mkdir()
    (vdir / "metadata.json").write_text(json.dumps(bad))
    os.link(os.path.join(path, "flows.eqx"), vdir / "flows.eqx")
    with pytest.raises(inf.EstimatorVersionError, match="format version"):
        inf.load_npe(str(vdir))
    # weights that do not match the metadata: altered bytes, or another estimator's arrays
    wpath = os.path.join(path, "flows.eqx")
    raw = bytearray(open(wpath, "rb").read())
    raw[-3] ^= 0xFF
    open(wpath, "wb").write(bytes(raw))
    with pytest.raises(inf.EstimatorFileError, match="does not match"):
        inf.load_npe(path)
    # another estimator's arrays (one member instead of two) under a matching checksum
    import equinox as eqx
    import hashlib

    import jax.numpy as jnp

    from jaxgal.inference._npe import _member, _stack

    one = eqx.tree_at(lambda m: (m.flows, m.log_weights), e, (_stack([_member(e.flows, 0)]), jnp.zeros(1)))
    other = tmp_path / "other"
    one.save(str(other))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "flows.eqx").write_bytes((other / "flows.eqx").read_bytes())
    meta2 = dict(meta, weights_sha256=hashlib.sha256((other / "flows.eqx").read_bytes()).hexdigest())
    (mixed / "metadata.json").write_text(json.dumps(meta2))
    with pytest.raises(inf.EstimatorFileError, match="do not match the metadata"):
        inf.load_npe(str(mixed))
    with pytest.raises(FileNotFoundError):
        inf.load_npe(str(tmp_path / "nowhere"))


def test_input_errors(est):
    e, A, noise = est
    _, xs = simulate(A, noise, 1, 3)
    xo = xs[0]
    key = jax.random.key(0)
    with pytest.raises(inf.InputMismatchError, match="expects 6 inputs"):
        e.sample(key, xo[:5], 10)
    with pytest.raises(inf.InputMismatchError, match="expects 6 inputs"):
        e.log_prob(np.zeros(D), np.append(xo, 1.0))
    names = list(e.x_names)
    with pytest.raises(inf.InputMismatchError, match="another order"):
        e.sample(key, xo, 10, x_names=names[::-1])
    with pytest.raises(inf.InputMismatchError, match=r"missing \['x_5'\]"):
        e.sample(key, xo, 10, x_names=names[:5] + ["vgsr_mean_Q1_r30-56"])
    with pytest.raises(inf.InputMismatchError, match="lacks"):
        e.sample(key, dict(zip(names[:5], xo[:5])), 10)
    # a mapping with the right names (plus extras) works and equals the array call
    m = dict(zip(names, xo)) | {"unused": 1.0}
    np.testing.assert_array_equal(np.asarray(e.sample(key, m, 20)), np.asarray(e.sample(key, xo, 20)))
    # NaN in an input never missing in training: a named error naming the input
    xn = xo.copy()
    xn[2] = np.nan
    with pytest.raises(inf.MissingInputError, match=r"\['x_2'\].*never saw them missing.*drop="):
        e.sample(key, xn, 10)
    with pytest.raises(inf.MissingInputError):
        e.log_prob(np.zeros(D), xn)
    with pytest.raises(inf.InputMismatchError, match="infinite"):
        e.sample(key, np.where(np.arange(K_IN) == 0, np.inf, xo), 10)
    with pytest.raises(ValueError, match="last axis 5"):
        e.log_prob(np.zeros(4), xo)


def test_train_validation_errors():
    rng = np.random.default_rng(0)
    th, x = rng.normal(size=(50, 2)), rng.normal(size=(50, 3))
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="40 rows"):
        inf.train_npe(key, th[:40], x, 1)
    bad = th.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"targets \['theta_1'\] have non-finite"):
        inf.train_npe(key, bad, x, 1)
    xa = x.copy()
    xa[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"\['x_2'\] are missing \(NaN\) in every row"):
        inf.train_npe(key, th, xa, 1)
    with pytest.raises(ValueError, match="drop names"):
        inf.train_npe(key, th, x, 1, drop=["nope"])
    with pytest.raises(ValueError, match="log needs > 0"):
        inf.train_npe(key, th, x, 1, config=inf.NPEConfig(transforms={"theta_0": "log10"}))
    with pytest.raises(ValueError, match="needs bounds"):
        inf.NPEConfig(transforms={"a": "logit"})
    with pytest.raises(ValueError, match="NPEConfig.patience"):
        inf.NPEConfig(patience=0)
    with pytest.raises(ValueError, match="unknown setting"):
        inf.NPEConfig.from_dict({"layers": 3})
    with pytest.raises(ValueError, match="outside its bounds"):
        inf.train_npe(key, th, x, 1, theta_names=["a", "b"], config=inf.NPEConfig(bounds={"a": (0.0, 1.0)}))


def test_drop_and_lr_reductions():
    """`drop` removes inputs by name; `lr_reductions` restarts from the best weights once
    before stopping (same flow architecture as the 2-D problems: shared compilation)."""
    theta, x = two_d_problem(2000, seed=5)
    x = np.c_[x, np.random.default_rng(3).normal(size=len(x))]
    cfg = inf.NPEConfig(**dict(TWO_D_CONFIG, patience=2, lr_reductions=1, max_epochs=500, learning_rate=3e-3))
    e = inf.train_npe(jax.random.key(0), theta, x, 1, x_names=["a", "b", "noise"], config=cfg, drop=["noise"])
    assert e.x_names == ("a", "b")
    h = e.history[0]
    assert h.stop_reason == "patience"
    assert len(h.lr_drop_epochs) == 1 and h.lr_drop_epochs[0] < h.n_epochs - 1
    # after the reduction, training restarted from the best weights: the best epoch's loss
    # is the minimum of the whole history
    assert h.best_val_loss == min(h.val_loss)


@pytest.mark.slow
def test_float32_estimator(tmp_path):
    """dtype="float32": the flows train and evaluate in single precision, and round-trip."""
    theta, x = two_d_problem(2000, seed=9)
    e = inf.train_npe(jax.random.key(0), theta, x, 2, config=inf.NPEConfig(**dict(TWO_D_CONFIG, dtype="float32")))
    leaves = [a for a in jax.tree.leaves(e.flows) if hasattr(a, "dtype") and a.dtype.kind == "f"]
    assert leaves and all(a.dtype == np.float32 for a in leaves)
    s = np.asarray(e.sample(jax.random.key(1), x[0], 500))
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(np.asarray(e.log_prob(s, x[0]))))
    back = inf.load_npe(e.save(str(tmp_path / "f32")))
    np.testing.assert_array_equal(np.asarray(back.sample(jax.random.key(1), x[0], 500)), s)
