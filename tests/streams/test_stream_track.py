"""Track models and accelerations: the orbit limit (exact), mock streams in known potentials
(spherical and tilted triaxial haloes; truth inside the 95 % bands), a distance track biased by
5 % absorbed by the systematic-scale nuisance, and the named errors for bad input.

The mock streams are cached particle-spray streams (``tests/data/stream_mock_*.npy``, made by
``python tests/data/make_stream_mocks.py``); every mock fit has the same data shapes, so one
NUTS compilation serves them all.
"""

import dataclasses
import os

import jax
import numpy as np
import pytest
from conftest import DATA

import jaxgal as jg
from jaxgal import streams as st
from jaxgal.streams import _mock, _models

pytest.importorskip("galstreams", reason="the GD-1 tracks come from galstreams (pip install 'jaxgal[streams]')")

#: the tilted triaxial halo of the cached mock (make_stream_mocks.py)
TRIAXIAL_TRUTH = dict(q_y=0.75, q_z=0.70, pitch=25.0, yaw=200.0)
FIT = dict(n_knots=(5,), n_chains=2, n_warmup=150, n_samples=150)


def _potential(name):
    if name == "spherical":
        return jg.potentials.MWPotential2014()
    halo = jg.potentials.MWPotential2014()["halo"]
    return _models.triaxial_halo_model(float(np.log10(halo.m_s)), float(halo.r_s), **TRIAXIAL_TRUTH)


def _observe(name, seed):
    w = np.load(os.path.join(DATA, f"stream_mock_{name}.npy"))
    return _mock.observe_stream(jax.random.key(seed), w, n_stars=400, phi1_range=(-80.0, 0.0), n_rv=150,
                                rv_phi1_range=(-75.0, -5.0))


@pytest.fixture(scope="module")
def mocks():
    out = {}
    for name, seed in (("spherical", 2), ("triaxial", 3)):
        d = _observe(name, seed)
        post = st.fit_track(jax.random.key(seed), d, **FIT)  # distance track fitted to the members
        out[name] = (_potential(name), d, post)
    return out


def _truth_inside(pot, post, phi1, level="95"):
    a, x = st.accelerations(post, phi1, return_positions=True)
    b = st.bands(a)
    true = st.preset_accelerations(pot, np.median(x, 0))
    inside = (true >= b["lo" + level]) & (true <= b["hi" + level])
    return inside, true, b


# ---------------------------------------------------------------------------------------
# the orbit limit
# ---------------------------------------------------------------------------------------
def _orbit():
    """The cached orbit in MWPotential2014 (tests/data/stream_orbit_mw2014.npy, made by
    make_stream_mocks.py with jaxgal's leapfrog), sorted by φ1, and its GD-1 observables."""
    w = np.load(os.path.join(DATA, "stream_orbit_mw2014.npy"))
    g = jg.frames.galactocentric_to_gd1(w)
    return w, {c: np.asarray(getattr(g, c)) for c in ("phi1",) + st.COMPONENTS}


def test_acceleration_of_an_orbit_is_exact():
    """Orbit limit: the N22 relation applied to splines through one orbit returns the
    potential's acceleration (to the spline's interpolation error), for the paper's model
    (φ2, v_GSR, |v| and a distance track) and the previous one (five observables). The knot
    values are least-squares ones (NUTS is exercised by the mock tests)."""
    pot = jg.potentials.MWPotential2014()
    w, g = _orbit()
    p1 = g["phi1"]
    kn = np.linspace(p1.min(), p1.max(), 10)
    B = st.spline_basis(kn, p1)

    n_draws = FIT["n_chains"] * FIT["n_samples"]  # as the mock fits: the compiled maps are shared

    def lsq(y):
        return np.repeat(np.linalg.lstsq(B, y, rcond=None)[0][None], n_draws, axis=0)

    paper = {"phi2": lsq(g["phi2"]), "v_gsr": lsq(np.asarray(jg.frames.v_gsr(w))),
             "speed": lsq(np.linalg.norm(w[:, 3:], axis=1)), "distance_scale": np.ones(n_draws),
             "distance_offset": np.zeros(n_draws)}
    nodes = np.linspace(p1.min(), p1.max(), 60)
    dt = st.DistanceTrack(nodes, np.interp(nodes, p1, g["distance"]), scale_sigma=0.0)
    n22 = {c: lsq(g[c]) for c in st.COMPONENTS}
    phi1 = np.linspace(p1.min() + 15, p1.max() - 15, 6)
    assert p1.max() - p1.min() > 80
    for model, samples in (("paper", paper), ("n22", n22)):
        comps = st.PAPER_COMPONENTS if model == "paper" else st.N22_COMPONENTS
        fit = st.TrackFit(knots={c: kn for c in comps}, samples=samples, nuts=None, sigma_int={}, n_local={})
        post = st.TrackPosterior(fits=(fit,), phi1_range=(p1.min(), p1.max()), n_knots=(10,), model=model,
                                 distance_track=dt if model == "paper" else None, direction=-1)
        a, x = st.accelerations(post, phi1, return_positions=True)
        true = st.preset_accelerations(pot, x[0])
        # interpolation error of 10-knot natural splines over ~120°: < 0.03 km/s/Myr
        np.testing.assert_allclose(a[0], true, atol=0.03, err_msg=model)


