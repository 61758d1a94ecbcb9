"""Named Milky Way models: the paper's ``milky_way`` (c200 solved from v_c(R☉)), Bovy's
``MWPotential2014`` against galpy, and gala's ``MilkyWayPotential2022`` against gala.

Independent references: scipy's brentq on the v_c(R☉) condition with gala's baryons and a
numpy NFW (ρ_crit from astropy's constants); galpy's own MWPotential2014 in its physical
units (ro = 8 kpc, vo = 220 km/s); gala's MilkyWayPotential2022 in gala.units.galactic.
"""

from __future__ import annotations

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, special

from jaxgal import units as U
from jaxgal.potentials import NFW, MilkyWayPotential2022, MWPotential2014, milky_way, solve_c200
from jaxgal.potentials._presets import C200_RANGE, R_SUN, V_CIRC_SUN

R_SUN_ASTROPY = 8.122  # astropy v4.0 Galactocentric default [kpc]


def _d5(f, v0: float, h: float) -> float:
    return (-f(v0 + 2 * h) + 8 * f(v0 + h) - 8 * f(v0 - h) + f(v0 - 2 * h)) / (12 * h)


#: LLVM -O0 for the tests' one-off evaluations (halves compile time; results agree with
#: the default build to ~1e-15).
_FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


_COMPILED: dict = {}


def evaluate(pot, x, r):
    """(Φ, acceleration, density) at x (N, 3), v_c at radii r, and each component's
    acceleration at x[0], in one compiled call (cached per potential structure)."""
    dyn, static = eqx.partition(pot, eqx.is_array)
    x, r = jnp.asarray(x, dtype=float), jnp.asarray(r, dtype=float)
    key = (jax.tree_util.tree_structure(pot), x.shape, r.shape)
    if key not in _COMPILED:

        def f(d, x, r):
            p = eqx.combine(d, static)
            comps = jnp.stack([c.acceleration(x[0]) for c in p.components])
            return p.potential(x), p.acceleration(x), p.density(x), p.circular_velocity(r), comps

        _COMPILED[key] = jax.jit(f).lower(dyn, x, r).compile(_FAST_COMPILE)
    return tuple(np.asarray(o) for o in _COMPILED[key](dyn, x, r))


@jax.jit
def vc_sun(m200):
    """v_c(8.122 kpc) [km/s] of milky_way(m200), c200 solved (jit-compiled once)."""
    return milky_way(m200).circular_velocity(R_SUN_ASTROPY)


# ---- milky_way and solve_c200 ------------------------------------------------------------
def test_constants_are_the_papers():
    assert R_SUN == R_SUN_ASTROPY and V_CIRC_SUN == 235.0 and C200_RANGE == (1.0, 60.0)


@pytest.mark.parametrize("m200", [5e11, 1e12, 2e12])
def test_milky_way_circular_speed_at_the_sun(m200):
    """milky_way(M200) has v_c(8.122 kpc) = 235 km/s to rel 1e-8, and its components are
    the NFW of (M200, c200) plus the fixed disc and bulge."""
    mw = milky_way(m200)
    assert mw.names == ("halo", "disc", "bulge")
    np.testing.assert_allclose(float(vc_sun(m200)), 235.0, rtol=1e-8)
    c200, clipped = solve_c200(m200)
    assert not bool(clipped)
    ref = NFW.from_m200_c200(m200, c200)
    np.testing.assert_allclose(float(mw["halo"].r_s), float(ref.r_s), rtol=1e-14)
    np.testing.assert_allclose(float(mw["halo"].m_s), float(ref.m_s), rtol=1e-14)
    assert float(mw["disc"].mass) == 5e10 and float(mw["bulge"].mass) == 1.2e10


