"""Observables: the 52 summaries against astropy's sigma_clip, catalogues and their I/O,
bootstrap errors, the noise model and mock catalogues."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.stats import sigma_clip
from astropy.table import QTable, Table

import jaxgal  # noqa: F401  (x64)
import jaxgal.observables as obs
from jaxgal import frames as F


def halo(key, n, v_travel=(0.0, 0.0, 0.0), sigma=100.0, r_min=20.0, r_max=200.0):
    """Isotropic halo: ρ ∝ r^-3.5 in [r_min, r_max], Gaussian isotropic velocities of
    dispersion sigma and mean −v_travel (kpc, km/s)."""
    k1, k2, k3 = jax.random.split(key, 3)
    u = jax.random.uniform(k1, (n,))
    a = -0.5  # p(r) ∝ r^2 r^-3.5 = r^-1.5 → CDF ∝ r^-0.5
    r = (r_min**a + u * (r_max**a - r_min**a)) ** (1 / a)
    dirs = jax.random.normal(k2, (n, 3))
    dirs = dirs / jnp.linalg.norm(dirs, axis=1, keepdims=True)
    v = sigma * jax.random.normal(k3, (n, 3)) - jnp.asarray(v_travel)
    return jnp.concatenate([r[:, None] * dirs, v], 1)


@pytest.fixture(scope="module")
def particles():
    return halo(jax.random.key(0), 20_000, v_travel=(-10.0, -20.0, -35.0))


@pytest.fixture(scope="module")
def cat(particles):
    return obs.mock_catalogue(jax.random.key(1), particles, n_stars=1296)


def reference_summaries(r, l, b, vgsr, vtb, weights=None, cenfunc="mean", min_count=5):
    """Plain numpy + astropy sigma_clip implementation of SPEC §B (same conventions)."""
    if weights is not None:
        rep = np.asarray(weights).astype(int)
        r, l, b, vgsr, vtb = (np.repeat(np.asarray(a), rep) for a in (r, l, b, vgsr, vtb))
    r, l, b, vgsr, vtb = (np.asarray(a, dtype=float) for a in (r, l, b, vgsr, vtb))

    def bins(n):
        e = np.linspace(30, 160, n + 1)
        return [(r >= e[i]) & ((r < e[i + 1]) | ((i == n - 1) & (r == e[-1]))) for i in range(n)]

    def clip(x):
        x = x[np.isfinite(x)]
        if x.size < min_count:
            return 0.0, 0.0, x.size
        c = sigma_clip(x, sigma=3, maxiters=5, cenfunc=cenfunc, stdfunc="std")
        kept = c.compressed()
        return kept.mean(), kept.std(), x.size

    quad = np.full(r.shape, -1)
    for k, (l0, l1, b0, b1) in reversed(list(enumerate(obs.PAPER_QUADRANTS))):
        quad = np.where((l >= l0) & (l <= l1) & (b >= b0) & (b <= b1), k, quad)
    g = [clip(vgsr[(quad == q) & m]) for q in range(4) for m in bins(5)]
    t = [clip(vtb[m]) for m in bins(6)]
    values = [x[0] for x in g] + [x[1] for x in g] + [x[0] for x in t] + [x[1] for x in t]
    counts = [x[2] for x in g] * 2 + [x[2] for x in t] * 2
    return np.array(values), np.array(counts)


# --------------------------------------------------------------------------- summaries


def test_summary_names_and_order():
    names = obs.summary_names()
    assert len(names) == 52 and len(set(names)) == 52
    assert names[0] == "vgsr_mean_Q1_r30-56" and names[4] == "vgsr_mean_Q1_r134-160"
    assert names[5].startswith("vgsr_mean_Q2") and names[20] == "vgsr_sigma_Q1_r30-56"
    assert names[40].startswith("vtb_mean_r30-") and names[46].startswith("vtb_sigma_r30-")
    assert obs.SummaryConfig().n_values == 52


def test_summaries_match_astropy_sigma_clip_particles(particles):
    s = obs.summaries(particles)
    assert s.values.shape == (52,) and s.counts.shape == (52,) and s.flags.shape == (52,)
    ref, counts = reference_summaries(*obs.star_velocities(particles))
    np.testing.assert_allclose(np.asarray(s.values), ref, rtol=1e-12, atol=1e-10)
    np.testing.assert_array_equal(np.asarray(s.counts), counts)
    assert not bool(s.flags.any())
    # clipping happened somewhere (the statistic is not the plain mean)
    assert np.any(np.asarray(s.n_kept) < np.asarray(s.counts))


def test_summaries_of_catalogue_match_astropy(cat):
    # knock out some radial velocities and proper motions: those stars leave one statistic
    v_los = cat.v_los.at[::7].set(jnp.nan)
    pm_b = cat.pm_b.at[::5].set(jnp.nan)
    c2 = obs.make_catalogue(
        cat.l, cat.b, cat.distance, v_los, cat.pm_l_cosb, pm_b, cat.distance_err, cat.v_los_err,
        cat.pm_l_cosb_err, cat.pm_b_err, cat.pm_corr,
    )
    s = obs.summaries(c2)
    ref, counts = reference_summaries(*obs.star_velocities(c2))
    np.testing.assert_allclose(np.asarray(s.values), ref, rtol=1e-12, atol=1e-10)
    np.testing.assert_array_equal(np.asarray(s.counts), counts)
    assert np.all(np.isfinite(np.asarray(s.values)))


def test_catalogue_and_particle_paths_agree(particles):
    """Exact heliocentric observables give the same v_GSR, v_t,b, r_gal as particles."""
    sub = particles[:3000]
    exact = obs.catalogue_from_particles(sub)
    a = obs.star_velocities(sub)
    b = obs.star_velocities(exact)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-10, atol=1e-8)


def test_median_clipping_and_integer_weights_match_astropy(particles):
    sub = particles[:5000]
    cfg = obs.SummaryConfig(cenfunc="median")
    w = jax.random.randint(jax.random.key(3), (5000,), 0, 3).astype(float)
    s = obs.summaries(sub, cfg, weights=w)
    ref, counts = reference_summaries(*obs.star_velocities(sub), weights=w, cenfunc="median")
    np.testing.assert_allclose(np.asarray(s.values), ref, rtol=1e-12, atol=1e-10)
    np.testing.assert_array_equal(np.asarray(s.counts), counts)


def test_summaries_jit_and_vmap(particles):
    batch = jnp.stack([particles[:5000], particles[5000:10000]])
    f = jax.jit(jax.vmap(lambda p: obs.summaries(p).values))
    out = f(batch)
    assert out.shape == (2, 52)
    np.testing.assert_allclose(out[1], obs.summaries(batch[1]).values, rtol=1e-12, atol=1e-10)
    # a (B, N, 6) input is vmapped internally
    np.testing.assert_allclose(obs.summaries(batch).values, out, rtol=1e-12, atol=1e-10)


def test_sparse_bins_are_flagged_not_nan(particles):
    s = obs.summaries(particles[:60])  # ~1 star per bin
    v = np.asarray(s.values)
    assert np.all(np.isfinite(v))
    flags = np.asarray(s.flags)
    assert flags.any()
    np.testing.assert_array_equal(flags, np.asarray(s.counts) < 5)
    assert np.all(v[flags] == 0.0)


def test_all_stars_outside_range_are_all_flagged(particles):
    w = np.asarray(particles[:60]).copy()
    w[:, :3] *= 5.0 / np.linalg.norm(w[:, :3], axis=1, keepdims=True)  # every star at 5 kpc
    s = obs.summaries(w)
    assert bool(s.flags.all()) and np.all(np.asarray(s.values) == 0.0)
    assert np.all(np.asarray(s.counts) == 0)


def test_configurable_bins_quadrants_and_bad_config(particles):
    cfg = obs.SummaryConfig(
        gsr_edges=obs.equal_bins(50, 150, 2),
        tb_edges=(30.0, 80.0, 160.0),
        quadrants=((0, 360, 0, 90), (0, 360, -90, 0)),
        quadrant_names=("N", "S"),
        max_iters=0,
    )
    s = obs.summaries(particles, cfg)
    assert s.values.shape == (2 * 4 + 2 * 2,)
    assert s.names[0] == "vgsr_mean_N_r50-100"
    # max_iters = 0: no clipping, so the plain mean and std
    r, l, b, vg, vt = (np.asarray(a) for a in obs.star_velocities(particles))
    m = (r >= 30) & (r < 80)
    np.testing.assert_allclose(float(s.values[8]), vt[m].mean(), rtol=1e-12)
    np.testing.assert_allclose(float(s.values[10]), vt[m].std(), rtol=1e-12)
    with pytest.raises(ValueError, match="gsr_edges"):
        obs.SummaryConfig(gsr_edges=(30.0, 20.0))
    with pytest.raises(ValueError, match="cenfunc"):
        obs.SummaryConfig(cenfunc="mode")
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        obs.summaries(np.zeros((10, 5)))


# --------------------------------------------------------------------------- catalogues


def test_ecsv_round_trip(tmp_path, cat):
    path = tmp_path / "mock.ecsv"
    obs.write_catalogue(cat, path, meta={"note": "mock"})
    back = obs.read_catalogue(path)
    for name in obs.CATALOGUE_COLUMNS:
        np.testing.assert_allclose(np.asarray(getattr(back, name)), np.asarray(getattr(cat, name)))
    with pytest.raises(FileExistsError):
        obs.write_catalogue(cat, path)


def test_fits_and_csv_read(tmp_path, cat):
    t = cat.to_table()
    t.write(tmp_path / "c.fits")
    plain = Table({k: np.asarray(getattr(cat, k)) for k in obs.CATALOGUE_COLUMNS})
    plain.write(tmp_path / "c.csv", format="ascii.csv")
    for f in ("c.fits", "c.csv"):
        back = obs.read_catalogue(tmp_path / f)
        np.testing.assert_allclose(np.asarray(back.pm_b), np.asarray(cat.pm_b))


def test_missing_distance_column_raises(tmp_path, cat):
    t = cat.to_table()
    del t["distance"]
    t.write(tmp_path / "nodist.ecsv")
    with pytest.raises(KeyError, match="distance"):
        obs.read_catalogue(tmp_path / "nodist.ecsv")
    del t["pm_b_err"]
    with pytest.raises(KeyError, match="distance.*pm_b_err"):
        obs.catalogue_from_table(t)


def test_nan_and_unphysical_rows_reported_and_excluded(cat):
    t = Table(cat.to_table())  # plain columns (with units): assign floats
    t["distance"][3] = np.nan
    t["b"][4] = 95.0
    t["v_los"][5] = np.nan  # allowed: proper motions remain
    t["v_los"][6] = np.nan
    t["pm_l_cosb"][6] = np.nan  # no velocity at all
    t["pm_corr"][7] = 2.0
    with pytest.warns(UserWarning, match="4 of 1296 rows are unusable"):
        back = obs.catalogue_from_table(t)
    assert back.n_stars == 1292
    with pytest.raises(ValueError, match="unusable"):
        obs.catalogue_from_table(t, drop_invalid=False)
    with pytest.raises(ValueError, match="distance must be > 0"):
        obs.make_catalogue(0, 0, -1.0, 0, 0, 0)


def test_icrs_columns_rotated_to_galactic(cat):
    sub = cat.select(slice(0, 50))
    icrs = F.galactic_to_icrs(sub.l, sub.b, sub.distance, sub.v_los, sub.pm_l_cosb, sub.pm_b)
    t = QTable(
        {
            "ra": np.asarray(icrs.ra),
            "dec": np.asarray(icrs.dec),
            "distance": np.asarray(sub.distance),
            "radial_velocity": np.asarray(icrs.radial_velocity),
            "pmra": np.asarray(icrs.pm_ra_cosdec),
            "pmdec": np.asarray(icrs.pm_dec),
            "distance_err": np.asarray(sub.distance_err),
            "radial_velocity_err": np.asarray(sub.v_los_err),
            "pmra_error": np.full(50, 0.1),
            "pmdec_error": np.full(50, 0.1),
        }
    )
    back = obs.catalogue_from_table(t)
    np.testing.assert_allclose(np.asarray(back.l), np.asarray(sub.l), atol=1e-9)
    np.testing.assert_allclose(np.asarray(back.pm_b), np.asarray(sub.pm_b), atol=1e-9)
    # isotropic errors stay isotropic and uncorrelated under the rotation
    np.testing.assert_allclose(np.asarray(back.pm_b_err), 0.1, rtol=1e-9)
    np.testing.assert_allclose(np.asarray(back.pm_corr), 0.0, atol=1e-9)


# --------------------------------------------------------------------------- noise, mocks


def test_bootstrap_errors_and_noise(cat):
    bs = obs.bootstrap_summaries(jax.random.key(5), cat, n_boot=100)
    assert bs.errors.shape == (52,) and bs.samples.shape == (100, 52)
    e = np.asarray(bs.errors)
    good = ~np.asarray(bs.flags)
    assert np.all(e[good] > 0) and np.all(np.isfinite(e))
    # error of a mean ≈ dispersion / sqrt(n) (within the bootstrap's own noise)
    vals, counts = np.asarray(bs.values), np.asarray(bs.counts)
    ratio = e[:20] / (vals[20:40] / np.sqrt(counts[:20]))
    assert 0.75 < np.median(ratio[good[:20]]) < 1.25
    same = obs.bootstrap_summaries(jax.random.key(5), cat, n_boot=100)
    np.testing.assert_array_equal(np.asarray(same.errors), e)

    noisy = obs.add_noise(jax.random.key(6), obs.summaries(cat), bs.errors)
    assert noisy.shape == (52,)
    np.testing.assert_array_equal(np.asarray(noisy)[~good], np.asarray(bs.values)[~good])
    batch = obs.add_noise(jax.random.key(6), jnp.zeros((1000, 52)), bs.errors)
    np.testing.assert_allclose(np.asarray(batch).std(0)[good], e[good], rtol=0.15)
    with pytest.raises(ValueError, match="does not match"):
        obs.add_noise(jax.random.key(6), jnp.zeros(52), jnp.ones(51))


def test_mock_catalogue_error_model(particles, cat):
    assert cat.n_stars == 1296
    d, de = np.asarray(cat.distance), np.asarray(cat.distance_err)
    np.testing.assert_allclose(de / d, 0.1)
    np.testing.assert_allclose(np.asarray(cat.v_los_err), 3.0)
    # Gaia-like: σ_μ ≈ 0.08 mas/yr at 50 kpc, ≈ 0.2 at 100 kpc (M_G = −1.5)
    np.testing.assert_allclose(float(obs.gaia_pm_error(jnp.asarray(100.0))), 0.197, rtol=0.02)
    np.testing.assert_allclose(float(obs.gaia_pm_error(jnp.asarray(50.0))), 0.079, rtol=0.03)
    assert np.all(np.abs(np.asarray(cat.pm_corr)) <= 0.3)
    # true r_gal of the drawn stars in [30, 160]: the exact catalogue of the same key
    exact = obs.mock_catalogue(
        jax.random.key(1), particles, 1296, obs.ErrorModel(frac_distance=0.0, v_los_err=0.0, pm_scale=0.0)
    )
    r = np.asarray(obs.star_velocities(exact)[0])
    assert r.min() >= 30 - 1e-9 and r.max() <= 160 + 1e-9
    with pytest.raises(ValueError, match="only"):
        obs.mock_catalogue(jax.random.key(1), particles[:100], 1296)


def test_selection_matched_mock(particles, cat):
    obs_cat = cat.select(slice(0, 300))
    obs_cat = obs.make_catalogue(
        obs_cat.l, obs_cat.b, obs_cat.distance, obs_cat.v_los.at[::3].set(jnp.nan),
        obs_cat.pm_l_cosb, obs_cat.pm_b, obs_cat.distance_err, obs_cat.v_los_err,
        obs_cat.pm_l_cosb_err, obs_cat.pm_b_err, obs_cat.pm_corr,
    )
    m = obs.selection_matched_mock(jax.random.key(7), particles, obs_cat)
    assert m.n_stars == 300
    np.testing.assert_array_equal(np.isnan(np.asarray(m.v_los)), np.isnan(np.asarray(obs_cat.v_los)))
    np.testing.assert_allclose(np.asarray(m.v_los_err), np.asarray(obs_cat.v_los_err))
    np.testing.assert_allclose(
        np.asarray(m.distance_err / m.distance), np.asarray(obs_cat.distance_err / obs_cat.distance)
    )
    # footprint: matched particles lie close to the observed stars on the sky
    cos = np.sin(np.radians(m.b)) * np.sin(np.radians(obs_cat.b)) + np.cos(
        np.radians(m.b)
    ) * np.cos(np.radians(obs_cat.b)) * np.cos(np.radians(m.l - obs_cat.l))
    sep = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    assert np.median(sep) < 10.0
    s = obs.summaries(m)
    assert np.all(np.isfinite(np.asarray(s.values)))