# ---------------------------------------------------------------------------------------
# mock streams (fast versions; the slow ones use K = 4, 5, 6 and longer chains)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["spherical", "triaxial"])
def test_mock_accelerations_inside_95_bands(mocks, name):
    """The true accelerations along the recovered track lie in the 95 % bands at 6 points
    12° inside the radial-velocity data, in MWPotential2014 and in a tilted triaxial halo
    (1 : 0.75 : 0.70, pitch 25°, yaw 200°); the fits converged and the bands are informative."""
    pot, d, post = mocks[name]
    res = post.fits[0].nuts
    assert res.max_rhat() < 1.05 and res.min_ess() > 50 and np.all(res.divergences == 0)
    assert post.direction == -1
    phi1 = np.linspace(-63.0, -17.0, 6)
    inside, true, b = _truth_inside(pot, post, phi1)
    assert inside.all(), (name, true, b["lo95"], b["hi95"])
    # informative: the 68 % widths of a_R and a_z are below 70 % of |a| at the median point
    # (the paper's scatter inflation makes them conservative by design)
    rel = (b["hi68"] - b["lo68"])[:, [0, 2]] / np.abs(true[:, [0, 2]])
    assert np.all(np.median(rel, axis=0) < 0.7), rel


def test_biased_distance_track_absorbed_by_the_nuisance(mocks):
    """A distance track 5 % too far: fixed (no systematic), the accelerations miss the truth;
    with the shared scale sampled (σ_s = 5 %), the truth is back inside the 95 % bands.

    One NUTS fit serves both: the likelihood does not involve the scale (the tracks are fitted
    at the nominal distance and each draw gets an independent prior draw of s), so the fit
    with σ_s = 0 is the same draws with s = 1 (the scale draws here are the prior's, checked)."""
    pot, d, post = mocks["spherical"]
    true_track = post.distance_track
    phi1 = np.linspace(-63.0, -17.0, 6)
    biased = st.DistanceTrack(true_track.phi1, 1.05 * true_track.distance, scale_sigma=0.05)
    p5 = st.fit_track(jax.random.key(2), d, distance_track=biased, **FIT)
    s = p5.fits[0].samples["distance_scale"]
    assert 0.03 < np.std(s) < 0.07 and abs(np.mean(s) - 1.0) < 0.02
    fixed = dataclasses.replace(p5.fits[0], samples={**p5.fits[0].samples, "distance_scale": np.ones_like(s)})
    p0 = dataclasses.replace(p5, fits=(fixed,),
                             distance_track=st.DistanceTrack(biased.phi1, biased.distance, scale_sigma=0.0))
    assert not _truth_inside(pot, p0, phi1)[0].all()  # the bias is detectable at this precision
    assert _truth_inside(pot, p5, phi1)[0].all()


