"""MW–LMC simulation (issue 3): dynamical friction, the LMC, the two-body orbit, the tracers
in the moving potential, `simulate`, its physics and its gradient.

References: eq. 1 of Brooks et al. evaluated with numpy/scipy and an analytic NFW density;
the Hernquist enclosed-mass formula; astropy's Galactocentric frame; a tight-tolerance
diffrax solution; equilibrium and reflex-dipole expectations with Poisson errors; central
finite differences.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import erf

import jaxgal as jg
from jaxgal import integrators as I
from jaxgal import potentials as P
from jaxgal import simulation as S
from jaxgal import units as U

G_KPC_KMS = 4.300917270036279e-6  # kpc (km/s)^2 / Msun (astropy)


# ---------------------------------------------------------------------------------------
# dynamical friction
# ---------------------------------------------------------------------------------------
def test_chandrasekhar_factor_series_and_closed_form():
    x = np.concatenate([np.linspace(0.02, 0.0999, 40), np.linspace(0.1, 6.0, 200)])
    ref = (erf(x) - 2 * x / np.sqrt(np.pi) * np.exp(-x * x)) / x**3
    got = np.asarray(I.chandrasekhar_factor(jnp.asarray(x)))
    # the closed form loses ~1e-16/X^3 to cancellation below 0.1: tolerance scaled by it
    tol = np.maximum(1e-12, 1e-15 / x**3)
    np.testing.assert_array_less(np.abs(got / ref - 1), tol)
    assert abs(float(I.chandrasekhar_factor(0.0)) - 4 / (3 * np.sqrt(np.pi))) < 1e-15
    # continuous across the switch at X = 0.1 (value to 1e-12, slope to 1e-8)
    lo, hi = I.chandrasekhar_factor(0.1 - 1e-12), I.chandrasekhar_factor(0.1)
    assert abs(float(hi - lo)) < 1e-12
    g = jax.grad(I.chandrasekhar_factor)
    assert abs(float(g(0.1 - 1e-9) - g(0.1 + 1e-9))) < 1e-8


def test_friction_matches_eq1_with_analytic_nfw():
    """Brooks et al. eq. 1 in numpy, NFW host density from (M200, c200) by hand."""
    m200, c200, h0 = 1e12, 12.0, 67.6
    host = P.NFW.from_m200_c200(m200, c200, h0=h0)
    rho_crit = 3 * (h0 / 1000.0) ** 2 / (8 * np.pi * G_KPC_KMS)  # Msun/kpc^3
    r200 = (3 * m200 / (4 * np.pi * 200 * rho_crit)) ** (1 / 3)
    rs = r200 / c200
    rho_s = m200 / (4 * np.pi * rs**3 * (np.log(1 + c200) - c200 / (1 + c200)))
    m_sat, lnL, sigma, lam = 1.5e11, 1.3, 120.0, 0.7
    fr = I.ChandrasekharFriction(host, m_sat, lnL, sigma=sigma, strength=lam)
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.normal(size=3) * 40
        v_kms = rng.normal(size=3) * 200
        r = np.linalg.norm(x)
        rho = rho_s / ((r / rs) * (1 + r / rs) ** 2)
        v = np.linalg.norm(v_kms)
        X = v / (np.sqrt(2) * sigma)
        # (km/s)^2/kpc units: G in kpc (km/s)^2/Msun
        a_ref = -4 * np.pi * G_KPC_KMS**2 * m_sat * rho * lnL / v**3 * (
            erf(X) - 2 * X / np.sqrt(np.pi) * np.exp(-X * X)
        ) * lam * v_kms  # (km/s)^2 / kpc
        got = fr.acceleration(0.0, jnp.asarray(x), jnp.asarray(v_kms * U.KMS_TO_KPC_MYR), None)
        got = np.asarray(got) / U.KMS_TO_KPC_MYR**2  # internal kpc/Myr² → (km/s)²/kpc
        np.testing.assert_allclose(got, a_ref, rtol=1e-10)
        # friction always removes energy: a_DF · v < 0
        assert float(np.dot(got, v_kms)) < 0


def test_friction_switch_off_and_finite_everywhere():
    mw = P.milky_way(1e12)
    fr0 = I.ChandrasekharFriction(mw, 1e11, 2.0, strength=0.0)
    x = jnp.array([30.0, 1.0, -5.0])
    v = jnp.array([0.1, -0.2, 0.15])
    assert np.all(np.asarray(fr0.acceleration(0.0, x, v, None)) == 0.0)
    fr = I.ChandrasekharFriction(mw, 1e11, 2.0)
    for xx, vv in [
        (jnp.zeros(3), jnp.zeros(3)),
        (jnp.zeros(3), v),
        (x, jnp.zeros(3)),
        (jnp.array([1e-9, 0.0, 0.0]), jnp.array([1e-12, 0.0, 0.0])),
    ]:
        a = fr.acceleration(0.0, xx, vv, None)
        assert np.all(np.isfinite(np.asarray(a)))
        jx, jv = jax.jacfwd(lambda p, q: fr.acceleration(0.0, p, q, None), argnums=(0, 1))(xx, vv)
        assert np.all(np.isfinite(np.asarray(jx))) and np.all(np.isfinite(np.asarray(jv)))
    # a_DF -> 0 linearly as v -> 0
    a1 = np.linalg.norm(fr.acceleration(0.0, x, 1e-6 * v, None))
    a2 = np.linalg.norm(fr.acceleration(0.0, x, 2e-6 * v, None))
    assert abs(a2 / a1 - 2.0) < 1e-6
    with pytest.raises(ValueError, match="mass"):
        I.ChandrasekharFriction(mw, -1.0, 2.0)


def test_coulomb_logarithm():
    assert abs(float(I.coulomb_logarithm(10.0)) - math.log(100 / 16)) < 1e-14
    assert float(I.coulomb_logarithm(100.0)) == 0.0  # floored, never a push


# ---------------------------------------------------------------------------------------
# the LMC
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("m_lmc", [2.5e10, 1.5e11, 5e11])
def test_lmc_scale_radius_gives_mass_inside_8p7_kpc(m_lmc):
    lmc = P.lmc(m_lmc)
    a = float(lmc.r_s)
    assert abs(m_lmc * 8.7**2 / (8.7 + a) ** 2 / 1.7e10 - 1) < 1e-12
    np.testing.assert_allclose(float(lmc.mass_enclosed(8.7)), 1.7e10, rtol=1e-6)


def test_lmc_scale_radius_floor():
    assert float(P.lmc_scale_radius(1e6)) == P._presets.LMC_A_FLOOR
    with pytest.raises(ValueError, match="m_lmc"):
        P.lmc_scale_radius(-1.0)


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
# the two-body orbit
# ---------------------------------------------------------------------------------------
def _fiducial_pair(m_lmc=1.5e11, lam=1.0, m200=1e12):
    f = S.FIDUCIAL_LMC_ICRS
    w = jg.frames.icrs_to_galactocentric(
        f["ra_lmc"], f["dec_lmc"], f["d_lmc"], f["vlos_lmc"], f["pmra_lmc"], f["pmdec_lmc"]
    )
    mw = P.milky_way(m200)
    lmc = P.lmc(m_lmc)
    fr = I.ChandrasekharFriction(mw, m_lmc, I.coulomb_logarithm(lmc.r_s), strength=lam)
    return mw, lmc, fr, w


def test_lmc_pericentre_fiducial():
    """Brooks et al.'s fiducial LMC (M_LMC = 1.5e11, M200 = 1e12, λ_DF = 1): pericentre
    47.2 kpc, 62 Myr ago (we require 45–50 kpc, 20–100 Myr ago)."""
    mw, lmc, fr, w = _fiducial_pair()
    orb = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr)
    d, t = (float(v) for v in orb.pericentre())
    assert 45.0 < d < 50.0, d
    assert -100.0 < t < -20.0, t
    # today's separation is the input
    np.testing.assert_allclose(np.asarray(orb.separation[-1]), np.asarray(w[:3]), rtol=1e-14)
    assert float(orb.t[-1]) == 0.0 and float(orb.t[0]) == -2200.0


def test_two_body_integrators_agree_with_diffrax():
    mw, lmc, fr, w = _fiducial_pair()
    ref = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr, method="dopri8", rtol=1e-12, atol=1e-14)
    rk4 = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr, method="rk4")
    lf = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr, method="leapfrog")
    d_rk4 = float(jnp.max(jnp.linalg.norm(rk4.separation - ref.separation, axis=1)))
    d_lf = float(jnp.max(jnp.linalg.norm(lf.separation - ref.separation, axis=1)))
    d_host = float(jnp.max(jnp.linalg.norm(lf.x_host - ref.x_host, axis=1)))
    # measured: rk4 3e-9 kpc, leapfrog 1.9e-3 kpc over 2.2 Gyr (separations up to ~300 kpc)
    assert d_rk4 < 1e-7, d_rk4
    assert d_lf < 1e-2, d_lf
    assert d_host < 1e-2, d_host
    # the leapfrog converges at second order: halving dt cuts the error ~4x
    lf2 = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr, method="leapfrog", substeps=2)
    d_lf2 = float(jnp.max(jnp.linalg.norm(lf2.separation - ref.separation, axis=1)))
    assert 3.0 < d_lf / d_lf2 < 5.0, (d_lf, d_lf2)


def test_hermite_interpolation_of_the_orbit():
    mw, lmc, fr, w = _fiducial_pair()
    fine = I.integrate_two_body(mw, lmc, w, -2200.0, 0.25, friction=fr)
    coarse = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr)
    ts = fine.t[1::4][:-1] + 0.25  # half-way between coarse nodes, roughly
    got = jax.vmap(coarse.relative_position)(ts)
    want = jax.vmap(fine.relative_position)(ts)
    assert float(jnp.max(jnp.linalg.norm(got - want, axis=1))) < 1e-4


def _relative_energy(mw, orb, i):
    r = orb.separation[i]
    u = orb.relative_velocity[i]
    return float(0.5 * jnp.sum(u * u) + mw._potential(r, 0.0)) / U.KMS_TO_KPC_MYR**2


def test_friction_energy_loss_grows_with_lambda():
    """Going back in time the LMC regains what friction took: E(−2.2 Gyr) − E(0) of the
    relative orbit grows with λ_DF; λ_DF = 0 is the same orbit as no friction at all."""
    gains = []
    for lam in [0.0, 0.1, 1.0, 4.0]:
        mw, lmc, fr, w = _fiducial_pair(lam=lam)
        orb = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr)
        gains.append(_relative_energy(mw, orb, 0) - _relative_energy(mw, orb, -1))
        if lam == 0.0:
            none = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=None)
            np.testing.assert_allclose(np.asarray(orb.x_sat), np.asarray(none.x_sat), rtol=0, atol=1e-12)
    assert all(b > a for a, b in zip(gains, gains[1:])), gains
    assert gains[2] - gains[0] > 1000.0  # (km/s)^2: friction matters at λ = 1


def test_satellite_in_host_frame_is_the_tidal_field():
    mw, lmc, fr, w = _fiducial_pair()
    orb = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr)
    term = I.SatelliteInHostFrame(lmc, orb)
    # vanishes at the host centre; equals the direct sum elsewhere
    assert float(jnp.max(jnp.abs(term.acceleration(-100.0, jnp.zeros(3), None, None)))) < 1e-16
    t = -57.3
    r = orb.relative_position(t)
    x = jnp.array([10.0, -20.0, 30.0])
    direct = -lmc._gradient(x - r, t) - (-lmc._gradient(-r, t))
    np.testing.assert_allclose(np.asarray(term.acceleration(t, x, None, None)), np.asarray(direct), rtol=1e-13)
    # the host's acceleration is what the two-body integration used (central difference of v_host)
    i = 1000
    h = float(orb.t[1] - orb.t[0])
    a_fd = (orb.v_host[i + 1] - orb.v_host[i - 1]) / (2 * h)
    np.testing.assert_allclose(np.asarray(term.host_acceleration(orb.t[i])), np.asarray(a_fd), rtol=1e-4)


# ---------------------------------------------------------------------------------------
# theta handling
# ---------------------------------------------------------------------------------------
def test_theta_conversions_and_errors():
    th = S.as_theta(S.FIDUCIAL_THETA)
    arr = th.to_array()
    assert arr.shape == (12,)
    th2 = S.as_theta(arr)
    assert all(float(a) == float(b) for a, b in zip(th, th2))
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
def _vgsr_bins(particles, edges=(50.0, 100.0, 160.0)):
    """Mean v_GSR and its Poisson error in the north (b > 0) and south, per radial bin."""
    p = np.asarray(particles)
    b = np.asarray(jg.frames.galactocentric_to_galactic(p).b)
    vg = np.asarray(jg.frames.v_gsr(p))
    r = np.linalg.norm(p[:, :3], axis=1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        row = {}
        for name, sel in (("north", b > 0), ("south", b < 0)):
            m = sel & (r >= lo) & (r < hi)
            row[name] = (vg[m].mean(), vg[m].std() / np.sqrt(m.sum()), int(m.sum()))
        out.append(row)
    return out


def _quadrant_means(particles, lo=30.0, hi=160.0):
    p = np.asarray(particles)
    g = jg.frames.galactocentric_to_galactic(p)
    l, b = np.asarray(g.l), np.asarray(g.b)
    vg = np.asarray(jg.frames.v_gsr(p))
    r = np.linalg.norm(p[:, :3], axis=1)
    res = []
    for lm, bm in ((l < 180, b > 0), (l >= 180, b > 0), (l < 180, b < 0), (l >= 180, b < 0)):
        m = lm & bm & (r >= lo) & (r <= hi)
        res.append((vg[m].mean(), vg[m].std() / np.sqrt(m.sum())))
    return np.array(res)


# an extended halo (r_dens = 20 kpc, γ = 3.5) puts ~3,000 of 20,000 stars beyond 50 kpc
_EXTENDED = dict(S.FIDUCIAL_THETA, r_dens=20.0, gamma=3.5)


def test_equilibrium_without_the_lmc():
    """M_LMC = 10⁶ Msun: after 2.2 Gyr the mean v_GSR in each quadrant (30–160 kpc) is zero
    within 3.5σ (Poisson), and χ² over the four is consistent with 4 dof (p > 0.001)."""
    res = S.simulate(dict(_EXTENDED, m_lmc=1e6), jax.random.PRNGKey(3), 20_000)
    q = _quadrant_means(res.particles)
    z = q[:, 0] / q[:, 1]
    assert np.all(np.abs(z) < 3.5), q
    assert np.sum(z**2) < 18.5, q  # χ²(4) p = 0.001
    # the stars moved: this is not the initial state
    assert float(jnp.median(jnp.linalg.norm(res.particles - res.initial_particles, axis=1))) > 1.0


def test_reflex_dipole_with_a_massive_lmc():
    """M_LMC = 1.5×10¹¹ Msun: beyond 50 kpc the north is redshifted and the south
    blueshifted, each at > 3σ, and the north − south difference grows from 50–100 to
    100–160 kpc (measured: +7/−25 and +11/−35 km/s)."""
    res = S.simulate(dict(_EXTENDED, m_lmc=1.5e11), jax.random.PRNGKey(3), 20_000)
    p = np.asarray(res.particles)
    all_out = _vgsr_bins(p, edges=(50.0, 160.0))[0]
    assert all_out["north"][0] > 3 * all_out["north"][1], all_out
    assert all_out["south"][0] < -3 * all_out["south"][1], all_out
    inner, outer = _vgsr_bins(p)
    dip_in = inner["north"][0] - inner["south"][0]
    dip_out = outer["north"][0] - outer["south"][0]
    err = math.hypot(
        math.hypot(inner["north"][1], inner["south"][1]), math.hypot(outer["north"][1], outer["south"][1])
    )
    assert dip_in > 0 and dip_out - dip_in > 1.5 * err, (inner, outer)
    d = res.derived
    assert 40.0 < float(d["lmc_pericentre"]) < 55.0
    np.testing.assert_allclose(float(d["m_lmc_50"]), 1.5e11 * 50**2 / (50 + float(d["a_lmc"])) ** 2, rtol=1e-12)
    assert not bool(d["c200_clipped"])


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
    key) equals a central finite difference (δM = 10⁹ Msun) within 2 %, with the default
    error-controlled integrator. (A 1 Myr leapfrog gives a useless gradient here:
    the tangents of stars that plunged through the cusp with a fixed step explode even when
    the stars end up far out.)"""
    key = jax.random.PRNGKey(7)
    base = S.as_theta(_EXTENDED)

    def stat(m_lmc):
        th = base._replace(m_lmc=m_lmc)
        return _soft_mean_vgsr_south_outer(S.simulate(th, key, n, config=config).particles)

    m0 = jnp.asarray(1.5e11)
    val, tangent = jax.jvp(stat, (m0,), (jnp.asarray(1.0),))
    dm = 1e9
    fd = (stat(m0 + dm) - stat(m0 - dm)) / (2 * dm)
    assert float(tangent) < 0  # a heavier LMC blueshifts the south more
    np.testing.assert_allclose(float(tangent), float(fd), rtol=0.02)