def _c200_brentq(m200: float, disc_model: str = "mn3") -> float:
    """c200 from scipy's brentq on v_halo²(R☉) = 235² − v_bary²(R☉), with gala's baryons —
    for ``disc_model="mn3"`` its MN3ExponentialDiskPotential (5e10, 2.5, 0.3, exponential,
    positive density), for ``"fit"`` three MiyamotoNagaiPotential with
    FittedExponentialDisc's coefficients — and PowerLawCutoffPotential (1.2e10, 1.8, 2.1),
    and a numpy NFW with ρ_crit = 3H0²/(8πG) from astropy's constants (H0 = 67.6)."""
    import astropy.constants as const
    import astropy.units as u
    import gala.potential as gp
    from gala.units import galactic

    from jaxgal.potentials._disc import _FIT_A, _FIT_B, _FIT_FRACTIONS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if disc_model == "mn3":
            disc = gp.MN3ExponentialDiskPotential(m=5e10, h_R=2.5, h_z=0.3, sech2_z=False, positive_density=True, units=galactic)
        else:
            disc = gp.CCompositePotential()
            for i in range(3):
                disc[str(i)] = gp.MiyamotoNagaiPotential(
                    m=_FIT_FRACTIONS[i] * 5e10, a=_FIT_A[i] * 2.5, b=_FIT_B * 2.5, units=galactic
                )
        bulge = gp.PowerLawCutoffPotential(m=1.2e10, alpha=1.8, r_c=2.1, units=galactic)
    x = np.array([[R_SUN_ASTROPY], [0.0], [0.0]])
    # −a_x · R in kpc²/Myr² → (km/s)²
    kms = (1 * u.km / u.s).to_value(u.kpc / u.Myr)
    vb2 = -R_SUN_ASTROPY * float((disc.acceleration(x) + bulge.acceleration(x)).value[0, 0]) / kms**2
    g = const.G.to_value(u.kpc * u.km**2 / u.s**2 / u.Msun)
    rho_c = (3 * (67.6 * u.km / u.s / u.Mpc) ** 2 / (8 * np.pi * const.G)).to_value(u.Msun / u.kpc**3)
    r200 = (3 * m200 / (4 * np.pi * 200 * rho_c)) ** (1 / 3)

    def mu(c):
        return np.log1p(c) - c / (1 + c)

    def f(c):
        return g * m200 * mu(c * R_SUN_ASTROPY / r200) / mu(c) / R_SUN_ASTROPY - (235.0**2 - vb2)

    return optimize.brentq(f, 1.0, 60.0, xtol=1e-14, rtol=1e-15)


@pytest.mark.parametrize("m200, disc_model", [(4e11, "mn3"), (1e12, "mn3"), (3e12, "mn3"), (1e12, "fit")])
def test_solve_c200_against_scipy_brentq(m200, disc_model):
    """solve_c200 (80-step bisection in JAX) == brentq with gala's baryons: rel ≤ 1e-10,
    for the default disc (``"mn3"``) and for ``disc="fit"``."""
    c_ours, clipped = solve_c200(m200, disc=disc_model)
    assert not bool(clipped)
    np.testing.assert_allclose(float(c_ours), _c200_brentq(m200, disc_model), rtol=1e-10)


def test_solve_c200_clipping():
    """Low M200 needs c200 > 60: clipped at 60 and flagged; 1e12 is not clipped; a huge
    M200 overshoots 235 km/s even at c200 = 1: clipped at 1 and flagged."""
    c, clipped = solve_c200(1e11)
    assert float(c) == 60.0 and bool(clipped)
    c, clipped = solve_c200(1e12)
    assert 1.0 < float(c) < 60.0 and not bool(clipped)
    np.testing.assert_allclose(float(c), 12.0, atol=0.1)  # the paper's MW: c200 ≈ 12 (12.05 with disc="mn3")
    c, clipped = solve_c200(1e16)
    assert float(c) == 1.0 and bool(clipped)
    # the clipped model misses 235 km/s in the expected direction
    assert float(vc_sun(1e11)) < 235.0
    assert float(vc_sun(1e16)) > 235.0


def test_c200_gradient_matches_finite_differences():
    """d c200 / d M200 (implicit-function custom JVP) == 5-point central difference in
    log M200 (step 1e-3 dex): rel ≤ 1e-6; zero where c200 is clipped."""

    def c_of_logm(lm):
        return solve_c200(10.0**lm)[0]

    grad = jax.jit(jax.grad(c_of_logm))
    f = jax.jit(c_of_logm)
    for lm in (11.6, 12.0, 12.5):
        g = float(grad(lm))
        fd = _d5(lambda v: float(f(v)), lm, 1e-3)
        assert np.isfinite(g) and g < 0  # heavier haloes need a lower concentration
        np.testing.assert_allclose(g, fd, rtol=1e-6)
    assert float(grad(11.0)) == 0.0  # clipped at 60


