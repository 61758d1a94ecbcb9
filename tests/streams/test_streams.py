"""Stream-track accelerations (jaxgal.streams): data, spline track + NUTS, accelerations on
orbits and mock streams, enclosed mass / flattening, halo fits, CLI.

Fast tests use short NUTS runs on small mocks; the full science checks (tilted triaxial
mock with the halo fit, the GD-1-I21 fit) are marked ``slow``.
"""

import os

import jax
import numpy as np
import pytest
from conftest import DATA

import jaxgal as jg
from jaxgal import streams as st
from jaxgal.streams import _halo, _mock, _models

# The paper's published point and accelerations (abstract): (R, z, φ) = (11.9 kpc, 7.3 kpc,
# 171.1°), a = (−2.5, 0.2, −1.8) km/s/Myr (a_R, a_φ, a_z).
PAPER_RZPHI = (11.9, 7.3, 171.1)
PAPER_A = (-2.5, 0.2, -1.8)


def _paper_xyz():
    R, z, phi = PAPER_RZPHI
    p = np.deg2rad(phi)
    return np.array([R * np.cos(p), R * np.sin(p), z])


def _cyl_to_cart(x, a_cyl):
    phi = np.arctan2(x[1], x[0])
    c, s = np.cos(phi), np.sin(phi)
    return np.array([a_cyl[0] * c - a_cyl[1] * s, a_cyl[0] * s + a_cyl[1] * c, a_cyl[2]])


# ---------------------------------------------------------------------------------------
# unit checks (NOTES §2)
# ---------------------------------------------------------------------------------------
def test_enclosed_mass_from_paper_acceleration():
    x = _paper_xyz()
    a = _cyl_to_cart(x, PAPER_A)
    m = st.enclosed_mass(x, a)
    assert m == pytest.approx(1.37e11, rel=0.01)
    # radial component only: 1.36e11
    assert st.enclosed_mass(x, a, radial_only=True) == pytest.approx(1.36e11, rel=0.01)


def test_potential_flattening_from_paper_point():
    R, z, _ = PAPER_RZPHI
    q = st.potential_flattening(R, z, PAPER_A[0], PAPER_A[2])
    assert q == pytest.approx(0.923, abs=0.002)
    assert np.isnan(st.potential_flattening(R, z, 1.0, -1.0))


def test_cylindrical_round_trip_and_sun_azimuth():
    x = _paper_xyz()
    cyl = st.cylindrical(x, _cyl_to_cart(x, PAPER_A))
    np.testing.assert_allclose(cyl, PAPER_A, atol=1e-12)
    np.testing.assert_allclose(st.cylindrical_positions(x), PAPER_RZPHI, atol=1e-9)
    # the Sun sits at φ = 180° in the astropy frame
    sun = np.asarray(jg.frames.GalactocentricFrame().sun_position())
    assert st.cylindrical_positions(sun)[2] == pytest.approx(180.0)


def test_enclosed_mass_matches_spherical_potential():
    nfw = jg.potentials.NFW(8e11, 16.0)
    x = np.array([[3.0, -8.0, 9.0], [12.0, 1.0, -2.0]])
    a = np.asarray(nfw.acceleration(x))
    np.testing.assert_allclose(st.enclosed_mass(x, a), np.asarray(nfw.mass_enclosed(np.linalg.norm(x, axis=1))),
                               rtol=1e-10)


# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------
MEMBERS = os.path.join(DATA, "gd1_bonaca2020_members.csv")


def test_read_stream_csv_members():
    d = st.read_stream(MEMBERS)
    assert len(d) == 43
    assert np.all(np.diff(d.phi1) >= 0)
    assert np.all(np.isnan(d.column("distance")))  # no distances in this catalogue: NaN
    assert np.all(np.isfinite(d.column("radial_velocity")))
    assert -47 < d.phi1.min() and d.phi1.max() < -28


