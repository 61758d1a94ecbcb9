"""Tests of jaxgal.integrators against analytic orbits, invariants, gala and finite differences.

Tolerances are stated next to each check. Potentials are small (Plummer, Hernquist, NFW)
where the physics allows, so that each configuration compiles in seconds.
"""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgal as jg
import jaxgal.integrators as ji
from jaxgal import units as U

G = U.G
KMS = U.KMS_TO_KPC_MYR


def energy(pot, w):
    """Specific energy [(km/s)²] of states (..., 6) in kpc, km/s."""
    w = np.asarray(w)
    return np.asarray(pot.potential(jnp.asarray(w[..., :3]))) + 0.5 * np.sum(w[..., 3:] ** 2, axis=-1)


def kepler_state(gm, a, e, t):
    """Analytic Kepler orbit starting at pericentre on +x moving in +y: (x, v) at time t
    (internal units: kpc, Myr, kpc/Myr)."""
    n = np.sqrt(gm / a**3)
    M = n * t
    E = M
    for _ in range(50):  # Newton on Kepler's equation
        E = E - (E - e * np.sin(E) - M) / (1 - e * np.cos(E))
    b = a * np.sqrt(1 - e * e)
    x = np.array([a * (np.cos(E) - e), b * np.sin(E), 0.0])
    Edot = n / (1 - e * np.cos(E))
    v = np.array([-a * np.sin(E) * Edot, b * np.cos(E) * Edot, 0.0])
    return x, v


# A Kepler potential: a Plummer sphere with a 1e-6 kpc core, orbits at r > 5 kpc.
M_KEP, A_KEP, E_KEP = 1e11, 10.0, 0.5
KEPLER = jg.potentials.Plummer(M_KEP, 1e-6)


def kepler_w0():
    x, v = kepler_state(G * M_KEP, A_KEP, E_KEP, 0.0)
    return np.concatenate([x, v / KMS])


PLUMMER = jg.potentials.Plummer(1e11, 1.0)
W_ECC = np.array([3.0, 0.5, 0.3, 20.0, 120.0, 15.0])  # an eccentric, non-planar Plummer orbit


# ---------------------------------------------------------------------------------------
# the forces the integrators use (each potential's own grad_phi)
# ---------------------------------------------------------------------------------------
def _textbook_gradient(pot, x):
    """∇Φ [kpc/Myr²] of every component from the textbook closed forms (jax.scipy's
    incomplete gamma for the bulge's M(<r), (R² + (a + ζ)²)^{3/2} for the discs)."""
    import jax.scipy.special as jsp

    P = jg.potentials
    comps = pot.components if isinstance(pot, P.CompositePotential) else (pot,)
    total = jnp.zeros_like(x)
    for c in comps:
        if isinstance(c, P.PowerLawCutoff):
            r = jnp.linalg.norm(x, axis=-1, keepdims=True)
            m = c.mass * jsp.gammainc(1.5 - 0.5 * c.alpha, (r / c.r_c) ** 2)
            total = total + G * m / r**3 * x
        elif isinstance(c, (P.MiyamotoNagai, P.MN3ExponentialDisc)):
            ms, as_, b = (c.mass[None], c.a[None], c.b) if isinstance(c, P.MiyamotoNagai) else c.parameters()
            R2 = x[:, 0] ** 2 + x[:, 1] ** 2
            zb = jnp.sqrt(x[:, 2] ** 2 + b**2)
            for m, a in zip(ms, as_):
                gm = G * m / (R2 + (a + zb) ** 2) ** 1.5
                total = total + jnp.stack([gm * x[:, 0], gm * x[:, 1], gm * x[:, 2] * (a + zb) / zb], -1)
        else:  # NFW, Hernquist: their closed-form M(<r)
            r = jnp.linalg.norm(x, axis=-1, keepdims=True)
            total = total + G * jax.vmap(lambda rr: c.m_enc(rr, 0.0))(r[:, 0])[:, None] / r**3 * x
    return total


@pytest.mark.parametrize(
    "make",
    [
        lambda: jg.potentials.milky_way(1e12),
        jg.potentials.MWPotential2014,
        jg.potentials.MilkyWayPotential2022,
        lambda: jg.potentials.MiyamotoNagai(5e10, 3.0, 0.28),
    ],
    ids=["milky_way", "MWPotential2014", "MilkyWayPotential2022", "MiyamotoNagai"],
)
def test_fast_gradient_equals_potential_gradient(make):
    # The force every integrator uses (grad_phi: series bulge, fused discs) equals the
    # textbook closed forms to 1e-13 relative, from 10 pc to 3 Mpc.
    pot = make()
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(500, 3)) * np.exp(rng.uniform(np.log(0.01), np.log(3000), (500, 1))))
    ref = _textbook_gradient(pot, x)
    fast = jax.vmap(lambda q: pot.grad_phi(q, 0.0))(x)
    rel = jnp.linalg.norm(fast - ref, axis=1) / jnp.linalg.norm(ref, axis=1)
    assert float(jnp.max(rel)) < 1e-13