def test_milky_way_gradients_with_respect_to_m200():
    """jax.jacfwd of Φ(x) and of a_x(x) of milky_way(M200) — through the c200 solve — ==
    5-point central differences in M200 (step 1e-3 M200): rel ≤ 1e-6 at three points."""
    x = jnp.array([[4.0, 3.0, 1.0], [20.0, -5.0, 3.0], [60.0, 10.0, -40.0]])

    def fields(m):
        mw = milky_way(m)
        return jnp.concatenate([mw.potential(x), mw.acceleration(x)[:, 0]])

    def vc(m):
        return milky_way(m).circular_velocity(jnp.array([R_SUN_ASTROPY, 30.0]))

    m0 = 1e12
    both = jax.jit(lambda m: (fields(m), jax.jacfwd(fields)(m), jax.jacfwd(vc)(m))).lower(m0).compile(_FAST_COMPILE)
    _, g, dvc = (np.asarray(a) for a in both(m0))
    fd = _d5(lambda v: np.asarray(both(v)[0]), m0, 1e-3 * m0)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    # v_c(R☉) is pinned to 235 km/s for every M200, so d v_c/d ln M200 vanishes there
    # (< 1e-9 km/s) while at 30 kpc a heavier halo spins faster
    assert abs(dvc[0] * m0) < 1e-9 and dvc[1] * m0 > 1.0


def test_vmap_and_jit_over_m200():
    """vmap(solve_c200) == a loop of jit(solve_c200) (rel 1e-14), clipped flags included;
    vmap over milky_way(m).circular_velocity: v_c(R☉) = 235 km/s for every unclipped M200."""
    ms = jnp.array([1e11, 3e11, 1e12, 2.5e12, 1e16])
    c_v, clip_v = jax.vmap(solve_c200)(ms)
    scalar = jax.jit(solve_c200)
    loop = [scalar(m) for m in ms]
    np.testing.assert_allclose(np.asarray(c_v), [float(c) for c, _ in loop], rtol=1e-14)
    assert list(np.asarray(clip_v)) == [bool(k) for _, k in loop] == [True, False, False, False, True]

    vc = np.asarray(jax.vmap(vc_sun)(ms))
    np.testing.assert_allclose(vc[1:4], 235.0, rtol=1e-8)


# ---- MWPotential2014 vs galpy -------------------------------------------------------------
RO, VO = 8.0, 220.0


def _galpy_mw14():
    gpm = pytest.importorskip("galpy.potential")
    return gpm, gpm.MWPotential2014


def _rz_points():
    R = np.array([0.1, 0.5, 1.0, 3.0, 8.0, 8.0, 8.0, 15.0, 30.0, 100.0, 2.0, 50.0])
    z = np.array([0.0, 0.2, -1.0, 0.5, 0.0, 0.3, 2.0, -4.0, 10.0, -50.0, 8.0, 0.0])
    phi = np.linspace(0, 2 * np.pi, R.size, endpoint=False)
    return R, z, phi