def test_read_stream_table_icrs_and_errors():
    from astropy.table import Table

    t = Table.read(MEMBERS, format="ascii.csv")
    sky = jg.frames.gd1_to_icrs(t["phi1"], t["phi2"], t["pm_phi1_cosphi2"], t["pm_phi2"])
    icrs = Table(dict(ra=np.asarray(sky.ra), dec=np.asarray(sky.dec), pm_ra_cosdec=np.asarray(sky.pm_ra_cosdec),
                      pm_dec=np.asarray(sky.pm_dec), pm_ra_cosdec_err=t["pm_phi2_err"], pm_dec_err=t["pm_phi2_err"],
                      distance=t["distance"], distance_err=t["distance_err"],
                      radial_velocity=t["radial_velocity"], radial_velocity_err=t["radial_velocity_err"]))
    d = st.read_stream(icrs)
    d0 = st.read_stream(t)
    np.testing.assert_allclose(d.phi1, d0.phi1, atol=1e-8)
    np.testing.assert_allclose(d.column("pm_phi2"), d0.column("pm_phi2"), atol=1e-8)
    np.testing.assert_allclose(d.error("pm_phi2"), d0.error("pm_phi2"), atol=1e-8)
    t2 = t.copy()
    t2.remove_column("pm_phi2_err")
    with pytest.raises(ValueError, match="pm_phi2_err"):
        st.read_stream(t2)
    t3 = t.copy()
    t3["radial_velocity_err"][3] = -1.0
    with pytest.raises(ValueError, match="radial_velocity_err"):
        st.read_stream(t3)


def test_gd1_track_and_pseudo_members():
    tr = st.load_gd1_track()
    assert tr["phi1"].shape == (1022,)
    assert tr["phi1"][0] == pytest.approx(-92.06, abs=0.05) and tr["phi1"][-1] == pytest.approx(10.18, abs=0.05)
    d1 = st.gd1_track_members(seed=3)
    d2 = st.gd1_track_members(seed=3)
    np.testing.assert_array_equal(d1.y, d2.y)
    assert len(d1) == 910 and np.isfinite(d1.column("radial_velocity")).sum() == 245
    with pytest.raises(ValueError, match="phi1_range"):
        st.gd1_track_members(phi1_range=(-120.0, 0.0))


def test_bonaca_members_follow_i21_sky_track():
    """The real Hectochelle members (Bonaca et al. 2020) lie on the I21 track in φ2 and proper
    motion; their RVs are ~35 km/s below the I21 RV polynomial at φ1 ≈ −35° (documented)."""
    d = st.read_stream(MEMBERS)
    tr = st.load_gd1_track()
    on = {c: np.interp(d.phi1, tr["phi1"], tr[c]) for c in st.COMPONENTS}
    spur = d.column("phi2") > 0.8  # the spur is ~1° above the stream
    assert np.median(np.abs(d.column("phi2")[~spur] - on["phi2"][~spur])) < 0.5
    assert abs(np.median(d.column("pm_phi1_cosphi2") - on["pm_phi1_cosphi2"])) < 0.5
    assert abs(np.median(d.column("pm_phi2") - on["pm_phi2"])) < 0.5
    drv = np.median(d.column("radial_velocity") - on["radial_velocity"])
    assert -50 < drv < -20


# ---------------------------------------------------------------------------------------
# spline model
# ---------------------------------------------------------------------------------------
def test_spline_basis_is_the_spline():
    import interpax

    kn = np.linspace(-60, 0, 6)
    vals = np.sin(kn / 10.0)
    x = np.linspace(-59, -1, 17)
    for der in (0, 1, 2):
        ref = np.asarray(interpax.interp1d(x, kn, vals, method="cubic2", derivative=der))
        np.testing.assert_allclose(st.spline_basis(kn, x, der) @ vals, ref, atol=1e-12)