def test_n22_model_on_a_mock(mocks):
    """The previous model (five observables, per-star distances) on the same spherical mock:
    its accelerations contain the truth. The fit's draws are cached
    (tests/data/stream_mock_n22_posterior.npz, made by make_stream_mocks.py with the settings
    of the live version, the slow ``test_n22_model_on_a_mock_live``)."""
    pot, d, _ = mocks["spherical"]
    z = np.load(os.path.join(DATA, "stream_mock_n22_posterior.npz"))
    fit = st.TrackFit(knots={c: z[f"knots_{c}"] for c in st.N22_COMPONENTS},
                      samples={c: z[f"samples_{c}"] for c in st.N22_COMPONENTS}, nuts=None, sigma_int={}, n_local={})
    post = st.TrackPosterior(fits=(fit,), phi1_range=tuple(z["phi1_range"]), n_knots=(5,), model="n22", direction=-1)
    # the cache belongs to these data: the outer knots sit at the ends of each quantity's stars
    for j, c in enumerate(st.N22_COMPONENTS):
        p1 = d.phi1[np.isfinite(d.y[:, j])]
        assert fit.knots[c][0] == pytest.approx(p1.min()) and fit.knots[c][-1] == pytest.approx(p1.max())
    inside, true, b = _truth_inside(pot, post, np.linspace(-63.0, -17.0, 6))
    assert inside.all(), (true, b["lo95"], b["hi95"])


@pytest.mark.slow
def test_n22_model_on_a_mock_live(mocks):
    """The live fit behind the cached draws of ``test_n22_model_on_a_mock``."""
    pot, d, _ = mocks["spherical"]
    post = st.fit_track(jax.random.key(4), d, model="n22", n_knots_rv=4, **FIT)
    res = post.fits[0].nuts
    assert res.max_rhat() < 1.05 and np.all(res.divergences == 0)
    inside, true, b = _truth_inside(pot, post, np.linspace(-63.0, -17.0, 6))
    assert inside.all(), (true, b["lo95"], b["hi95"])


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------
def test_named_errors_for_bad_input(mocks):
    _, d, post = mocks["spherical"]
    no_rv = st.StreamData(d.phi1, d.y.copy(), d.y_err)
    no_rv.y[:, 4] = np.nan
    with pytest.raises(ValueError, match="radial velocit"):
        st.fit_track(jax.random.key(0), no_rv, **FIT)
    with pytest.raises(ValueError, match="radial velocit"):  # none inside the fitted range
        st.fit_track(jax.random.key(0), d, components={"v_gsr": {"phi1_range": (-4.0, 0.0)}}, **FIT)
    short = st.DistanceTrack(np.linspace(-60, 0, 10), np.full(10, 8.0))
    with pytest.raises(ValueError, match="distance track .* covers phi1"):
        st.fit_track(jax.random.key(0), d, distance_track=short, **FIT)
    with pytest.raises(ValueError, match="outer knots of phi2 .* outside its fitted data"):
        st.fit_track(jax.random.key(0), d, knot_range=(-95.0, 0.0), **FIT)
    with pytest.raises(ValueError, match="outer knots of speed"):
        st.fit_track(jax.random.key(0), d, components={"speed": {"knot_range": (-80.0, -10.0)}}, **FIT)
    with pytest.raises(ValueError, match="model must be one of"):
        st.fit_track(jax.random.key(0), d, model="orbit", **FIT)
    with pytest.raises(ValueError, match="unknown track quantity"):
        st.fit_track(jax.random.key(0), d, components={"distance": {"n_knots": 4}}, **FIT)
    with pytest.raises(ValueError, match="inside the data"):
        st.accelerations(post, [post.phi1_range[0] - 5.0])
    no_dist = st.StreamData(d.phi1, d.y.copy(), d.y_err)
    no_dist.y[:, 1] = np.nan
    with pytest.raises(ValueError, match="distance_track="):
        st.fit_track(jax.random.key(0), no_dist, **FIT)


# ---------------------------------------------------------------------------------------
# slow: K = 4, 5, 6 and longer chains
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["spherical", "triaxial"])
def test_mock_recovery_marginalised_over_knots(name):
    d = _observe(name, 5)
    post = st.fit_track(jax.random.key(5), d, n_knots=(4, 5, 6), n_chains=4, n_warmup=300, n_samples=500)
    for f in post.fits:
        assert f.nuts.max_rhat() < 1.02
    inside, true, b = _truth_inside(_potential(name), post, np.linspace(-65.0, -15.0, 8))
    assert inside.all(), (true, b["lo95"], b["hi95"])
