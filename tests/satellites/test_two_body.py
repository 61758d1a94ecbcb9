"""The MW–LMC two-body orbit (jaxgal.satellites): the fiducial pericentre, the shared solvers
against a tight diffrax solution, Hermite interpolation, friction's energy bookkeeping and the
satellite's tidal field in the host frame."""

import jax
import jax.numpy as jnp
import numpy as np

import jaxgal as jg
from jaxgal import integrators as IG
from jaxgal import potentials as P
from jaxgal import satellites as I
from jaxgal import simulation as S
from jaxgal import units as U


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
    """Brooks et al.'s fiducial LMC (M_LMC = 1.5e11, M200 = 1e12, λ_DF = 1): a recent
    pericentre (the range 45–50 kpc, 20–100 Myr ago is a plausibility band: the LMC is
    49.4 kpc away today and receding). The precise value (47.19 kpc, 62.2 Myr ago) is
    checked against an independent implementation of the same equations in
    tests/satellites/test_pericentre_reference.py."""
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
    import diffrax

    dop8 = IG.Diffrax(diffrax.Dopri8(), diffrax.PIDController(rtol=1e-12, atol=1e-14), max_steps=10**6)
    ref = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr, solver=dop8)
    rk4 = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr, solver=IG.RK4(1.0))
    lf = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr, solver=IG.Leapfrog(1.0, midpoint_iterations=3))
    d_rk4 = float(jnp.max(jnp.linalg.norm(rk4.separation - ref.separation, axis=1)))
    d_lf = float(jnp.max(jnp.linalg.norm(lf.separation - ref.separation, axis=1)))
    d_host = float(jnp.max(jnp.linalg.norm(lf.x_host - ref.x_host, axis=1)))
    # measured: rk4 3e-9 kpc, leapfrog 1.9e-3 kpc over 2.2 Gyr (separations up to ~300 kpc)
    assert d_rk4 < 1e-7, d_rk4
    assert d_lf < 1e-2, d_lf
    assert d_host < 1e-2, d_host
    # the leapfrog converges at second order: halving dt cuts the error ~4x
    lf2 = I.integrate_two_body(mw, lmc, w, -2200.0, 1.0, friction=fr, solver=IG.Leapfrog(0.5, midpoint_iterations=3))
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
    return float(0.5 * jnp.sum(u * u) + mw.phi(r, 0.0)) / U.KMS_TO_KPC_MYR**2


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
    direct = -lmc.grad_phi(x - r, t) - (-lmc.grad_phi(-r, t))
    np.testing.assert_allclose(np.asarray(term.acceleration(t, x, None, None)), np.asarray(direct), rtol=1e-13)
    # the host's acceleration is what the two-body integration used (central difference of v_host)
    i = 1000
    h = float(orb.t[1] - orb.t[0])
    a_fd = (orb.v_host[i + 1] - orb.v_host[i - 1]) / (2 * h)
    np.testing.assert_allclose(np.asarray(term.host_acceleration(orb.t[i])), np.asarray(a_fd), rtol=1e-4)