def test_intrinsic_scatter_estimate():
    rng = np.random.default_rng(0)
    phi1 = rng.uniform(0, 40, 4000)
    err = rng.uniform(0.1, 0.3, phi1.size)
    true = 0.25
    r = rng.normal(0, np.hypot(true, err))
    s, n = st.intrinsic_scatter(phi1, r, err, np.arange(0, 44, 4.0))
    assert np.median(s) == pytest.approx(true, rel=0.1)
    assert np.all(n > 300)


def _orbit_track_data(pot, n=300, t_span=40.0):
    """Stars sampled along one orbit (a stream of zero width) around GD-1's position."""
    w0 = _mock.gd1_progenitor(-40.0)
    res = jg.integrators.integrate_orbits(pot, w0[None], 0.0, t_span, 0.5, save_every=1)
    res_b = jg.integrators.integrate_orbits(pot, w0[None], 0.0, -t_span, -0.5, save_every=1)
    w = np.concatenate([np.asarray(res_b.w)[::-1, 0], np.asarray(res.w)[1:, 0]])
    g = jg.frames.galactocentric_to_gd1(w)
    idx = np.linspace(0, len(w) - 1, n).astype(int)
    y = np.stack([np.asarray(getattr(g, c))[idx] for c in st.COMPONENTS], -1)
    err = np.broadcast_to(np.array([1e-4, 1e-4, 1e-4, 1e-4, 1e-3]), y.shape).copy()
    return st.StreamData(np.asarray(g.phi1)[idx], y, err)


def test_acceleration_of_an_orbit_is_exact():
    """Orbit limit: the N22 relation applied to a spline through one orbit returns the
    potential's acceleration (to the spline's interpolation error). The knot values are the
    least-squares ones (the NUTS machinery is exercised by the mock-stream tests)."""
    pot = jg.potentials.MWPotential2014()
    d = _orbit_track_data(pot)
    kn = np.linspace(d.phi1.min(), d.phi1.max(), 10)
    B = st.spline_basis(kn, d.phi1)
    coef = np.linalg.lstsq(B, d.y, rcond=None)[0]
    fit = st.TrackFit(knots={c: kn for c in st.COMPONENTS}, samples={c: coef[None, :, j] for j, c in
                      enumerate(st.COMPONENTS)}, nuts=None, sigma_int={}, n_local={})
    post = st.TrackPosterior(fits=(fit,), phi1_range=(d.phi1.min(), d.phi1.max()), n_knots=(10,))
    lo, hi = post.phi1_range
    assert hi - lo > 80
    phi1 = np.linspace(lo + 15, hi - 15, 7)
    a, x = st.accelerations(post, phi1, return_positions=True)
    true = st.preset_accelerations(pot, x[0])
    # spline interpolation error of a 10-knot natural spline over ~100°: < 0.03 km/s/Myr
    np.testing.assert_allclose(a[0], true, atol=0.03)
    # the direction of motion is found from the track: reversing φ1 flips nothing physical
    assert np.all(a[0][:, 0] < 0) and np.all(a[0][:, 2] < 0)


# ---------------------------------------------------------------------------------------
# mock stream in a known (spherical-halo) potential
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spherical_mock():
    pot = jg.potentials.MWPotential2014()
    w, _ = _mock.spray_stream(jax.random.key(1), pot, _mock.gd1_progenitor(-40.0), t_total=2000.0, dt=1.0,
                              release_every=5)
    d = _mock.observe_stream(jax.random.key(2), w, n_stars=400, phi1_range=(-70.0, -10.0))
    post = st.fit_track(jax.random.key(3), d, n_knots=(5,), n_chains=2, n_warmup=150, n_samples=150)
    return pot, d, post


def test_mock_stream_is_thin_and_long(spherical_mock):
    _, d, _ = spherical_mock
    assert len(d) == 400
    assert d.phi1.max() - d.phi1.min() > 55


def test_track_nuts_diagnostics(spherical_mock):
    _, _, post = spherical_mock
    res = post.fits[0].nuts
    assert res.max_rhat() < 1.05
    assert res.min_ess() > 50
    assert np.all(res.divergences == 0)
    assert post.n_samples == 300


