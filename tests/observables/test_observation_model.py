"""Observation models: a simulation at the default observation's θ observed through the
errors of that catalogue reproduces its dispersions (error-free summaries do not); errors,
missing observables and cuts follow the catalogue; persistence and identifiers; jit/vmap;
the finite-sample noise of simulated summaries."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from obs_helpers import halo, load_sim_fixture
from scipy import stats

import jaxgal  # noqa: F401  (x64)
import jaxgal.observables as obs


@pytest.fixture(scope="module")
def default_obs():
    return obs.default_observation()


@pytest.fixture(scope="module")
def sim():
    return load_sim_fixture()[0]


@pytest.fixture(scope="module")
def cat_model(default_obs):
    return obs.CatalogueErrorModel.from_catalogue(default_obs.catalogue, source="default mock")


def _z(values, counts, d):
    """(values − observed) in units of the observed bootstrap error combined with the
    simulated summary's own sampling error ≈ σ_boot √(n_obs / n_sim)."""
    sig = d.errors * np.sqrt(1.0 + d.counts / np.maximum(np.asarray(counts), 1.0))
    return (np.asarray(values) - d.values) / np.where(sig > 0, sig, np.inf)


def test_observed_dispersions_match_the_catalogue(default_obs, sim, cat_model):
    """A simulation at the mock's θ (independent particles) observed through the errors of
    the catalogue has the catalogue's dispersions within their errors (χ² of the 26
    dispersions below its 99th percentile; each v_t,b dispersion within 3σ); the error-free
    particles do not (the v_t,b dispersions beyond 50 kpc are proper-motion-error dominated:
    observed 108/177/236 km/s in the last three bins, error-free ~45–55)."""
    d = default_obs
    disp = np.r_[20:40, 46:52]
    s_obs = obs.observed_summaries(jax.random.key(0), sim, cat_model)
    s_free = obs.summaries(sim)
    z_obs = _z(s_obs.values, s_obs.counts, d)[disp]
    z_free = _z(s_free.values, s_free.counts, d)[disp]
    assert not d.flags[disp].any()
    chi2_99 = stats.chi2.ppf(0.99, disp.size)
    assert np.sum(z_obs**2) < chi2_99, np.round(z_obs, 2)
    assert np.all(np.abs(z_obs[-6:]) < 3.0), np.round(z_obs[-6:], 2)
    assert np.sum(z_free**2) > 3 * chi2_99, np.sum(z_free**2)
    assert np.sum(np.abs(z_free[-6:]) > 3.0) >= 3, np.round(z_free[-6:], 2)
    # the means do not care about the errors: both are consistent
    means = np.r_[0:20, 40:46]
    assert np.sum(_z(s_obs.values, s_obs.counts, d)[means] ** 2) < stats.chi2.ppf(0.999, 26)


def test_errors_follow_the_catalogue(default_obs, sim, cat_model):
    """Each particle takes the errors of catalogue stars at a similar distance in its
    quadrant: the median proper-motion error and fractional distance error in distance bins
    of the observed particles equal those of the catalogue's stars (within 10%)."""
    o = cat_model.observe(jax.random.key(1), sim)
    c = default_obs.catalogue
    d_cat, e_cat = np.asarray(c.distance), np.asarray(c.pm_b_err)
    d_sim, e_sim = np.asarray(o.catalogue.distance), np.asarray(o.catalogue.pm_b_err)
    for lo, hi in ((30, 50), (50, 80), (80, 120), (120, 160)):
        mc = (d_cat >= lo) & (d_cat < hi)
        ms = (d_sim >= lo) & (d_sim < hi)
        assert mc.sum() > 30 and ms.sum() > 100
        np.testing.assert_allclose(np.median(e_sim[ms]), np.median(e_cat[mc]), rtol=0.10)
    frac = np.asarray(o.catalogue.distance_err / o.catalogue.distance)
    np.testing.assert_allclose(frac, 0.1, rtol=1e-9)  # the mock has 10% distances
    assert o.catalogue.n_stars == sim.shape[0] and bool(o.selected.all())


def _with_pattern(cat):
    """The catalogue with the Q1 stars beyond 60 kpc missing v_los, the Q3 stars missing
    proper motions, and fractional distance errors uniform in [0.05, 0.45]."""
    rng = np.random.default_rng(0)
    l, b = np.asarray(cat.l), np.asarray(cat.b)
    q1 = (l <= 180) & (b >= 0)
    q3 = (l <= 180) & (b < 0)
    v = np.where(q1 & (np.asarray(cat.distance) > 60.0), np.nan, np.asarray(cat.v_los))
    pml = np.where(q3, np.nan, np.asarray(cat.pm_l_cosb))
    pmb = np.where(q3, np.nan, np.asarray(cat.pm_b))
    frac = rng.uniform(0.05, 0.45, l.size)
    return obs.make_catalogue(
        cat.l, cat.b, cat.distance, v, pml, pmb, frac * np.asarray(cat.distance), cat.v_los_err,
        cat.pm_l_cosb_err, cat.pm_b_err, cat.pm_corr,
    )