def test_powerlaw_cutoff_series_matches_scipy():
    # P(a, x) by the fixed series vs scipy.special.gammainc: 1e-13 relative (float64),
    # 2e-5 (float32), for a in the bulge range and x from 1e-8 to 100.
    import scipy.special as ss

    from jaxgal.potentials._spherical import gammainc_series as powerlaw_cutoff_mass_fraction

    P = jax.jit(powerlaw_cutoff_mass_fraction)

    xs = np.logspace(-8, 2, 2000)
    for a in (0.1, 0.6, 1.0, 1.5):
        ref = ss.gammainc(a, xs)
        assert np.max(np.abs(np.asarray(P(a, jnp.asarray(xs))) / ref - 1)) < 1e-13
        got32 = np.asarray(P(np.float32(a), jnp.asarray(xs, jnp.float32)), dtype=float)
        assert np.max(np.abs(got32 / ref - 1)) < 2e-5


# ---------------------------------------------------------------------------------------
# orders, conservation, reversibility
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method,order,h",
    [("leapfrog", 2, 0.2), ("yoshida4", 4, 0.4), ("suzuki4", 4, 0.4), ("bm4", 4, 0.1), ("bm6", 6, 0.4), ("kahan_li6", 6, 0.8)],
)
def test_energy_error_order(method, order, h):
    # Max |ΔE/E| over ~1.5 radial periods of an eccentric Plummer orbit at steps h and h/2:
    # the measured order log2(err(h)/err(h/2)) is within ±0.35 of the scheme's order.
    e0 = energy(PLUMMER, W_ECC)
    errs = []
    for step in (h, h / 2):
        r = ji.integrate_orbits(PLUMMER, W_ECC, 0.0, 160.0, step, method=method, save_every=1)
        errs.append(np.max(np.abs(energy(PLUMMER, r.w) / e0 - 1)))
    measured = np.log2(errs[0] / errs[1])
    assert errs[1] > 1e-13  # still above round-off
    assert abs(measured - order) < 0.35, (errs, measured)


def test_leapfrog_energy_error_is_bounded():
    # Symplectic: over ~40 radial periods the energy error oscillates without drift — the
    # max over the last quarter is within a factor 1.5 of the max over the first quarter,
    # and stays < 1e-2 at dt = 0.25 Myr (pericentre passages at 1–2 core radii).
    e0 = energy(PLUMMER, W_ECC)
    r = ji.integrate_orbits(PLUMMER, W_ECC, 0.0, 4000.0, 0.25, save_every=8)
    de = np.abs(energy(PLUMMER, r.w) / e0 - 1)
    q = len(de) // 4
    assert de[-q:].max() < 1.5 * de[:q].max()
    assert de.max() < 1e-2


@pytest.mark.parametrize("method", ["leapfrog", "yoshida4", "bm4"])
def test_time_reversibility(method):
    # Forward 500 Myr then backward with dt < 0 returns to the initial state: 1e-10 kpc and
    # 1e-9 km/s (≈1e-11 relative: round-off accumulated over 2 × 1000 steps).
    fwd = ji.integrate_orbits(PLUMMER, W_ECC, 0.0, 500.0, 0.5, method=method)
    back = ji.integrate_orbits(PLUMMER, fwd.w, 500.0, 0.0, -0.5, method=method)
    assert np.max(np.abs(np.asarray(back.x) - W_ECC[:3])) < 1e-10
    assert np.max(np.abs(np.asarray(back.v) - W_ECC[3:])) < 1e-9


def test_adaptive_step_is_time_symmetric():
    # One composed adaptive step from (x, v) to (x', v'), then one from (x', −v'), returns to
    # (x, −v) to 1e-12 once the midpoint fixed point is converged (6 sweeps); with 2 sweeps
    # the residual is < 1e-6 of the step.
    from jaxgal.integrators._adaptive import _lane_step

    from jaxgal.integrators._stepfunction import StepFunction
    from jaxgal.integrators._terms import as_force_term

    pos, vel = as_force_term(PLUMMER).split()
    sf = StepFunction.from_potential(PLUMMER, 0.0)
    x0 = jnp.asarray(W_ECC[:3])
    v0 = jnp.asarray(W_ECC[3:]) * KMS
    e = PLUMMER.phi(x0, 0.0) + 0.5 * jnp.sum(v0 * v0)
    gammas = ji.Suzuki4.splitting.gammas
    for iters, tol in [(6, 1e-12), (2, 1e-6)]:
        x1, v1, t1, *_ = _lane_step(pos, vel, sf, gammas, 0.1, 1.0, iters, 2, None, x0, v0, 0.0, e, 1e9, False)
        x2, v2, *_ = _lane_step(pos, vel, sf, gammas, 0.1, 1.0, iters, 2, None, x1, -v1, 0.0, e, 1e9, False)
        assert float(t1) > 0.1  # a real step
        assert float(jnp.max(jnp.abs(x2 - x0))) < tol and float(jnp.max(jnp.abs(v2 + v0))) < tol


def test_adaptive_order():
    # The adaptive suzuki4 converges at fourth order in eta: halving eta from 0.05 divides
    # the 500 Myr position error against dopri8 (rtol 1e-12) by 2^(4 ± 0.5).
    ref = np.asarray(ji.integrate_orbits(PLUMMER, W_ECC, 0.0, 500.0, solver=_dopri8(1e-12, 1e-14)).x)
    errs = []
    for eta in (0.05, 0.025):
        r = ji.integrate_orbits(PLUMMER, W_ECC, 0.0, 500.0, solver=ji.AdaptiveComposition("suzuki4", eta=eta, iterations=3, dt_max=5.0))
        errs.append(np.linalg.norm(np.asarray(r.x) - ref))
    assert abs(np.log2(errs[0] / errs[1]) - 4) < 0.5, errs


