"""MW–LMC simulation: the present-day LMC, θ, the tracers in the moving potential,
`simulate`, its physics, its gradient, batches and suites. (Friction and the two-body orbit
are tested in tests/satellites/, the LMC preset in tests/potentials/.)

References: astropy's Galactocentric frame; gala's inertial-frame integration; central
finite differences. (Equilibrium and the reflex dipole of a 20,000-star halo are in
test_dipole_amplitude.py.) The small leapfrog simulations share one compiled program, so
their tests carry ``xdist_group("simulate_small")`` (one worker under ``--dist loadgroup``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgal as jg
from jaxgal import potentials as P
from jaxgal import simulation as S


# ---------------------------------------------------------------------------------------
# the present-day LMC
# ---------------------------------------------------------------------------------------
def test_fiducial_lmc_is_the_papers_phase_space():
    from astropy import units as u
    from astropy.coordinates import ICRS, Galactocentric

    f = S.FIDUCIAL_LMC_ICRS
    w = np.asarray(
        jg.frames.icrs_to_galactocentric(
            f["ra_lmc"], f["dec_lmc"], f["d_lmc"], f["vlos_lmc"], f["pmra_lmc"], f["pmdec_lmc"]
        )
    )
    np.testing.assert_allclose(w[:3], [-0.6, -41.3, -27.1], atol=0.01)
    np.testing.assert_allclose(w[3:], [-63.9, -213.8, 206.6], atol=0.05)
    c = ICRS(
        ra=f["ra_lmc"] * u.deg, dec=f["dec_lmc"] * u.deg, distance=f["d_lmc"] * u.kpc,
        pm_ra_cosdec=f["pmra_lmc"] * u.mas / u.yr, pm_dec=f["pmdec_lmc"] * u.mas / u.yr,
        radial_velocity=f["vlos_lmc"] * u.km / u.s,
    ).transform_to(Galactocentric())
    np.testing.assert_allclose(w[:3], [c.x.value, c.y.value, c.z.value], rtol=1e-12)
    np.testing.assert_allclose(w[3:], [c.v_x.value, c.v_y.value, c.v_z.value], rtol=1e-12)


# ---------------------------------------------------------------------------------------
# theta handling
# ---------------------------------------------------------------------------------------
def test_theta_conversions_and_errors():
    th = S.as_theta(S.FIDUCIAL_THETA)
    arr = th.to_array()
    assert arr.shape == (12,)
    th2 = S.as_theta(arr)
    assert all(float(a) == float(b) for a, b in zip(th, th2))
    # a mapping of Python floats (weakly typed in JAX), a NumPy row and a Theta give the
    # same abstract values, so that simulate compiles one program for all of them
    row = np.asarray([S.FIDUCIAL_THETA[k] for k in S.THETA_NAMES])
    avals = {jax.typeof(v) for t in (th, th2, S.as_theta(row), S.as_theta(th)) for v in t}
    assert avals == {jax.core.ShapedArray((), np.float64)}, avals
    with pytest.raises(ValueError, match="missing"):
        S.as_theta({k: v for k, v in S.FIDUCIAL_THETA.items() if k != "beta0"})
    with pytest.raises(ValueError, match="length 12"):
        S.as_theta(np.zeros(11))
    with pytest.raises(ValueError, match="gamma"):
        S.simulate(dict(S.FIDUCIAL_THETA, gamma=2.5), jax.random.PRNGKey(0), 10)
    with pytest.raises(ValueError, match="simulate_batch"):
        S.simulate(np.tile(arr, (2, 1)), jax.random.PRNGKey(0), 10)
    with pytest.raises(ValueError, match="tracer_method"):
        S.SimulationConfig(tracer_method="euler")
    with pytest.raises(ValueError, match="bulge_dtype"):
        S.SimulationConfig(bulge_dtype="int32")
    assert S.SimulationConfig(bulge_dtype=jnp.float32) == S.SimulationConfig(bulge_dtype="float32")  # by name
    # "auto": the float32 series unless the tracers' step control is tighter than its round-off
    assert S.SimulationConfig().tracer_bulge_dtype == "float32"
    assert S.SimulationConfig(tracer_method="dopri8", tracer_rtol=1e-10).tracer_bulge_dtype is None
    assert S.SimulationConfig(tracer_method="leapfrog", tracer_rtol=1e-10).tracer_bulge_dtype == "float32"


def test_prior_samples_lie_in_table1():
    x = np.asarray(S.sample_prior(jax.random.PRNGKey(0), 20000))
    assert x.shape == (20000, 12)
    for i, name in enumerate(S.THETA_NAMES):
        kind, a, b = S.PRIOR[name]
        if kind == "uniform":
            assert a <= x[:, i].min() and x[:, i].max() <= b
            assert abs(x[:, i].mean() - 0.5 * (a + b)) < 4 * (b - a) / np.sqrt(12 * 20000)
        else:
            assert abs(x[:, i].mean() - a) < 4 * b / np.sqrt(20000)
            assert abs(x[:, i].std() / b - 1) < 0.03
    assert np.all(np.isfinite(np.asarray(S.log_prior(x))))
    assert float(S.log_prior(dict(S.FIDUCIAL_THETA, beta0=0.9))) == -np.inf


# ---------------------------------------------------------------------------------------
# simulate: physics
# ---------------------------------------------------------------------------------------
#: stars of the small simulations (batch, suite, gala): one compiled program shared by them
N_SMALL = 300

# an extended halo (r_dens = 20 kpc, γ = 3.5) puts ~3,000 of 20,000 stars beyond 50 kpc
_EXTENDED = dict(S.FIDUCIAL_THETA, r_dens=20.0, gamma=3.5)


def _ramp(x):
    """C¹ smoothstep: 0 for x ≤ 0, 1 for x ≥ 1 (compact support, so that the exponentially
    large tangents of tightly bound orbits outside the bin are multiplied by an exact 0)."""
    x = jnp.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _soft_mean_vgsr_south_outer(particles, lo=70.0, hi=160.0, width=2.0):
    """Mean v_GSR of southern stars with lo < r < hi, with C¹ bin edges (width in kpc, deg)
    so that the statistic is differentiable."""
    x = particles[:, :3]
    r = jnp.linalg.norm(x, axis=1)
    vg = jg.frames.v_gsr(particles)
    b = jg.frames.galactocentric_to_galactic(particles).b
    w = _ramp((r - lo) / width) * _ramp((hi - r) / width) * _ramp(-b / width)
    return jnp.sum(w * vg) / jnp.sum(w)


@pytest.mark.parametrize(
    "n, config",
    [
        pytest.param(1000, S.SimulationConfig(), id="n1000-default"),
        pytest.param(20_000, S.SimulationConfig(), id="n20000-default", marks=pytest.mark.slow),
    ],
)
def test_gradient_of_southern_mean_vgsr_wrt_lmc_mass(n, config):
    """d⟨v_GSR⟩(south, 70–160 kpc)/d M_LMC through the whole simulation (forward mode, fixed
    key, the default error-controlled integrator) against central finite differences.

    The derivative of this statistic is rough on the scale of 10⁹ Msun: over 20,000 stars at
    M_LMC = 1.5×10¹¹ it is −1.19, −0.95 and −1.63 ×10⁻¹⁰ km/s/Msun at M and M ± 10⁹ (a few
    stars near the LMC respond sharply), so a secant of step 10⁹ differs from the tangent at M
    by 4.5 % without either being wrong (the step sweep is in docs/simulation.md). Hence two
    checks at δM = 10⁸ Msun (6.7×10⁻⁴ of M_LMC): (i) the difference quotient equals the
    tangent at M within 2 % (measured 0.4 % at 20,000 stars); (ii) the fundamental theorem of
    calculus: it equals the mean of the tangent over [M − δ, M + δ], by the trapezoid rule on
    the tangents that the same three runs return, within 0.5 % (measured 0.05 %). (A 1 Myr
    leapfrog gives a useless gradient here: the tangents of stars that plunged through the cusp
    with a fixed step explode even when the stars end up far out.)"""
    key = jax.random.PRNGKey(7)
    base = S.as_theta(_EXTENDED)

    def stat(m_lmc):
        th = base._replace(m_lmc=m_lmc)
        return _soft_mean_vgsr_south_outer(S.simulate(th, key, n, config=config).particles)

    m0 = jnp.asarray(1.5e11)
    # one compiled program for the tangents and the finite difference (its primal output)
    stat_and_tangent = jax.jit(lambda m: jax.jvp(stat, (m,), (jnp.asarray(1.0),)))
    _, tangent = stat_and_tangent(m0)
    dm = 1e8
    (up, t_up), (down, t_down) = stat_and_tangent(m0 + dm), stat_and_tangent(m0 - dm)
    fd = float(up - down) / (2 * dm)
    assert float(tangent) < 0  # a heavier LMC blueshifts the south more
    np.testing.assert_allclose(float(tangent), fd, rtol=0.02)
    mean_tangent = (float(t_down) + 2 * float(tangent) + float(t_up)) / 4
    np.testing.assert_allclose(mean_tangent, fd, rtol=0.005)


@pytest.mark.xdist_group("simulate_small")
@pytest.mark.parametrize("vmap_size", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_simulate_batch_equals_single_runs(vmap_size):
    """simulate_batch, mapped (vmap_size 1, the CPU default) or vmapped, equals single runs."""
    thetas = np.stack([S.as_theta(S.FIDUCIAL_THETA).to_array(), S.as_theta(_EXTENDED).to_array()])
    keys = jax.random.split(jax.random.PRNGKey(5), 2)
    cfg = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=2.0)
    batch = S.simulate_batch(thetas, keys, N_SMALL, config=cfg, vmap_size=vmap_size)
    assert batch.particles.shape == (2, N_SMALL, 6)
    for i in range(2):
        one = S.simulate(thetas[i], keys[i], N_SMALL, config=cfg)
        np.testing.assert_allclose(
            np.asarray(batch.initial_particles[i]), np.asarray(one.initial_particles), rtol=1e-10, atol=1e-10
        )
        np.testing.assert_allclose(np.asarray(batch.orbit.x_sat[i]), np.asarray(one.orbit.x_sat), rtol=1e-10)
        np.testing.assert_allclose(float(batch.derived["m_mw_50"][i]), float(one.derived["m_mw_50"]), rtol=1e-12)
        # Vmapped and single programs round differently and the tightly bound orbits amplify
        # that over 2.2 Gyr, so compare the stars that stay outside 20 kpc.
        d = np.linalg.norm(np.asarray(batch.particles[i, :, :3]) - np.asarray(one.particles[:, :3]), axis=1)
        outer = np.linalg.norm(np.asarray(one.particles[:, :3]), axis=1) > 20
        assert outer.sum() > 10 and np.median(d[outer]) < 1e-6 and np.mean(d[outer] < 1e-3) > 0.75, np.sort(d)


@pytest.mark.xdist_group("simulate_small")
def test_simulate_batch_does_not_retrace():
    """A second batch with other θ and keys (same shapes, configuration and constants) reuses
    the compiled program: the trace counter of the jitted batch does not move."""
    import equinox as eqx

    from jaxgal.simulation._simulate import _simulate_batch

    cfg = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=2.0)  # as the batch test: shared compile
    thetas = np.asarray(S.sample_prior(jax.random.PRNGKey(8), 4))
    S.simulate_batch(thetas[:2], jax.random.split(jax.random.PRNGKey(1), 2), N_SMALL, config=cfg)
    n = eqx.debug.get_num_traces(_simulate_batch)
    S.simulate_batch(thetas[2:], jax.random.split(jax.random.PRNGKey(2), 2), N_SMALL, config=cfg, model=S.SimulationModel(sigma_df=110.0))
    assert eqx.debug.get_num_traces(_simulate_batch) == n


@pytest.mark.xdist_group("simulate_small")
def test_tracers_match_gala_in_the_inertial_frame():
    """The non-inertial tracer equation against an independent formulation: gala's C leapfrog
    in the inertial frame, with gala's TimeInterpolatedPotential carrying the MW (NFW, three
    Miyamoto–Nagai, power-law bulge) and the LMC along jaxgal's two-body orbit. Both use a
    2 Myr leapfrog (the configuration the batch tests compile, so the program is shared);
    they differ by the interpolation of the centres (Hermite vs GSL cubic spline)."""
    from conftest import gala_inertial_helpers

    gala_mw_lmc_inertial, run_gala_inertial = gala_inertial_helpers()

    th = dict(_EXTENDED)
    cfg = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=2.0)  # as the batch test: shared compile
    res = S.simulate(th, jax.random.PRNGKey(3), N_SMALL, config=cfg)
    gpot = gala_mw_lmc_inertial(P.milky_way(10 ** th["log10_m200"]), P.lmc(th["m_lmc"]), res.orbit)
    w, _ = run_gala_inertial(gpot, np.asarray(res.initial_particles), res.orbit, 2.0)
    d = np.linalg.norm(w[:, :3] - np.asarray(res.particles[:, :3]), axis=1)
    r = np.linalg.norm(np.asarray(res.particles[:, :3]), axis=1)
    outer = r > 30
    assert outer.sum() > 50
    assert np.median(d[outer]) < 1e-4, np.median(d[outer])
    assert np.percentile(d[outer], 90) < 1e-2, np.percentile(d[outer], 90)


@pytest.mark.xdist_group("simulate_small")
def test_suite_is_resumable(tmp_path):
    """A 5-simulation suite in chunks of 2, interrupted after one chunk and resumed, equals
    the same suite run in one go (same θ, same keys, same summaries). Keys are
    fold_in(seed + 1, i), so the chunking cannot change them."""
    cfg = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=2.0)  # as the batch test: shared compile
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    S.run_suite(a, 5, seed=11, n_particles=N_SMALL, chunk_size=2, config=cfg, chunks=[1], progress=False)
    with pytest.raises(ValueError, match="incomplete"):
        S.load_suite(a)
    part = S.load_suite(a, allow_partial=True)
    assert list(part["index"]) == [2, 3]
    written = S.run_suite(a, 5, seed=11, n_particles=N_SMALL, chunk_size=2, config=cfg, progress=False)
    assert len(written) == 2  # chunk 1 was already there
    sa = S.load_suite(a)
    assert sa["theta"].shape == (5, 12) and sa["summaries"].shape == (5, 52)
    assert list(sa["index"]) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(sa["theta"], np.asarray(S.sample_prior(jax.random.PRNGKey(11), 5)))
    with pytest.raises(ValueError, match="different settings"):
        S.run_suite(a, 6, seed=11, n_particles=N_SMALL, chunk_size=2, config=cfg, progress=False)
    S.run_suite(b, 5, seed=11, n_particles=N_SMALL, chunk_size=2, config=cfg, progress=False)  # one go
    sb = S.load_suite(b)
    np.testing.assert_allclose(sa["derived_m_mw_50"], sb["derived_m_mw_50"], rtol=1e-12)
    np.testing.assert_allclose(sa["derived_lmc_pericentre"], sb["derived_lmc_pericentre"], rtol=1e-10)
    np.testing.assert_array_equal(sa["counts"], sb["counts"])
    np.testing.assert_allclose(sa["summaries"], sb["summaries"], rtol=1e-10, atol=1e-10)