def test_missing_observables_and_quality_cuts(default_obs, sim):
    cat = _with_pattern(default_obs.catalogue)
    m = obs.CatalogueErrorModel.from_catalogue(cat, cuts=obs.QualityCuts(max_frac_distance_err=0.25))
    o = m.observe(jax.random.key(2), sim)
    oc = o.catalogue
    l, b = np.asarray(oc.l), np.asarray(oc.b)
    q1, q3 = (l <= 180) & (b >= 0), (l <= 180) & (b < 0)
    miss_v = np.isnan(np.asarray(oc.v_los))
    miss_pm = np.isnan(np.asarray(oc.pm_b))
    # by distance within the quadrant (k_nearest = 8 stars in distance blur the edge a little)
    d_true = np.asarray(obs.catalogue_from_particles(sim).distance)
    assert miss_v[q1 & (d_true > 66)].all() and not miss_v[q1 & (d_true < 54)].any()
    assert not miss_v[~q1].any()
    assert miss_pm[q3].all() and not miss_pm[~q3].any()
    assert np.all(np.isnan(np.asarray(oc.pm_b_err))[q3])
    # the cut, on the reported σ_d/d_obs: (0.25 − 0.05)/0.40 of the stars pass
    sel = np.asarray(o.selected)
    assert abs(sel.mean() - 0.5) < 0.03, sel.mean()
    frac = np.asarray(oc.distance_err / oc.distance)
    assert np.all(frac[sel] < 0.25) and np.all(frac[~sel] >= 0.25)
    # the summaries drop unselected stars, and the stars without v_los from v_GSR only
    s = obs.observed_summaries(jax.random.key(2), sim, m)
    r = np.asarray(obs.star_velocities(oc)[0])
    inside = sel & (r >= 30) & (r <= 160)
    assert np.asarray(s.counts)[40:46].sum() == (inside & ~miss_pm).sum()
    assert np.asarray(s.counts)[:20].sum() == (inside & ~miss_v).sum()


def test_error_model_is_an_observation_model():
    """The analytic Gaia-DR3-like model through the same interface: its errors as documented
    (10% distances, 3 km/s, σ_μ(d) of an M_G = −1.5 giant, |ρ| ≤ 0.3), the observed values
    scattered by them (pulls ~ N(0, 1))."""
    p = halo(jax.random.key(4), 4000)
    em = obs.ErrorModel()
    o = em.observe(jax.random.key(5), p)
    true = obs.catalogue_from_particles(p)
    c = o.catalogue
    np.testing.assert_allclose(np.asarray(c.distance_err / c.distance), 0.1)
    np.testing.assert_allclose(np.asarray(c.v_los_err), 3.0)
    np.testing.assert_allclose(np.asarray(c.pm_b_err), np.asarray(obs.gaia_pm_error(true.distance)))
    assert np.all(np.abs(np.asarray(c.pm_corr)) <= 0.3)
    for x, t, e in ((c.v_los, true.v_los, c.v_los_err), (c.pm_b, true.pm_b, c.pm_b_err),
                    (c.distance, true.distance, 0.1 * true.distance)):
        z = np.asarray((x - t) / e)
        assert abs(z.mean()) < 0.1 and abs(z.std() - 1.0) < 0.05
    with pytest.raises(ValueError, match="shape"):
        em.observe(jax.random.key(0), jnp.zeros((5, 4)))