def test_mock_accelerations_inside_95_bands(spherical_mock):
    """SPEC §F validation: the true accelerations along the recovered track lie in the 95 %
    bands over the evaluated range (12° from each end)."""
    pot, d, post = spherical_mock
    phi1 = np.linspace(d.phi1.min() + 12, d.phi1.max() - 12, 6)
    a, x = st.accelerations(post, phi1, return_positions=True)
    b = st.bands(a)
    true = st.preset_accelerations(pot, np.median(x, 0))
    inside = (true >= b["lo95"]) & (true <= b["hi95"])
    assert inside.all(), (true, b["lo95"], b["hi95"])
    # and the bands are informative: 68 % width of a_R below 30 % of |a_R|
    assert np.all((b["hi68"] - b["lo68"])[:, 0] < 0.3 * np.abs(true[:, 0]))


def test_accelerations_rejects_outside_range(spherical_mock):
    _, _, post = spherical_mock
    with pytest.raises(ValueError, match="inside the data"):
        st.accelerations(post, [post.phi1_range[0] - 5.0])


# ---------------------------------------------------------------------------------------
# halo fits
# ---------------------------------------------------------------------------------------
def test_flattened_halo_fit_recovers_q():
    """NUTS fit of a density-flattened NFW to noiseless accelerations along a GD-1-like track
    (5 % errors) recovers q_z within its 95 % interval."""
    tr = st.load_gd1_track()
    phi1 = np.linspace(-70, -10, 8)
    vals = [np.interp(phi1, tr["phi1"], tr[c]) for c in st.COMPONENTS]
    x = np.asarray(jg.frames.gd1_to_galactocentric(phi1, *vals))[:, :3]
    truth = np.array([11.6, 16.0, 0.8, 1.0])
    a = np.asarray(_halo.model_accelerations("flattened", truth, x))
    ad = _halo.AccelerationData(x=x, mean=a, std=0.05 * np.abs(a).max(1, keepdims=True) * np.ones_like(a),
                                phi1=phi1)
    fit = _halo.fit_halo(jax.random.key(4), ad, "flattened", n_chains=2, n_warmup=150, n_samples=150)
    s = fit.summary()["q_z"]
    print(fit.summary())
    assert s["lo95"] <= 0.8 <= s["hi95"]
    assert s["hi68"] - s["lo68"] < 0.5


def test_find_modes_separates_chains():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (2, 200, 2))
    b = rng.normal(10, 1, (1, 200, 2))
    modes = _halo.find_modes(np.concatenate([a, b]), ("p", "q"))
    assert len(modes) == 2
    assert modes[0]["chains"] == [0, 1] and modes[1]["chains"] == [2]
    assert modes[1]["median"]["p"] == pytest.approx(10, abs=0.5)


def test_mcmillan_like_preset():
    pot = _models.mcmillan_like()
    assert float(pot.circular_velocity(8.21)) == pytest.approx(233, abs=8)  # McMillan 2017: 233.1 km/s


# ---------------------------------------------------------------------------------------
# full science checks
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_tilted_triaxial_mock_accelerations_and_tilt():
    """A mock GD-1 in a tilted triaxial halo (1 : 0.75 : 0.7, pitch 25°, yaw 200°): the true
    accelerations lie in the 95 % bands, and the triaxial halo fit's pitch 95 % interval
    contains 25°."""
    truth = dict(log10_m_s=float(np.log10(jg.potentials.MWPotential2014()["halo"].m_s)), r_s=16.0, q_y=0.75,
                 q_z=0.7, pitch=25.0, yaw=200.0)
    pot = _models.triaxial_halo_model(*truth.values())
    w, _ = _mock.spray_stream(jax.random.key(1), pot, _mock.gd1_progenitor(-40.0), t_total=3000.0, release_every=3)
    d = _mock.observe_stream(jax.random.key(2), w, n_stars=800, phi1_range=(-80.0, 0.0))
    post = st.fit_track(jax.random.key(0), d, n_knots=(4, 5, 6), n_chains=4, n_warmup=300, n_samples=300)
    phi1 = np.linspace(d.phi1.min() + 12, d.phi1.max() - 12, 8)
    a, x = st.accelerations(post, phi1, return_positions=True)
    b = st.bands(a)
    true = st.preset_accelerations(pot, np.median(x, 0))
    assert ((true >= b["lo95"]) & (true <= b["hi95"])).all()
    fit = _halo.fit_halo(jax.random.key(5), _halo.acceleration_data(a, x, phi1), "triaxial", n_chains=4,
                         n_warmup=300, n_samples=300)
    s = fit.summary()["pitch"]
    assert s["lo95"] <= truth["pitch"] <= s["hi95"]


