"""Observables: the 52 summaries against astropy's sigma_clip (particles, catalogues with
missing observables, weights, median centring), flags and NaN for sparse bins, and the
embedded default observation's stored summaries recomputed."""

from astropy.stats import sigma_clip
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from obs_helpers import halo

import jaxgal  # noqa: F401  (x64)
import jaxgal.observables as obs


N = 6000  # one particle-array shape for (almost) every test: one compilation


@pytest.fixture(scope="module")
def particles():
    return halo(jax.random.key(0), N, v_travel=(-10.0, -20.0, -35.0))


@pytest.fixture(scope="module")
def sparse(particles):
    """The same N particles with all but the first 60 moved to r = 5 kpc (outside the bins):
    ~1 star per bin, many bins flagged, same array shape."""
    w = np.asarray(particles).copy()
    w[60:, :3] *= 5.0 / np.linalg.norm(w[60:, :3], axis=1, keepdims=True)
    return jnp.asarray(w)


@pytest.fixture(scope="module")
def cat(particles):
    return obs.mock_catalogue(jax.random.key(1), particles, n_stars=1296)


def reference_summaries(r, l, b, vgsr, vtb, weights=None, cenfunc="mean", min_count=5):
    """Plain numpy + astropy sigma_clip implementation of the summaries (docs/observables.md)."""
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
    sub = particles
    exact = obs.catalogue_from_particles(sub)
    a = obs.star_velocities(sub)
    b = obs.star_velocities(exact)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-10, atol=1e-8)


def test_median_clipping_and_integer_weights_match_astropy(particles):
    sub = particles
    cfg = obs.SummaryConfig(cenfunc="median")
    w = jax.random.randint(jax.random.key(3), (N,), 0, 3).astype(float)
    s = obs.summaries(sub, cfg, weights=w)
    ref, counts = reference_summaries(*obs.star_velocities(sub), weights=w, cenfunc="median")
    np.testing.assert_allclose(np.asarray(s.values), ref, rtol=1e-12, atol=1e-10)
    np.testing.assert_array_equal(np.asarray(s.counts), counts)


def test_summaries_vmap(particles, sparse):
    """A (B, N, 6) batch is vmapped (one compiled program for the batch) and equals the
    single calls (jit: test_values_or_nan_and_nan_fill_value)."""
    batch = jnp.stack([sparse, particles])
    out = obs.summaries(batch).values
    assert out.shape == (2, 52)
    np.testing.assert_allclose(out[1], obs.summaries(particles).values, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(out[0], obs.summaries(sparse).values, rtol=1e-12, atol=1e-10)


def test_sparse_bins_are_flagged_not_nan(sparse):
    s = obs.summaries(sparse)  # ~1 star per bin
    v = np.asarray(s.values)
    assert np.all(np.isfinite(v))
    flags = np.asarray(s.flags)
    assert flags.any()
    np.testing.assert_array_equal(flags, np.asarray(s.counts) < 5)
    assert np.all(v[flags] == 0.0)


def test_all_stars_outside_range_are_all_flagged(particles):
    w = np.asarray(particles).copy()
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


# --------------------------------------------------------------------------- flagged bins


def test_values_or_nan_and_nan_fill_value(particles, sparse):
    s = obs.summaries(sparse)  # ~1 star per bin: many flagged bins
    v, flags = np.asarray(s.values), np.asarray(s.flags)
    assert flags.any() and (~flags).any()
    vn = np.asarray(s.values_or_nan())
    np.testing.assert_array_equal(np.isnan(vn), flags)
    np.testing.assert_array_equal(vn[~flags], v[~flags])
    assert np.all(v[flags] == 0.0)  # the default fill is kept in .values
    # a NaN fill value is jit-safe and gives the same as values_or_nan
    cfg = obs.SummaryConfig(fill_value=float("nan"))
    out = jax.jit(lambda p: obs.summaries(p, cfg).values)(sparse)
    np.testing.assert_array_equal(np.isnan(np.asarray(out)), flags)
    np.testing.assert_allclose(np.asarray(out)[~flags], v[~flags], rtol=1e-12, atol=1e-10)
    # batched
    batch = jnp.stack([sparse, particles])
    vb = np.asarray(obs.summaries(batch).values_or_nan())
    np.testing.assert_array_equal(np.isnan(vb), np.asarray(obs.summaries(batch).flags))


# --------------------------------------------------------------------------- default observation


def test_default_observation_summaries_recomputed():
    """The stored 52 summaries, counts and flags of the embedded mock observation are those
    of its stored catalogue (exactly: same code, same stars), and the stored bootstrap errors
    agree with a fresh bootstrap (200 resamples, another key) within its own noise (the
    relative sd of a 200-resample bootstrap sd is ≈ 1/√400 = 5%). The exact recomputation
    of the stored errors (same key, 1,000 resamples) is a slow test."""
    d = obs.default_observation()
    assert d.catalogue.n_stars == 1296 and len(d.values) == 52
    s = obs.summaries(d.catalogue)
    np.testing.assert_allclose(np.asarray(s.values), d.values, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(s.counts), d.counts)
    np.testing.assert_array_equal(np.asarray(s.flags), d.flags)
    np.testing.assert_array_equal(np.isnan(d.values_or_nan()), d.flags)
    b = obs.bootstrap_summaries(jax.random.key(123), d.catalogue, n_boot=200)
    good = ~d.flags
    ratio = np.asarray(b.errors)[good] / d.errors[good]
    assert abs(np.median(ratio) - 1.0) < 0.05, np.median(ratio)
    assert np.all(np.abs(ratio - 1.0) < 0.3), ratio


@pytest.mark.slow
def test_default_observation_errors_recomputed_exactly():
    from jaxgal.simulation._default_observation import MOCK_KEY, N_BOOT

    d = obs.default_observation()
    k_boot = jax.random.split(jax.random.PRNGKey(MOCK_KEY), 3)[2]
    b = obs.bootstrap_summaries(k_boot, d.catalogue, N_BOOT)
    np.testing.assert_allclose(np.asarray(b.errors), d.errors, rtol=1e-10, atol=1e-12)


def test_poisson_errors_match_the_scatter_of_independent_halos():
    """``Summaries.poisson_errors``: over 200 independent isotropic haloes of N = 6,000 stars
    (σ = 100 km/s), the scatter of each summary across haloes equals its mean predicted
    Poisson error, s/√N for a mean and s/√(2N) for a dispersion. Tolerance: the scatter of
    200 draws is uncertain by 1/√398 = 5 %; 3σ plus 5 % for the 3σ clipping of a Gaussian and
    the O(1/N) terms of small bins gives 20 % on every summary, and 5 % on the median ratio
    (s/√N for a dispersion would be 29 % too large). ``poisson_deviation`` of a halo against
    itself is 0."""
    keys = jax.random.split(jax.random.key(11), 200)
    s = jax.vmap(lambda k: obs.summaries(halo(k, N)))(keys)
    assert not np.any(np.asarray(s.flags))
    scatter = np.asarray(s.values).std(axis=0, ddof=1)
    predicted = np.asarray(s.poisson_errors()).mean(axis=0)
    ratio = scatter / predicted
    assert np.all(np.abs(ratio - 1) < 0.20), ratio
    assert abs(np.median(ratio) - 1) < 0.05, np.median(ratio)
    one = jax.tree.map(lambda a: a[0], s)
    np.testing.assert_array_equal(np.asarray(obs.poisson_deviation(one, one)), 0.0)