def test_save_load_and_identifier(tmp_path, default_obs, cat_model):
    m = cat_model
    again = obs.CatalogueErrorModel.from_catalogue(default_obs.catalogue, source="default mock")
    assert again.identifier == m.identifier and m.identifier.startswith("catalogue-errors-")
    other = obs.CatalogueErrorModel.from_catalogue(default_obs.catalogue, source="default mock", k_nearest=4)
    cut = obs.CatalogueErrorModel.from_catalogue(
        default_obs.catalogue, source="default mock", cuts=obs.QualityCuts(0.25)
    )
    assert len({m.identifier, other.identifier, cut.identifier}) == 3
    path = m.save(tmp_path / "survey")
    assert path.endswith(".npz")
    back = obs.load_observation_model(path)
    assert isinstance(back, obs.CatalogueErrorModel) and back.identifier == m.identifier
    o1 = m.observe(jax.random.key(3), halo(jax.random.key(3), 500))
    o2 = back.observe(jax.random.key(3), halo(jax.random.key(3), 500))
    np.testing.assert_array_equal(np.asarray(o1.catalogue.pm_b), np.asarray(o2.catalogue.pm_b))
    em = obs.ErrorModel(frac_distance=0.2, cuts=obs.QualityCuts(max_pm_err=0.5))
    back = obs.load_observation_model(em.save(tmp_path / "gaia.npz"))
    assert back == em and back.identifier == em.identifier != obs.ErrorModel().identifier
    # no pickle anywhere; a tampered file and an unknown version are refused
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["frac_distance"] = arrays["frac_distance"] * 1.01
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="identifier"):
        obs.load_observation_model(tmp_path / "bad.npz")
    arrays["__meta__"] = np.array(str(arrays["__meta__"]).replace('"format_version": 1', '"format_version": 99'))
    np.savez(tmp_path / "v99.npz", **arrays)
    with pytest.raises(ValueError, match="version"):
        obs.load_observation_model(tmp_path / "v99.npz")


def test_jit_and_vmap_over_simulations(sim, cat_model):
    other = sim.at[:, 3:].multiply(-1.0)  # a second "simulation": velocities reversed
    batch = jnp.stack([sim, other])
    keys = jax.random.split(jax.random.key(6), 2)
    f = jax.jit(jax.vmap(lambda k, p: obs.observed_summaries(k, p, cat_model).values))
    out = f(keys, batch)
    assert out.shape == (2, 52)
    one = obs.observed_summaries(keys[1], other, cat_model).values
    np.testing.assert_allclose(np.asarray(out[1]), np.asarray(one), rtol=1e-10, atol=1e-8)


def test_finite_sample_noise(default_obs, sim, cat_model):
    """σ_add of the docs: σ_add² = σ_boot² (s_sim/s_obs)² (1 − n_obs/n_sim), so that with the
    simulation's own sampling variance σ_boot² (s_sim/s_obs)² n_obs/n_sim (errors of clipped
    means and dispersions ∝ s/√n, checked on bootstrap errors in test_catalogue.py) the total
    is the data's variance at the simulated θ; flagged or undersampled bins get no noise;
    noise draws have that σ."""
    d = default_obs
    s_sim = obs.observed_summaries(jax.random.key(7), sim, cat_model)
    n_sim = np.asarray(s_sim.counts)
    disp_idx = obs._noise._dispersion_index(s_sim.names)
    assert s_sim.names[disp_idx[3]] == s_sim.names[3].replace("_mean_", "_sigma_")
    scale = np.asarray(s_sim.values)[disp_idx] / d.values[disp_idx]
    own = d.errors * scale * np.sqrt(d.counts / n_sim)  # the simulation's sampling error
    sig = np.asarray(obs.finite_sample_sigma(s_sim, d.errors, d.counts, d.values))
    np.testing.assert_allclose(np.sqrt(sig**2 + own**2), d.errors * scale, rtol=1e-10)
    assert np.all(n_sim > d.counts) and np.all(sig > 0)
    sig0 = np.asarray(obs.finite_sample_sigma(s_sim, d.errors, d.counts, scale_with_dispersion=False))
    np.testing.assert_allclose(sig0, d.errors * np.sqrt(1 - d.counts / n_sim), rtol=1e-10)
    boot = obs.BootstrapSummaries(
        jnp.asarray(d.values), jnp.asarray(d.errors), jnp.asarray(d.counts), jnp.asarray(d.flags),
        jnp.zeros((1, 52)), d.names,
    )
    draws = jax.vmap(lambda k: obs.add_finite_sample_noise(k, s_sim, boot))(
        jax.random.split(jax.random.key(9), 2000)
    )
    np.testing.assert_allclose(np.asarray(draws).std(0), sig, rtol=0.1)
    few = obs.Summaries(s_sim.values, jnp.full(52, 1.0), s_sim.n_kept, s_sim.flags, s_sim.names)
    assert np.all(np.asarray(obs.finite_sample_sigma(few, d.errors, d.counts, d.values)) == 0.0)
    flagged = obs.Summaries(s_sim.values, s_sim.counts, s_sim.n_kept, jnp.ones(52, bool), s_sim.names)
    assert np.all(np.asarray(obs.finite_sample_sigma(flagged, d.errors, d.counts, d.values)) == 0.0)
    with pytest.raises(ValueError, match="obs_values"):
        obs.finite_sample_sigma(s_sim, d.errors, d.counts)
