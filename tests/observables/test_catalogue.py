"""Catalogues and their I/O, bootstrap errors and the noise models, mock catalogues."""

from astropy.table import QTable, Table
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from obs_helpers import halo

import jaxgal  # noqa: F401  (x64)
import jaxgal.observables as obs
from jaxgal import frames as F


@pytest.fixture(scope="module")
def particles():
    return halo(jax.random.key(0), 6000, v_travel=(-10.0, -20.0, -35.0))


@pytest.fixture(scope="module")
def cat(particles):
    return obs.mock_catalogue(jax.random.key(1), particles, n_stars=1296)

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
    bs = obs.bootstrap_summaries(jax.random.key(5), cat, n_boot=200)  # as in test_summaries
    assert bs.errors.shape == (52,) and bs.samples.shape == (200, 52)
    e = np.asarray(bs.errors)
    good = ~np.asarray(bs.flags)
    assert np.all(e[good] > 0) and np.all(np.isfinite(e))
    # error of a mean ≈ dispersion / sqrt(n) (within the bootstrap's own noise)
    vals, counts = np.asarray(bs.values), np.asarray(bs.counts)
    ratio = e[:20] / (vals[20:40] / np.sqrt(counts[:20]))
    assert 0.75 < np.median(ratio[good[:20]]) < 1.25
    # and of a (clipped) dispersion ≈ dispersion / sqrt(2n)
    ratio = e[20:40] / (vals[20:40] / np.sqrt(2 * counts[20:40]))
    assert 0.75 < np.median(ratio[good[20:40]]) < 1.3
    same = obs.bootstrap_summaries(jax.random.key(5), cat, n_boot=200)
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
