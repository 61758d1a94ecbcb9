"""Halo fits of stream accelerations (MWPotential2014's disc and bulge + a flattened or a
tilted triaxial NFW halo), on accelerations that the fitted family did not generate."""

import jax
import numpy as np
import pytest

import jaxgal as jg
from jaxgal import streams as st
from jaxgal.streams import _halo

pytest.importorskip("galstreams", reason="the GD-1 tracks come from galstreams (pip install 'jaxgal[streams]')")


def _gd1_points(n=15, lo=-75.0, hi=-12.0):
    tr = st.load_gd1_track("i21")
    phi1 = np.linspace(lo, hi, n)
    vals = [np.interp(phi1, tr["phi1"], tr[c]) for c in st.COMPONENTS]
    return phi1, np.asarray(jg.frames.gd1_to_galactocentric(phi1, *vals))[:, :3]


def _data(pot, sigma=0.1, n=15):
    phi1, x = _gd1_points(n)
    a = st.preset_accelerations(pot, x)
    return _halo.AccelerationData(x=x, mean=a, std=np.full_like(a, sigma), phi1=phi1)


def test_flattened_fit_of_another_milky_way_model():
    """The flattened-halo fit of MilkyWayPotential2022's accelerations (a different disc,
    bulge and nucleus, and a spherical NFW halo; σ = 0.1 km/s/Myr at 15 points along GD-1):
    the fitted model reproduces the enclosed mass within 14 kpc and its q_z interval
    contains 1 (a spherical halo). Two chains of 200 warm-up steps and 200 draws: with 100 +
    100 the split R̂ exceeded 1.1 for 1 of 12 keys (1.26; the others 1.00–1.08), so the
    convergence check was at the mercy of round-off; with 200 + 200 it is 1.00–1.02 for the
    keys tried."""
    pot = jg.potentials.MilkyWayPotential2022()
    ad = _data(pot)
    fit = _halo.fit_halo(jax.random.key(4), ad, "flattened", n_chains=2, n_warmup=200, n_samples=200, n_starts=8)
    s = fit.summary()
    assert s["q_z"]["lo95"] <= 1.0 <= s["q_z"]["hi95"], s["q_z"]
    assert fit.optima and fit.modes[0]["rhat"] < 1.1
    best = np.median(fit.flat(), 0)
    m_fit = float(jax.jit(lambda th: _halo._halo_potential("flattened", th).mass_enclosed(14.0))(best))
    m_true = float(jax.jit(lambda: pot.mass_enclosed(14.0))())
    assert m_fit == pytest.approx(m_true, rel=0.05)
    rows = _halo.mode_table(fit)
    assert rows[0]["weight"] > 0 and "q_z" in rows[0]


def test_find_modes_separates_chains():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (2, 200, 2))
    b = rng.normal(10, 1, (1, 200, 2))
    modes = _halo.find_modes(np.concatenate([a, b]), ("p", "q"))
    assert len(modes) == 2
    assert modes[0]["chains"] == [0, 1] and modes[1]["chains"] == [2]
    assert modes[1]["median"]["p"] == pytest.approx(10, abs=0.5)


def test_triaxial_orientation_symmetry():
    """(pitch, yaw) and (−pitch, yaw + 180°) are the same ellipsoid (the major axis reversed,
    roll = 0): identical accelerations; (pitch, yaw + 180°) is another one. The axis ↔ angle
    maps round-trip."""
    _, x = _gd1_points(5)
    acc = jax.jit(lambda th: _halo.model_accelerations("triaxial", th, x))
    th = np.array([11.9, 20.0, 0.75, 0.7, 18.0, 200.0])
    a0 = np.asarray(acc(th))
    flip = th.copy()
    flip[4], flip[5] = -18.0, 20.0
    np.testing.assert_allclose(np.asarray(acc(flip)), a0, rtol=1e-10, atol=1e-12)
    other = th.copy()
    other[5] = 20.0
    assert np.max(np.abs(np.asarray(acc(other)) - a0)) > 0.05
    p, y = _halo.angles_from_axis(_halo.axis_from_angles(np.array([18.0, -60.0]), np.array([200.0, 95.0])))
    np.testing.assert_allclose(p, [18.0, -60.0], atol=1e-10)
    np.testing.assert_allclose(y, [200.0, 95.0], atol=1e-10)


