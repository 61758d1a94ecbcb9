"""The estimator shipped in jaxgal/data/npe: loading, round trip, the posterior of the embedded
observation, and the named errors of ``jaxgal.inference.posterior`` on bad input."""

import json
import os
import shutil

import jax
import numpy as np
import pytest

import jaxgal as jg
from jaxgal import inference as inf

SHIPPED = inf.shipped_estimator_path()
pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(SHIPPED, "metadata.json")),
                                reason="no estimator ships in jaxgal/data/npe (train one: jaxgal train "
                                       "jaxgal/data/npe/train.toml)")

TARGETS = {"log10_m200", "m_mw_50", "m_lmc_50", "v_travel_100", "beta0"}
LEARNED = {"log10_m200", "m_lmc", "v_travel_100", "beta0"}


@pytest.fixture(scope="module")
def est():
    return inf.load_shipped_estimator()


@pytest.fixture(scope="module")
def obs():
    return jg.observables.default_observation()


def test_shipped_metadata_and_round_trip(est, tmp_path):
    assert LEARNED <= set(est.theta_names)
    # M_MW(<50 kpc) follows from log10_m200 through the stored table: check it against the MW
    # potential directly (between two grid nodes). The shipped estimator was trained on
    # simulations with the Smith et al. disc, milky_way's default before FittedExponentialDisc:
    # its table is that model's (disc="mn3").
    from jaxgal.potentials import milky_way

    tab = est.metadata["mw_mass_table"]
    lm = 11.6011
    got = inf.add_derived_masses({"log10_m200": np.array([lm])}, tab)["m_mw_50"][0]
    want = float(milky_way(10.0**lm, disc="mn3").mass_enclosed(50.0))
    assert abs(got / want - 1) < 1e-6
    names = jg.observables.summary_names()
    # conditioned on the 52 summaries in order, then the LMC coordinates and γ (the paper's choice)
    assert est.x_names[:52] == names
    assert set(est.x_names[52:]) == set(inf.DEFAULT_CONDITIONS)
    # trained on four selection-matched mocks of the embedded catalogue per simulation
    assert est.metadata["summaries_key"] == "summaries_mock" and est.metadata["mocks_per_simulation"] == 4
    assert len(est.metadata["observation_counts"]) == 52
    est.save(str(tmp_path / "copy"))
    again = inf.load_npe(str(tmp_path / "copy"))
    x = dict(zip(names, jg.observables.default_observation().values_or_nan().tolist()), **inf.DEFAULT_CONDITIONS)
    x_row = np.array([x[k] for k in est.x_names])
    a = est.sample(jax.random.key(3), x_row, 64)
    b = again.sample(jax.random.key(3), x_row, 64)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(np.asarray(est.log_prob(a, x_row)), np.asarray(again.log_prob(a, x_row)), rtol=1e-12)


def test_posterior_of_the_embedded_observation(est, obs):
    post = inf.posterior(jax.random.key(0), obs.catalogue, 4000)
    assert TARGETS <= set(post)
    assert all(np.all(np.isfinite(v)) and v.shape == (4000,) for v in post.values())
    assert np.all((post["log10_m200"] > 10.5) & (post["log10_m200"] < 12.5))
    assert np.all((post["beta0"] > 0) & (post["beta0"] < 0.85))
    # the mock's truth lies inside the central 99 % of each marginal (a statistical check: for a
    # calibrated posterior each fails with probability 1 %)
    truth = {"log10_m200": obs.meta["theta"]["log10_m200"], "beta0": obs.meta["theta"]["beta0"],
             "m_lmc": obs.meta["theta"]["m_lmc"],
             "m_mw_50": obs.meta["derived"]["m_mw_50"], "m_lmc_50": obs.meta["derived"]["m_lmc_50"]}
    for k, t in truth.items():
        lo, hi = np.percentile(post[k], [0.5, 99.5])
        assert lo <= t <= hi, (k, lo, t, hi)


@pytest.mark.filterwarnings("ignore:posterior. the catalogue.s star counts")
def test_bad_catalogues_give_named_errors(est, obs, tmp_path):
    cat = obs.catalogue
    # missing columns: a table or a file without the proper motions' errors
    table = jg.observables.catalogue_to_table(cat)
    table.remove_column("pm_b_err")
    with pytest.raises(inf.CatalogueColumnsError, match="pm_b_err"):
        inf.posterior(jax.random.key(0), table, 10, est)
    path = str(tmp_path / "cat.ecsv")
    table.write(path)
    with pytest.raises(inf.CatalogueColumnsError, match="missing column"):
        inf.posterior(jax.random.key(0), path, 10, est)
    # too few stars in a bin: unobserve all but 3 of the stars of one bin
    r, l, b, _, _ = jg.observables.star_velocities(cat)
    r, l, b = (np.asarray(a) for a in (r, l, b))
    inside = np.flatnonzero((r >= 30) & (r < 56) & (l <= 180) & (b >= 0))
    assert inside.size > 5
    drop = np.zeros(r.shape, bool)
    drop[inside[3:]] = True
    import equinox as eqx
    import jax.numpy as jnp

    few = eqx.tree_at(lambda c: c.distance, cat, jnp.asarray(np.where(drop, np.nan, np.asarray(cat.distance))))
    with pytest.raises(inf.TooFewStarsError, match=r"vgsr_mean_Q1_r30-56 \(3 stars\)"):
        inf.posterior(jax.random.key(0), few, 10, est)
    # summaries other than those the estimator was trained on
    other = jg.observables.SummaryConfig(gsr_edges=jg.observables.equal_bins(30.0, 160.0, 4))
    with pytest.raises(inf.InputMismatchError):
        inf.posterior(jax.random.key(0), cat, 10, est, summary_config=other)


def test_version_mismatch_and_tampering(tmp_path):
    dst = tmp_path / "npe"
    shutil.copytree(SHIPPED, dst, ignore=shutil.ignore_patterns("*.toml"))
    meta = json.load(open(dst / "metadata.json"))
    meta["format_version"] = meta["format_version"] + 1
    json.dump(meta, open(dst / "metadata.json", "w"))
    with pytest.raises(inf.EstimatorVersionError, match="format version"):
        inf.load_npe(str(dst))
    meta["format_version"] -= 1
    json.dump(meta, open(dst / "metadata.json", "w"))
    with open(dst / "flows.eqx", "r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(inf.EstimatorFileError, match="does not match"):
        inf.load_npe(str(dst))