# ---------------------------------------------------------------------------------------
# analytic orbits
# ---------------------------------------------------------------------------------------
def _dopri8(rtol, atol, name="dopri8"):
    """diffrax's solver of that name with a PID controller (the old ``method=, rtol=``)."""
    import diffrax

    return ji.Diffrax(name, diffrax.PIDController(rtol=rtol, atol=atol))


KEPLER_CASES = [
    ("leapfrog", dict(), 0.05, 2e-3),
    ("yoshida4", dict(), 0.2, 1e-5),
    ("bm4", dict(), 0.5, 1e-6),
    ("bm6", dict(), 1.0, 1e-6),
    ("suzuki4", dict(solver=ji.AdaptiveComposition("suzuki4", eta=0.05, dt_max=5.0)), None, 5e-6),
    ("dopri8", dict(solver=ji.ErrorControlledRK("dopri8", rtol=1e-11, atol=1e-14)), None, 1e-7),
    ("dopri8", dict(solver=_dopri8(1e-11, 1e-14)), None, 1e-7),
    pytest.param("tsit5", dict(solver=ji.ErrorControlledRK("tsit5", rtol=1e-10, atol=1e-13)), None, 1e-6, marks=pytest.mark.slow),
    pytest.param("tsit5", dict(solver=_dopri8(1e-10, 1e-13, "tsit5")), None, 1e-6, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("method,kw,dt,tol", KEPLER_CASES)
def test_kepler_ellipse(method, kw, dt, tol):
    # e = 0.5, a = 10 kpc Kepler ellipse, 300 Myr (~1.6 periods): final position within
    # `tol` kpc of the analytic solution (Kepler's equation).
    t1 = 300.0
    r = ji.integrate_orbits(KEPLER, kepler_w0(), 0.0, t1, dt, method=method, **kw)
    x_ref, v_ref = kepler_state(G * M_KEP, A_KEP, E_KEP, t1)
    assert np.linalg.norm(np.asarray(r.x) - x_ref) < tol
    assert np.linalg.norm(np.asarray(r.v) - v_ref / KMS) < tol * 100  # km/s


def test_circular_orbit_period_from_vc():
    # A circular orbit in an NFW halo returns to its start after P = 2πr/v_c(r): within
    # 1e-7 kpc for bm4 at dt = 1 Myr and 1e-3 kpc for leapfrog at dt = 0.5 Myr.
    halo = jg.potentials.NFW.from_m200_c200(1e12, 10.0)
    r0 = 15.0
    vc = float(halo.circular_velocity(r0))
    period = 2 * np.pi * r0 / (vc * KMS)
    w0 = np.array([r0, 0.0, 0.0, 0.0, vc, 0.0])
    for method, dt, tol in [("bm4", 1.0, 1e-7), ("leapfrog", 0.5, 1e-3)]:
        r = ji.integrate_orbits(halo, w0, 0.0, period, dt, method=method)
        assert np.linalg.norm(np.asarray(r.x) - w0[:3]) < tol, method


# ---------------------------------------------------------------------------------------
# gala
# ---------------------------------------------------------------------------------------
def _gala_orbit(gpot, w0, t1, integrator, dt=None):
    import astropy.units as u
    import gala.dynamics as gd
    import gala.integrate as gi
    import gala.potential as gp

    pos = gd.PhaseSpacePosition(pos=w0[:, :3].T * u.kpc, vel=w0[:, 3:].T * u.km / u.s)
    H = gp.Hamiltonian(gpot)
    if integrator == "leapfrog":
        o = H.integrate_orbit(pos, dt=dt * u.Myr, t1=0.0, n_steps=int(round(t1 / dt)), Integrator=gi.LeapfrogIntegrator, save_all=False)
    else:
        o = H.integrate_orbit(
            pos, t=np.array([0.0, t1]) * u.Myr, Integrator=gi.DOPRI853Integrator,
            Integrator_kwargs=dict(rtol=1e-13, atol=1e-15), save_all=False,
        )
    return np.concatenate([o.xyz[:, -1].to_value(u.kpc).T, o.v_xyz[:, -1].to_value(u.km / u.s).T], axis=1).reshape(-1, 6)


@pytest.mark.parametrize("kind", ["hernquist", "nfw"])
def test_agrees_with_gala(kind):
    # Same potential, same initial conditions, 1 Gyr: jaxgal's bm6 at dt = 0.25 Myr vs
    # gala's DOP853 (rtol 1e-13) positions agree to 1e-7 kpc; jaxgal's and gala's
    # kick–drift–kick leapfrogs at dt = 1 Myr agree to 1e-9 kpc (the same algorithm).
    pytest.importorskip("gala")
    import astropy.units as u
    import gala.potential as gp
    from gala.units import galactic

    if kind == "hernquist":
        pot = jg.potentials.Hernquist(1e11, 2.0)
        gpot = gp.HernquistPotential(m=1e11 * u.Msun, c=2.0 * u.kpc, units=galactic)
    else:
        pot = jg.potentials.NFW(6e11, 17.0)
        gpot = gp.NFWPotential(m=6e11 * u.Msun, r_s=17.0 * u.kpc, units=galactic)
    w0 = np.array([[10.0, 0.0, 2.0, 10.0, 120.0, 30.0], [30.0, -5.0, 10.0, -40.0, 60.0, 80.0], [5.0, 5.0, -5.0, 100.0, -20.0, 40.0]])
    ours = ji.integrate_orbits(pot, w0, 0.0, 1000.0, 0.25, method="bm6")
    theirs = _gala_orbit(gpot, w0, 1000.0, "dop853")
    assert np.max(np.linalg.norm(np.asarray(ours.x) - theirs[:, :3], axis=1)) < 1e-7
    lf = ji.integrate_orbits(pot, w0, 0.0, 1000.0, 1.0)
    theirs_lf = _gala_orbit(gpot, w0, 1000.0, "leapfrog", dt=1.0)
    assert np.max(np.linalg.norm(np.asarray(lf.x) - theirs_lf[:, :3], axis=1)) < 1e-9


# ---------------------------------------------------------------------------------------
# transformations: jit, vmap, time dependence, extra terms
# ---------------------------------------------------------------------------------------
def test_jit_equals_eager():
    # integrate_orbits inside the user's jit (potential mass traced) equals the eager call
    # to 1e-12 (same XLA computation up to fusion).
    w0 = np.stack([W_ECC, W_ECC * 0.9])

    def final(m):
        return ji.integrate_orbits(jg.potentials.Plummer(m, 1.0), w0, 0.0, 200.0, 0.5, method="yoshida4").w

    eager = final(1e11)
    jitted = jax.jit(final)(1e11)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kw",
    [
        dict(dt=1.0, method="leapfrog"),
        dict(solver=ji.ErrorControlledRK("tsit5", rtol=1e-8, lanes=2)),
        pytest.param(dict(solver=ji.AdaptiveComposition("yoshida4", eta=0.2, lanes=2, dt_max=1.0)), marks=pytest.mark.slow),
        pytest.param(dict(solver=_dopri8(1e-8, 1e-10, "tsit5")), marks=pytest.mark.slow),
    ],
    ids=["leapfrog", "lanes-rk", "lanes-adaptive", "diffrax"],
)
def test_batch_equals_loop_of_single_orbits(kw):
    # A batch of 5 orbits (with 2 lanes for the lane engines, so lanes are refilled) equals
    # five single-orbit calls: 1e-10 kpc, km/s (vectorisation may change round-off only).
    rng = np.random.default_rng(3)
    w0 = np.concatenate([rng.uniform(2, 8, (5, 3)), rng.normal(0, 80, (5, 3))], axis=1)
    batch = ji.integrate_orbits(PLUMMER, w0, 0.0, 150.0, **kw)
    assert batch.w.shape == (5, 6)
    for i in range(5):
        single = ji.integrate_orbits(PLUMMER, w0[i], 0.0, 150.0, **kw)
        assert single.w.shape == (6,)
        np.testing.assert_allclose(np.asarray(single.w), np.asarray(batch.w[i]), rtol=0, atol=1e-10)


def test_translating_potential_is_galilean():
    # A Hernquist sphere moving at constant velocity V from c0: the orbit started at
    # (x0 + c0, v0 + V) equals the static orbit shifted by c0 + V t, to 1e-8 kpc over
    # 1 Gyr (the cubic spline of a straight line is exact), with the leapfrog.
    h = jg.potentials.Hernquist(1e11, 2.0)
    c0 = np.array([3.0, -2.0, 1.0])
    V_kms = np.array([50.0, 20.0, -30.0])
    times = np.linspace(-10.0, 1010.0, 12)
    centres = c0 + np.outer(times, V_kms * KMS)
    moving = jg.potentials.TranslatingPotential(h, times, centres)
    w0 = np.array([8.0, 0.0, 1.0, 0.0, 150.0, 20.0])
    w0_moving = w0 + np.concatenate([c0, V_kms])
    s = ji.integrate_orbits(h, w0, 0.0, 1000.0, 0.5, save_every=200)
    m = ji.integrate_orbits(moving, w0_moving, 0.0, 1000.0, 0.5, save_every=200)
    shift = c0 + np.outer(np.asarray(s.t), V_kms * KMS)
    np.testing.assert_allclose(np.asarray(m.x), np.asarray(s.x) + shift, rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.asarray(m.v), np.asarray(s.v) + V_kms, rtol=0, atol=1e-8)


def _weak():
    return jg.potentials.Plummer(1e-10, 1.0)  # ~zero force


def test_constant_acceleration_gives_parabola():
    # In a negligible potential a constant field a gives x = x0 + v0 t + a t²/2 exactly
    # for the symplectic schemes (1e-10 kpc) and diffrax (1e-8 kpc).
    a_kms_myr = np.array([1.0, -0.5, 0.25])  # km/s/Myr
    w0 = np.array([1.0, 2.0, 3.0, 10.0, -5.0, 2.0])
    t = 100.0
    x_ref = w0[:3] + w0[3:] * KMS * t + 0.5 * a_kms_myr * KMS * t * t
    v_ref = w0[3:] + a_kms_myr * t
    term = ji.ConstantAcceleration(a_kms_myr)
    for kw, tol in [(dict(dt=1.0, method="leapfrog"), 1e-10), (dict(dt=1.0, method="bm4"), 1e-10), (dict(solver=_dopri8(1e-10, 1e-12)), 1e-8)]:
        r = ji.integrate_orbits(_weak(), w0, 0.0, t, extra_terms=term, **kw)
        np.testing.assert_allclose(np.asarray(r.x), x_ref, rtol=0, atol=tol)
        np.testing.assert_allclose(np.asarray(r.v), v_ref, rtol=0, atol=tol * 100)


class _Drag(ji.AbstractForceTerm):
    """a = −γ v (velocity dependent)."""

    gamma: float

    def acceleration(self, t, x, v, args):
        return -self.gamma * v


def test_velocity_dependent_term_drag():
    # Linear drag: v = v0 e^{−γt}, x = x0 + v0 (1 − e^{−γt})/γ. The leapfrog with the
    # implicit-midpoint kick is second order: error < 1e-4 kpc at dt = 1 Myr and 4× smaller
    # (±15 %) at dt = 0.5 Myr; dopri8 within 1e-8 kpc.
    gamma = 0.01  # 1/Myr
    w0 = np.array([1.0, 0.0, 0.0, 100.0, 50.0, -20.0])
    t = 200.0
    v_ref = w0[3:] * np.exp(-gamma * t)
    x_ref = w0[:3] + w0[3:] * KMS * (1 - np.exp(-gamma * t)) / gamma
    drag = _Drag(gamma)
    errs = []
    for dt in (1.0, 0.5):
        r = ji.integrate_orbits(_weak(), w0, 0.0, t, dt, extra_terms=drag)
        errs.append(np.linalg.norm(np.asarray(r.x) - x_ref))
    assert errs[0] < 1e-4
    assert 4 / 1.15 < errs[0] / errs[1] < 4 * 1.15
    r = ji.integrate_orbits(_weak(), w0, 0.0, t, extra_terms=drag, solver=_dopri8(1e-11, 1e-13))
    assert np.linalg.norm(np.asarray(r.x) - x_ref) < 1e-8
    np.testing.assert_allclose(np.asarray(r.v), v_ref, rtol=1e-8)


# ---------------------------------------------------------------------------------------
# gradients, precision
# ---------------------------------------------------------------------------------------
W_GRAD = np.array([20.0, 3.0, 5.0, -30.0, 150.0, 40.0])


def _fd_check(final_x, p0, eps, rtol):
    grad = np.asarray(jax.jacrev(final_x)(p0))
    fd = (np.asarray(final_x(p0 + eps)) - np.asarray(final_x(p0 - eps))) / (2 * eps)
    assert np.max(np.abs(grad - fd)) / np.max(np.abs(fd)) < rtol, (grad, fd)


def test_gradient_wrt_nfw_mass_matches_finite_differences():
    # d x(t = 300 Myr) / d log10 m_s of an NFW halo (plus a disc), reverse mode through the
    # leapfrog scan, vs a central finite difference with step 1e-4 dex: relative
    # difference < 1e-6.
    def final_x(log_m):
        pot = jg.potentials.NFW(10.0**log_m, 17.0) + jg.potentials.MiyamotoNagai(5e10, 3.0, 0.3)
        return ji.integrate_orbits(pot, W_GRAD, 0.0, 300.0, 0.5).x

    _fd_check(final_x, 11.8, 1e-4, 1e-6)


@pytest.mark.slow
def test_forward_mode_gradient_through_lane_engines():
    # jax.jacfwd through the lane-scheduled tsit5 (rtol 1e-10) and the adaptive suzuki4
    # (eta 0.05) vs central finite differences: relative difference < 1e-5.
    for sc in [ji.ErrorControlledRK("tsit5", rtol=1e-10), ji.AdaptiveComposition("suzuki4", eta=0.05, dt_max=1.0)]:

        def final_x(log_m, sc=sc):
            pot = jg.potentials.NFW(10.0**log_m, 17.0)
            return ji.integrate_orbits(pot, W_GRAD, 0.0, 300.0, solver=sc).x

        jac = np.asarray(jax.jacfwd(final_x)(11.8))
        fd = (np.asarray(final_x(11.8 + 1e-4)) - np.asarray(final_x(11.8 - 1e-4))) / 2e-4
        assert np.max(np.abs(jac - fd)) / np.max(np.abs(fd)) < 1e-5


@pytest.mark.slow
def test_gradient_wrt_milky_way_m200_matches_finite_differences():
    # The same through milky_way(M200) (c200 solved for v_c(R☉), bulge series): < 1e-5.
    def final_x(log_m):
        return ji.integrate_orbits(jg.potentials.milky_way(10.0**log_m), W_GRAD, 0.0, 300.0, 0.5).x

    _fd_check(final_x, 12.0, 1e-4, 1e-5)


def test_float32_and_mixed_precision():
    # dtype=float32 runs in single precision and stays within 2e-4 kpc (relative 7e-5) of
    # float64 after 200 Myr (400 steps); float32 forces on a float64 state within 5e-5 kpc.
    w0 = np.stack([W_ECC, W_ECC * 1.1])
    ref = ji.integrate_orbits(PLUMMER, w0, 0.0, 200.0, 0.5, method="bm4")
    r32 = ji.integrate_orbits(PLUMMER, w0, 0.0, 200.0, 0.5, method="bm4", dtype=jnp.float32)
    mixed = ji.integrate_orbits(PLUMMER, w0, 0.0, 200.0, 0.5, method="bm4", force_dtype=jnp.float32)
    assert r32.w.dtype == jnp.float32 and mixed.w.dtype == jnp.float64
    assert np.max(np.abs(np.asarray(r32.x, dtype=float) - np.asarray(ref.x))) < 2e-4
    assert np.max(np.abs(np.asarray(mixed.x) - np.asarray(ref.x))) < 5e-5


# ---------------------------------------------------------------------------------------
# output grid and inputs
# ---------------------------------------------------------------------------------------
def test_saved_snapshots_shape_grid_and_rounding():
    # dt = 0.3 does not divide 10 Myr: n = ceil(10/0.3) = 34 steps of 10/34 Myr; with
    # save_every=5 the steps round up to 35 (7 blocks), snapshots at t0 + 5j·(10/35), the
    # first is w0 and the last equals the final-state call to 1e-12.
    w0 = np.stack([W_ECC, W_ECC * 0.8, W_ECC * 1.2])
    final = ji.integrate_orbits(PLUMMER, w0, 0.0, 10.0, 0.3)
    assert int(final.n_steps[0]) == 34 and final.w.shape == (3, 6) and float(final.t) == 10.0
    saved = ji.integrate_orbits(PLUMMER, w0, 0.0, 10.0, 0.3, save_every=5)
    assert saved.w.shape == (8, 3, 6)
    np.testing.assert_allclose(np.asarray(saved.t), np.arange(8) * 5 * 10 / 35, atol=1e-12)
    np.testing.assert_allclose(np.asarray(saved.w[0]), w0, atol=0)
    one = ji.integrate_orbits(PLUMMER, w0, 0.0, 10.0, 10 / 35)
    np.testing.assert_allclose(np.asarray(saved.w[-1]), np.asarray(one.w), atol=1e-12)
    single = ji.integrate_orbits(PLUMMER, W_ECC, 0.0, 10.0, 0.3, save_every=5)
    assert single.w.shape == (8, 6)


def test_adaptive_snapshots_land_on_the_grid(request):
    # Adaptive engines land exactly on the output times: the snapshot at t = 100 Myr of a
    # save_every run equals a separate run to 100 Myr (1e-9 kpc) (lane-scheduled tsit5;
    # the adaptive compositions share the landing logic and are checked in the slow suite).
    cases = [ji.ErrorControlledRK("tsit5", rtol=1e-9)]
    if request.config.getoption("--runslow"):
        cases.append(ji.AdaptiveComposition("suzuki4", eta=0.1, dt_max=10.0))
    for sc in cases:
        full = ji.integrate_orbits(PLUMMER, W_ECC, 0.0, 200.0, 10.0, solver=sc, save_every=10)
        assert full.w.shape == (3, 6)
        half = ji.integrate_orbits(PLUMMER, W_ECC, 0.0, 100.0, 10.0, solver=sc)
        np.testing.assert_allclose(np.asarray(full.w[1]), np.asarray(half.w), atol=1e-9)


def test_quantity_and_pair_inputs():
    # (x, v) Quantities in other units give the same orbit as plain kpc, km/s (1e-12).
    import astropy.units as u

    ref = ji.integrate_orbits(PLUMMER, W_ECC, 0.0, 50.0, 0.5)
    q = ji.integrate_orbits(PLUMMER, (W_ECC[:3] * 1000 * u.pc, W_ECC[3:] * u.km / u.s), 0.0 * u.Myr, 0.05 * u.Gyr, 0.5 * u.Myr)
    np.testing.assert_allclose(np.asarray(q.w), np.asarray(ref.w), atol=1e-12)


@pytest.mark.parametrize(
    "kwargs,err",
    [
        (dict(w0=np.zeros((4, 5))), ValueError),
        (dict(w0=np.array([1.0, np.nan, 0, 0, 0, 0])), ValueError),
        (dict(dt=0.0), ValueError),
        (dict(dt=-1.0), ValueError),
        (dict(t1=0.0), ValueError),
        (dict(method="rk45"), ValueError),
        (dict(dt=None, solver=None), TypeError),
        (dict(dt=None, solver=ji.Leapfrog(1.0), save_every=0), ValueError),
        (dict(dt=1.0, solver=ji.Leapfrog(1.0)), TypeError),
        (dict(save_every=0), ValueError),
        (dict(save_every=2.5), ValueError),
        (dict(dt=float("nan")), ValueError),
        (dict(dt=None, solver="adaptive"), TypeError),
    ],
)
def test_bad_inputs_raise(kwargs, err):
    call = dict(pot=PLUMMER, w0=W_ECC, t0=0.0, t1=10.0, dt=1.0)
    call.update(kwargs)
    with pytest.raises(err):
        ji.integrate_orbits(**call)


def test_single_quantity_w0_raises():
    import astropy.units as u

    with pytest.raises(TypeError, match="pair"):
        ji.integrate_orbits(PLUMMER, W_ECC * u.kpc, 0.0, 10.0, 1.0)


# ---------------------------------------------------------------------------------------
# Milky Way and devices
# ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_milky_way_engines_agree_with_reference():
    # 40 halo orbits in milky_way(1e12) for 1 Gyr: the lane-scheduled tsit5 (rtol 1e-8),
    # the adaptive suzuki4 (eta 0.1) and bm4 (dt 0.5) have median position errors < 1e-4 kpc
    # and p90 < 1e-3 kpc against a dopri8 rtol 1e-12 reference (a few orbits plunging
    # through the bulge are chaotic and may differ more), and conserve energy to 1e-7
    # (median) and 1e-5 (90th percentile).
    mw = jg.potentials.milky_way(1e12)
    rng = np.random.default_rng(7)
    r = np.exp(rng.uniform(np.log(5), np.log(100), 40))
    d = rng.normal(size=(40, 3))
    x = r[:, None] * d / np.linalg.norm(d, axis=1, keepdims=True)
    vesc = np.sqrt(-2 * np.asarray(mw.potential(jnp.asarray(x))))
    dv = rng.normal(size=(40, 3))
    v = (rng.uniform(0.3, 0.7, 40) * vesc)[:, None] * dv / np.linalg.norm(dv, axis=1, keepdims=True)
    w0 = np.concatenate([x, v], axis=1)
    e0 = energy(mw, w0)
    ref = ji.integrate_orbits(mw, w0, 0.0, 1000.0, solver=ji.ErrorControlledRK("dopri8", rtol=1e-12, atol=1e-14, lanes=8))
    for method, kw in [
        ("tsit5", dict(solver=ji.ErrorControlledRK("tsit5", rtol=1e-8, lanes=8))),
        ("suzuki4", dict(solver=ji.AdaptiveComposition("suzuki4", eta=0.1, lanes=8, dt_max=5.0))),
        ("bm4", dict(dt=0.5, method="bm4")),
    ]:
        out = ji.integrate_orbits(mw, w0, 0.0, 1000.0, **kw)
        dx = np.linalg.norm(np.asarray(out.x) - np.asarray(ref.x), axis=1)
        assert np.median(dx) < 1e-4 and np.percentile(dx, 90) < 1e-3, (method, np.median(dx))
        de = np.abs(energy(mw, out.w) / e0 - 1)
        assert np.median(de) < 1e-7 and np.percentile(de, 90) < 1e-5, (method, np.median(de))


@pytest.mark.skipif(len(jax.devices()) < 2, reason="needs ≥ 2 devices (XLA_FLAGS host device count)")
def test_sharded_equals_single_device():
    # Orbits split over 2 devices equal the 1-device result (1e-8 kpc over 200 Myr).
    rng = np.random.default_rng(5)
    w0 = np.concatenate([rng.uniform(2, 8, (7, 3)), rng.normal(0, 80, (7, 3))], axis=1)
    for kw in [dict(dt=1.0, method="leapfrog"), dict(solver=ji.ErrorControlledRK("tsit5", rtol=1e-9, lanes=2))]:
        a = ji.integrate_orbits(PLUMMER, w0, 0.0, 200.0, devices=jax.devices()[:1], **kw)
        b = ji.integrate_orbits(PLUMMER, w0, 0.0, 200.0, devices=jax.devices()[:2], **kw)
        np.testing.assert_allclose(np.asarray(a.w), np.asarray(b.w), atol=1e-8)


@pytest.mark.slow
def test_sharded_equals_single_device_subprocess():
    # Same check in a fresh process with two host devices (XLA_FLAGS set before JAX starts).
    code = textwrap.dedent(
        """
        import numpy as np, jax, jaxgal as jg, jaxgal.integrators as ji
        assert len(jax.devices()) == 2
        rng = np.random.default_rng(5)
        w0 = np.concatenate([rng.uniform(2, 8, (7, 3)), rng.normal(0, 80, (7, 3))], axis=1)
        p = jg.potentials.Plummer(1e11, 1.0)
        for kw in [dict(dt=1.0, method="leapfrog"), dict(solver=ji.ErrorControlledRK("tsit5", rtol=1e-9, lanes=2)),
                   dict(solver=ji.AdaptiveComposition("yoshida4", eta=0.2, lanes=2, dt_max=1.0))]:
            a = ji.integrate_orbits(p, w0, 0.0, 200.0, devices=jax.devices()[:1], **kw)
            b = ji.integrate_orbits(p, w0, 0.0, 200.0, devices=jax.devices(), **kw)
            np.testing.assert_allclose(np.asarray(a.w), np.asarray(b.w), atol=1e-8)
        print("ok")
        """
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    from conftest import ROOT as root

    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_per_orbit_tolerance_equals_separate_runs():
    """ErrorControl with an (N,) rtol integrates each orbit exactly as a run with that orbit's
    scalar rtol would (the lanes are independent), and a loose tolerance takes fewer steps."""
    mw = jg.potentials.milky_way(1e12)
    w0 = np.array([[12.0, 1.0, 2.0, 20.0, 180.0, 40.0], [60.0, -10.0, 30.0, -40.0, 90.0, 60.0], [8.0, 0.0, 0.5, 0.0, 230.0, 10.0]])
    rtols = np.array([1e-10, 1e-5, 1e-7])
    both = ji.integrate_orbits(mw, w0, 0.0, 500.0, solver=ji.ErrorControlledRK("dopri5", rtol=rtols, lanes=2))
    for i, rt in enumerate(rtols):
        one = ji.integrate_orbits(mw, w0[i : i + 1], 0.0, 500.0, solver=ji.ErrorControlledRK("dopri5", rtol=rt, lanes=1))
        np.testing.assert_allclose(np.asarray(both.w[i]), np.asarray(one.w[0]), rtol=1e-12, atol=1e-12)
        assert int(both.n_steps[i]) == int(one.n_steps[0])
    loose = ji.integrate_orbits(mw, w0[:1], 0.0, 500.0, solver=ji.ErrorControlledRK("dopri5", rtol=1e-5, lanes=1))
    assert int(loose.n_steps[0]) < int(both.n_steps[0])
    with pytest.raises(ValueError, match="one value per orbit"):
        ji.integrate_orbits(mw, w0, 0.0, 500.0, solver=ji.ErrorControlledRK("dopri5", rtol=rtols[:2]))


def test_integrate_orbits_does_not_retrace():
    """New initial conditions, times, potential parameters and tolerances with the same
    shapes and step counts reuse the compiled program (a silent recompile costs seconds per
    call): the trace counter of the jitted core does not move."""
    import equinox as eqx

    from jaxgal.integrators._api import _integrate

    w0 = np.stack([W_ECC, W_ECC * 0.9])
    for kw in [dict(dt=1.0, method="leapfrog"), dict(solver=ji.ErrorControlledRK("tsit5", rtol=1e-8, lanes=2))]:
        ji.integrate_orbits(PLUMMER, w0, 0.0, 50.0, **kw)
        n = eqx.debug.get_num_traces(_integrate)
        other = dict(kw)
        if "solver" in other:
            other["solver"] = ji.ErrorControlledRK("tsit5", rtol=3e-9, lanes=2)
        ji.integrate_orbits(jg.potentials.Plummer(2e11, 1.5), w0 * 1.1, 10.0, 60.0, **other)
        assert eqx.debug.get_num_traces(_integrate) == n, kw


def test_shrinking_lanes_and_step_budgets():
    """Lanes packed for the tail (``shrink``) change nothing but the cost: each orbit's steps
    are the same arithmetic, so states equal the full-width run to 1e-12 and step counts
    exactly (70 orbits, 64 → 8 lanes, a long-tailed mix of inner and outer orbits in a
    Hernquist sphere). Step budgets (``max_steps``): an orbit given a third of the steps it
    needs stops after exactly that many, still on its orbit (energy conserved to 1e-6 in
    the static potential, while its position differs from the finished orbit's); orbits
    whose budget suffices are untouched (same steps; states to 1e-10, the round-off of a
    differently compiled program); a bad budget raises."""
    pot = jg.potentials.Hernquist(1e11, 2.0)
    rng = np.random.default_rng(5)
    r = np.exp(rng.uniform(np.log(0.3), np.log(60.0), 70))
    x = r[:, None] * np.array([1.0, 0.0, 0.0])
    vc = np.asarray(pot.circular_velocity(r))
    w0 = np.concatenate([x, (rng.uniform(0.2, 1.0, 70) * vc)[:, None] * np.array([0.0, 0.6, 0.8])], axis=1)

    def run(**kw):
        return ji.integrate_orbits(pot, w0, 0.0, 300.0, solver=ji.ErrorControlledRK("dopri5", rtol=1e-8, lanes=64, **kw))

    full, packed = run(shrink=1), run(shrink=8)
    steps = np.asarray(full.n_steps)
    assert steps.max() > 4 * np.median(steps)  # a tail to pack
    np.testing.assert_array_equal(np.asarray(packed.n_steps), steps)
    np.testing.assert_allclose(np.asarray(packed.w), np.asarray(full.w), rtol=1e-12, atol=1e-12)

    k = int(np.argmax(steps))
    budget = np.full(70, steps.max() + 10)
    budget[k] = steps[k] // 3
    capped = run(shrink=8, max_steps=budget)
    others = np.arange(70) != k
    assert int(capped.n_steps[k]) == budget[k]
    np.testing.assert_array_equal(np.asarray(capped.n_steps)[others], steps[others])
    # (another compiled program: round-off differs at 1e-12 over ~1,000 steps)
    np.testing.assert_allclose(np.asarray(capped.w)[others], np.asarray(full.w)[others], rtol=1e-10, atol=1e-10)
    e0, e1 = energy(pot, w0[k]), energy(pot, np.asarray(capped.w[k]))
    assert abs(e1 / e0 - 1) < 1e-6
    assert np.linalg.norm(np.asarray(capped.w[k, :3]) - np.asarray(full.w[k, :3])) > 1e-3

    # With several output times (every 60 Myr; the lanes write one output per landing and a
    # spent orbit's state to every output still unwritten — a separate code path from the
    # single output above): the capped orbit stops at its budget, on its orbit, and every
    # snapshot from the first one after the stop holds that same state; the others are
    # untouched.
    def run_saved(**kw):
        return ji.integrate_orbits(
            pot, w0, 0.0, 300.0, 30.0, save_every=2, solver=ji.ErrorControlledRK("dopri5", rtol=1e-8, lanes=64, **kw)
        )

    free, capped_saved = run_saved(shrink=8), run_saved(shrink=8, max_steps=budget)
    ws_free, ws = np.asarray(free.w), np.asarray(capped_saved.w)
    assert ws.shape == (6, 70, 6) and np.all(np.isfinite(ws))
    assert int(capped_saved.n_steps[k]) == budget[k]
    np.testing.assert_array_equal(np.asarray(capped_saved.n_steps)[others], np.asarray(free.n_steps)[others])
    np.testing.assert_allclose(ws[:, others], ws_free[:, others], rtol=1e-10, atol=1e-10)
    stopped = np.flatnonzero(np.any(ws[:, k] != ws_free[:, k], axis=1))
    assert 0 < stopped[0] < 5  # stopped before the end, after the start
    for i in stopped[1:]:
        np.testing.assert_array_equal(ws[i, k], ws[stopped[0], k])
    assert abs(energy(pot, ws[-1, k]) / e0 - 1) < 1e-6
    with pytest.raises(ValueError, match="max_steps"):
        ji.ErrorControlledRK("dopri5", max_steps=0)