@pytest.mark.slow
def test_gd1_i21_fit_runs_and_is_converged():
    d = st.gd1_track_members(seed=0)
    post = st.fit_track(jax.random.key(0), d, n_knots=(4, 5, 6), n_knots_rv=4, n_chains=4, n_warmup=300,
                        n_samples=500)
    for f in post.fits:
        assert f.nuts.max_rhat() < 1.02
    a = st.accelerations(post, [-19.0])
    med = np.median(a, 0)[0]
    assert -4.5 < med[0] < -1.5 and -4.5 < med[2] < -1.0


@pytest.mark.slow
def test_triaxial_fit_with_paper_precision_accelerations():
    """Identifiability: with the paper's precision (0.1 km/s/Myr per component at 15 points
    along GD-1) and noiseless means, the triaxial fit's 95 % intervals contain the true
    pitch and yaw of a tilted halo (1 : 0.75 : 0.7, pitch 25°, yaw 225°)."""
    tr = st.load_gd1_track()
    phi1 = np.linspace(-75, -5, 15)
    x = np.asarray(jg.frames.gd1_to_galactocentric(phi1, *[np.interp(phi1, tr["phi1"], tr[c])
                                                           for c in st.COMPONENTS]))[:, :3]
    truth = np.array([float(np.log10(jg.potentials.MWPotential2014()["halo"].m_s)), 16.0, 0.75, 0.7, 25.0, 225.0])
    a = np.asarray(_halo.model_accelerations("triaxial", truth, x))
    ad = _halo.AccelerationData(x=x, mean=a, std=np.full_like(a, 0.1), phi1=phi1)
    fit = _halo.fit_halo(jax.random.key(7), ad, "triaxial", n_chains=8, n_warmup=300, n_samples=300)
    pooled = fit.summary()
    best = fit.modes[0]
    for name, t in (("pitch", 25.0), ("yaw", 225.0)):
        assert pooled[name]["lo95"] <= t <= pooled[name]["hi95"], (name, pooled[name], fit.modes)
    assert best["weight"] > 0


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------
def test_cli_config_validation(tmp_path):
    from jaxgal.streams import cli

    bad = tmp_path / "bad.toml"
    bad.write_text("[track]\nn_knotz = [4]\n")
    with pytest.raises(ValueError, match="n_knotz"):
        cli.main(["fit", str(bad)])
    with pytest.raises(ValueError, match="unknown section"):
        cli.run_analysis({"trak": {}})


@pytest.mark.slow
def test_cli_fit_writes_results(tmp_path):
    import json

    from jaxgal.streams import cli

    cfg = tmp_path / "gd1.toml"
    cfg.write_text(
        "[track]\nn_knots = [5]\nn_chains = 2\nn_warmup = 100\nn_samples = 100\n"
        "[accelerations]\nn_points = 5\n[halo]\nmodels = [\"flattened\"]\nn_chains = 2\nn_warmup = 50\n"
        "n_samples = 50\n"
    )
    assert cli.main(["fit", str(cfg), "--out", str(tmp_path / "out")]) == 0
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert res["reference"]["R"] == pytest.approx(11.9, abs=0.2)
    for name in ("track.png", "accelerations.png", "corner_flattened.png"):
        assert (tmp_path / "out" / name).exists()