@pytest.mark.parametrize("vmap_size", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_simulate_batch_equals_single_runs(vmap_size):
    """simulate_batch, mapped (vmap_size 1, the CPU default) or vmapped, equals single runs."""
    thetas = np.stack([S.as_theta(S.FIDUCIAL_THETA).to_array(), S.as_theta(_EXTENDED).to_array()])
    keys = jax.random.split(jax.random.PRNGKey(5), 2)
    cfg = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=2.0)
    batch = S.simulate_batch(thetas, keys, 64, config=cfg, vmap_size=vmap_size)
    assert batch.particles.shape == (2, 64, 6)
    for i in range(2):
        one = S.simulate(thetas[i], keys[i], 64, config=cfg)
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


def test_tracers_match_gala_in_the_inertial_frame():
    """The non-inertial tracer equation against an independent formulation: gala's C leapfrog
    in the inertial frame, with gala's TimeInterpolatedPotential carrying the MW (NFW, three
    Miyamoto–Nagai, power-law bulge) and the LMC along jaxgal's two-body orbit. Both use a
    0.5 Myr leapfrog; they differ by the interpolation of the centres (Hermite vs GSL
    cubic spline): measured median 4e-6 kpc after 2.2 Gyr."""
    pytest.importorskip("gala")
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    from _gala import gala_mw_lmc_inertial, run_gala_inertial

    th = dict(_EXTENDED)
    cfg = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=0.5)
    res = S.simulate(th, jax.random.PRNGKey(3), 300, config=cfg)
    gpot = gala_mw_lmc_inertial(P.milky_way(10 ** th["log10_m200"]), P.lmc(th["m_lmc"]), res.orbit)
    w, _ = run_gala_inertial(gpot, np.asarray(res.initial_particles), res.orbit, 0.5)
    d = np.linalg.norm(w[:, :3] - np.asarray(res.particles[:, :3]), axis=1)
    r = np.linalg.norm(np.asarray(res.particles[:, :3]), axis=1)
    outer = r > 30
    assert outer.sum() > 50
    assert np.median(d[outer]) < 1e-4, np.median(d[outer])
    assert np.percentile(d[outer], 90) < 1e-2, np.percentile(d[outer], 90)