def test_modes_folded_across_the_yaw_seam():
    """Draws of one orientation near the seam of the (pitch, yaw) box (yaw = 92°, pitch 10°),
    one chain written entirely as the equivalent (−pitch, yaw + 180°), another half so: the
    chains are grouped into one mode and folded onto yaw ∈ [90°, 270°) around 92°, where the
    raw yaw draws would have R-hat ≫ 1; the symmetry-free shape features group them and have
    R-hat ≈ 1."""
    rng = np.random.default_rng(0)
    n_ch, n = 4, 400
    base = _halo.axis_from_angles(10.0, 92.0)
    axes = base + 0.05 * rng.standard_normal((n_ch, n, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    sign = np.ones((n_ch, n))
    sign[1] = -1.0
    sign[3] = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    axes = axes * sign[..., None]
    p, y = _halo.angles_from_axis(axes)
    box = np.array([12.0, 20.0, 0.7, 0.6]) + 0.01 * rng.standard_normal((n_ch, n, 4))
    theta = np.concatenate([box, p[..., None], y[..., None]], -1)
    feats = _halo.shape_features(theta)
    modes = _halo.find_modes(feats, _halo.SHAPE_FEATURES)
    assert len(modes) == 1 and modes[0]["chains"] == [0, 1, 2, 3]
    assert np.max(_halo._rhat(feats)) < 1.02  # the features do not see the representation
    folded, _ = _halo._fold_triaxial(theta, modes)
    assert np.all(np.abs(folded[..., 5] - 92.0) < 25.0) and np.all(np.abs(folded[..., 4] - 10.0) < 25.0)
    assert np.max(_halo._rhat(folded)) < 1.02
    assert np.max(_halo._rhat(theta[..., 4:])) > 1.5
    # another orientation of the same axis ratios is another mode
    other = theta.copy()
    other[2:, :, 4] = -10.0
    other[2:, :, 5] = 150.0
    assert len(_halo.find_modes(_halo.shape_features(other), _halo.SHAPE_FEATURES)) == 2


def test_rhat_matches_blackjax():
    """The NumPy R-hat of the NUTS results is blackjax's potential_scale_reduction."""
    import blackjax

    from jaxgal.streams import _nuts

    x = np.random.default_rng(3).normal(size=(3, 50, 2)) + np.array([0.0, 0.3, 0.0])[:, None, None]
    ref = np.asarray(blackjax.diagnostics.potential_scale_reduction(x))
    np.testing.assert_allclose(_nuts._potential_scale_reduction(x), ref, rtol=1e-12)


def test_mcmillan_like_preset():
    pot = st.mcmillan_like()
    vc = float(jax.jit(lambda: pot.circular_velocity(8.21))())
    assert vc == pytest.approx(233, abs=8)  # McMillan 2017: 233.1 km/s


@pytest.mark.slow
def test_triaxial_fit_of_a_tilted_halo_outside_the_prior():
    """Identifiability at the paper's precision (σ = 0.1 km/s/Myr, 15 points): a triaxial NFW
    halo of another radial profile than the fit's (r_s = 35 kpc, outside the fit's prior
    10–30 kpc), 1 : 0.75 : 0.70 tilted by pitch 25°, yaw 225°: the main mode converged (folded
    within-mode R-hat < 1.05) and its pitch and yaw 68 % intervals contain the truth within 10°."""
    halo = jg.potentials.MWPotential2014()["halo"]
    from jaxgal.streams import _models

    bulge, disc = _models.mw2014_baryons(1.0)
    tri = jg.potentials.TriaxialNFW(float(halo.m_s) * 1.8, 35.0, 0.75, 0.70, 25.0, 225.0, 0.0)
    pot = jg.potentials.CompositePotential((bulge, disc, tri), ("bulge", "disc", "halo"))
    fit = _halo.fit_halo(jax.random.key(7), _data(pot), "triaxial", n_chains=8, n_warmup=300, n_samples=300)
    best = fit.modes[0]
    assert best["weight"] > 0.5 and best["rhat"] < 1.05, fit.modes
    for name, t in (("pitch", 25.0), ("yaw", 225.0)):
        assert best["lo68"][name] - 10 <= t <= best["hi68"][name] + 10, (name, fit.modes)