def test_mwpotential2014_against_galpy():
    """Φ, cylindrical forces and density of MWPotential2014 == galpy's (physical outputs,
    ro = 8, vo = 220), rel ≤ 1e-12 at 12 points from 0.1 to 100 kpc.

    galpy's PowerSphericalPotentialwCutoff is not zero at infinity: its Φ is ours plus
    C = 2π G ρ₀ r_c^{2−α} Γ(1 − α/2) (its P(1 − α/2, r²/r_c²) term where ours has −Q). C
    is computed from galpy's own bulge amplitude and subtracted."""
    import astropy.units as u

    gpm, mw14 = _galpy_mw14()
    bulge = mw14[0]
    assert isinstance(bulge, gpm.PowerSphericalPotentialwCutoff)
    C = 2 * np.pi * bulge._amp * bulge.rc ** (2 - bulge.alpha) * special.gamma(1 - bulge.alpha / 2) * VO**2
    R, z, phi = _rz_points()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(ro=RO, vo=VO, quantity=True)
        Rq, zq = R * u.kpc, z * u.kpc
        Phi = gpm.evaluatePotentials(mw14, Rq, zq, **kw).to_value(u.km**2 / u.s**2) - C
        FR = gpm.evaluateRforces(mw14, Rq, zq, **kw).to_value(u.km / u.s / u.Myr)
        Fz = gpm.evaluatezforces(mw14, Rq, zq, **kw).to_value(u.km / u.s / u.Myr)
        rho = gpm.evaluateDensities(mw14, Rq, zq, **kw).to_value(u.Msun / u.kpc**3)
    x = np.stack([R * np.cos(phi), R * np.sin(phi), z], -1)
    phi_o, acc, rho_o, *_ = evaluate(MWPotential2014(), x, R)
    aR = acc[:, 0] * np.cos(phi) + acc[:, 1] * np.sin(phi)
    np.testing.assert_allclose(phi_o, Phi, rtol=1e-12)
    np.testing.assert_allclose(aR, FR, rtol=1e-12)
    np.testing.assert_allclose(acc[:, 2], Fz, rtol=1e-12, atol=1e-12 * np.abs(FR).max())
    np.testing.assert_allclose(rho_o, rho, rtol=1e-12)
    # galpy's own zero point, for the record: C ≈ 6.5e4 (km/s)², a pure constant
    assert 6e4 < C < 7e4


def test_mwpotential2014_circular_speed():
    """v_c(8 kpc) = 220 km/s (galpy's normalisation: the three force fractions sum to 1),
    rel ≤ 1e-12; the rotation curve == galpy's vcirc at 1–100 kpc, rel ≤ 1e-12; the
    component force fractions at R0 are 5 %, 60 %, 35 %."""
    gpm, mw14 = _galpy_mw14()
    ours = MWPotential2014()
    R = np.array([8.0, 1.0, 3.0, 5.0, 12.0, 20.0, 50.0, 100.0, 150.0, 200.0, 0.5, 0.2])
    x = np.stack([R, 0 * R, 0 * R], -1)  # same shapes as the test above: one compile
    _, acc, _, vc, comps = evaluate(ours, x, R)
    np.testing.assert_allclose(vc[0], 220.0, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vc_galpy = np.array([gpm.vcirc(mw14, r / RO) * VO for r in R])
    np.testing.assert_allclose(vc, vc_galpy, rtol=1e-12)
    # the components' radial forces at x[0] = (8, 0, 0) kpc, as fractions of the total
    assert ours.names == ("bulge", "disc", "halo")
    np.testing.assert_allclose(comps[:, 0] / acc[0, 0], [0.05, 0.6, 0.35], rtol=1e-12)


# ---- MilkyWayPotential2022 vs gala --------------------------------------------------------
def test_milkywaypotential2022_against_gala():
    """Φ, acceleration, density and v_c of MilkyWayPotential2022 == gala's (galactic
    units), rel ≤ 1e-10 at 60 points between 0.01 and 300 kpc (measured ≤ 1e-14)."""
    gp = pytest.importorskip("gala.potential")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = gp.MilkyWayPotential2022()
    ours = MilkyWayPotential2022()
    rng = np.random.default_rng(3)
    d = rng.normal(size=(60, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    x = d * np.geomspace(0.01, 300.0, 60)[:, None]
    R = np.array([0.5, 2.0, 8.0, 8.122, 20.0, 100.0])
    phi, acc, rho, vc, _ = evaluate(ours, x, R)
    phi = phi * U.KMS2_TO_KPC2_MYR2
    acc = acc * U.KMS_TO_KPC_MYR
    np.testing.assert_allclose(phi, theirs.energy(x.T).value, rtol=1e-10)
    acc_g = theirs.acceleration(x.T).value.T
    np.testing.assert_array_less(np.linalg.norm(acc - acc_g, axis=1) / np.linalg.norm(acc_g, axis=1), 1e-10)
    np.testing.assert_allclose(rho, theirs.density(x.T).value, rtol=1e-10)
    xs = np.stack([R, 0 * R, 0 * R])
    import astropy.units as u

    vc_g = theirs.circular_velocity(xs).to_value(u.km / u.s)
    np.testing.assert_allclose(vc, vc_g, rtol=1e-10)
    assert ours.names == ("disc", "bulge", "nucleus", "halo")