def test_suite_is_resumable(tmp_path):
    """A 5-simulation suite in chunks of 2, interrupted after one chunk and resumed, equals
    the same suite run in one go (same θ, same keys, same summaries). Keys are
    fold_in(seed + 1, i), so the chunking cannot change them."""
    cfg = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=2.0)  # as the batch test: shared compile
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    S.run_suite(a, 5, seed=11, n_particles=64, chunk_size=2, config=cfg, chunks=[1], progress=False)
    with pytest.raises(ValueError, match="incomplete"):
        S.load_suite(a)
    part = S.load_suite(a, allow_partial=True)
    assert list(part["index"]) == [2, 3]
    written = S.run_suite(a, 5, seed=11, n_particles=64, chunk_size=2, config=cfg, progress=False)
    assert len(written) == 2  # chunk 1 was already there
    sa = S.load_suite(a)
    assert sa["theta"].shape == (5, 12) and sa["summaries"].shape == (5, 52)
    assert list(sa["index"]) == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(sa["theta"], np.asarray(S.sample_prior(jax.random.PRNGKey(11), 5)))
    with pytest.raises(ValueError, match="different settings"):
        S.run_suite(a, 6, seed=11, n_particles=64, chunk_size=2, config=cfg, progress=False)
    S.run_suite(b, 5, seed=11, n_particles=64, chunk_size=2, config=cfg, progress=False)  # one go
    sb = S.load_suite(b)
    np.testing.assert_allclose(sa["derived_m_mw_50"], sb["derived_m_mw_50"], rtol=1e-12)
    np.testing.assert_allclose(sa["derived_lmc_pericentre"], sb["derived_lmc_pericentre"], rtol=1e-10)
    np.testing.assert_array_equal(sa["counts"], sb["counts"])
    np.testing.assert_allclose(sa["summaries"], sb["summaries"], rtol=1e-10, atol=1e-10)
