"""Density-flattened NFW haloes (FlattenedNFW, TriaxialNFW) against independent references.

References: the spherical NFW closed form (q = 1), Poisson's equation (autodiff Laplacian vs
the analytic density), Gauss's theorem (flux vs a scipy integral of the density), an
independent numpy/scipy evaluation of the ellipsoidal integral in the original variable τ,
galpy's TriaxialNFWPotential (adaptive quadrature, rotated with zvec/pa), a closed form for
the central potential of a spheroid, finite differences for parameter gradients.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from jaxgal import units as U
from jaxgal.potentials import NFW, FlattenedNFW, TriaxialNFW, rotation_matrix_pitch_yaw_roll
from jaxgal.potentials._base import AbstractPotential

M_S, R_S = 8.0e11, 16.0

# Public methods under jit (eager vmap dispatches op by op, slow in a test suite); the
# eager path is compared with these in test_jit_equals_eager_and_batches.
PHI = jax.jit(lambda pot, x: pot.potential(x))
ACC = jax.jit(lambda pot, x: pot.acceleration(x))
GRAD = jax.jit(lambda pot, x: pot.gradient(x))
DENS = jax.jit(lambda pot, x: pot.density(x))
MASS = jax.jit(lambda pot, r: pot.mass_enclosed(r))
# Single-point internal-unit methods, vmapped over points (kpc → kpc²/Myr², kpc/Myr², Msun/kpc³).
PHI_INT = jax.jit(jax.vmap(lambda p, xx: p._potential(xx, 0.0), (None, 0)))
ACC_INT = jax.jit(jax.vmap(lambda p, xx: -p.grad_phi(xx, 0.0), (None, 0)))
GRAD_AN = jax.jit(jax.vmap(lambda p, xx: p._gradient(xx, 0.0), (None, 0)))
GRAD_AD = jax.jit(jax.vmap(lambda p, xx: jax.grad(p._potential)(xx, 0.0), (None, 0)))
RHO_POISSON = jax.jit(jax.vmap(lambda p, xx: AbstractPotential._density(p, xx, 0.0), (None, 0)))
LAPLACIAN_AD = jax.jit(jax.vmap(lambda p, xx: jnp.trace(jax.hessian(p._potential)(xx, 0.0)), (None, 0)))


def _points(rng, radii, per_radius=3):
    d = rng.normal(size=(len(radii) * per_radius, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return d * np.repeat(radii, per_radius)[:, None]


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b) / np.abs(b))


def _vec_rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1))


# ---- independent numpy reference: BT08 eq. 2.140/2.141 integrated in τ with scipy ----------
def _ref_tau(xp, m_s, r_s, q_y, q_z):
    """Φ [kpc²/Myr²] and ∇Φ [kpc/Myr²] at a principal-frame point, by quad over τ ∈ [0, ∞)."""
    a2 = np.array([1.0, q_y**2, q_z**2])
    rho_s = m_s / (4 * np.pi * r_s**3)
    xp = np.asarray(xp, float)

    def m_of(tau):
        return np.sqrt(np.sum(xp**2 / (a2 + tau)))

    def delta(tau):
        return np.sqrt(np.prod(a2 + tau))

    def dpsi(tau):  # ψ(∞) − ψ(m) = ∫_{m²}^∞ ρ dm'² with ψ from ρ's closed-form primitive
        return 2 * rho_s * r_s**2 / (1 + m_of(tau) / r_s)

    def rho(tau):
        s = m_of(tau) / r_s
        return rho_s / (s * (1 + s) ** 2)

    kw = dict(epsabs=0.0, epsrel=1e-12, limit=400)
    # split [0, ∞) into decades up to 100 max(r², 1): the integrand's scales are a_i² and r²
    r2 = float(np.sum(xp**2))
    top = math.ceil(math.log10(100.0 * max(r2, 1.0)))
    edges = [0.0] + [10.0**k for k in range(-3, top + 1)]

    def tau_int(f):
        total = sum(integrate.quad(f, lo, hi, **kw)[0] for lo, hi in zip(edges[:-1], edges[1:]))
        # tail τ > T with τ = 1/v² (the integrand falls as τ^(-3/2), smooth in v at v = 0)
        vmax = 1.0 / math.sqrt(edges[-1])
        tail = integrate.quad(lambda v: 2.0 * f(1.0 / (v * v)) / v**3 if v > 0 else 0.0, 0.0, vmax, **kw)[0]
        return total + tail

    phi = -np.pi * U.G * q_y * q_z * tau_int(lambda t: dpsi(t) / delta(t))
    grad = np.array(
        [
            2 * np.pi * U.G * q_y * q_z * xp[i] * tau_int(lambda t, i=i: rho(t) / ((a2[i] + t) * delta(t)))
            for i in range(3)
        ]
    )
    return phi, grad


def _internal_phi(pot, x):
    return np.asarray(PHI(pot, x)) * U.KMS2_TO_KPC2_MYR2


def _internal_grad(pot, x):
    return np.asarray(GRAD(pot, x)) * U.KMS_TO_KPC_MYR


# ---- spherical limit --------------------------------------------------------------------
@pytest.mark.parametrize("angles", [(0.0, 0.0, 0.0), (37.0, -120.0, 65.0)])
def test_spherical_limit_equals_nfw(angles):
    rng = np.random.default_rng(0)
    x = _points(rng, [0.1, 1.0, 10.0, 100.0, 500.0])
    nfw = NFW(M_S, R_S)
    tri = TriaxialNFW(M_S, R_S, 1.0, 1.0, *angles)
    flat = FlattenedNFW(M_S, R_S, 1.0)
    for pot in (tri, flat):
        assert _rel(PHI(pot, x), PHI(nfw, x)) < 1e-12
        assert _vec_rel(ACC(pot, x), ACC(nfw, x)) < 1e-12
        assert _rel(DENS(pot, x), DENS(nfw, x)) < 1e-12


# ---- quadrature accuracy (the documented node count) against the τ-integral -------------
@pytest.mark.parametrize(
    "q_y,q_z,r_s",
    [
        (0.5, 0.5, 5.0),
        (0.75, 0.7, 16.0),
        pytest.param(1.0, 0.5, 16.0, marks=pytest.mark.slow),
        pytest.param(0.5, 0.8, 30.0, marks=pytest.mark.slow),
        pytest.param(1.6, 1.2, 10.0, marks=pytest.mark.slow),
    ],
)
def test_default_nodes_vs_scipy_tau_integral(q_y, q_z, r_s):
    """Default 32 nodes: relative error of Φ and |∇Φ| ≤ 1e-11 (spec: 1e-8) at 0.1–500 kpc."""
    rng = np.random.default_rng(1)
    x = _points(rng, [0.1, 1.0, 10.0, 100.0, 500.0], per_radius=2)
    pot = TriaxialNFW(M_S, r_s, q_y, q_z)
    refs = [_ref_tau(xi, M_S, r_s, q_y, q_z) for xi in x]
    phi_ref = np.array([p for p, _ in refs])
    grad_ref = np.array([g for _, g in refs])
    assert _rel(_internal_phi(pot, x), phi_ref) < 1e-11
    assert _vec_rel(_internal_grad(pot, x), grad_ref) < 1e-11


def test_node_count_convergence_small_q():
    """Fewer nodes are worse, more nodes converge: the documented accuracy table's trend,
    for q_y = 0.9, q_z = 0.1 (an extreme shape) against the scipy τ-integral."""
    rng = np.random.default_rng(2)
    x = _points(rng, [0.1, 3.0, 50.0, 500.0], per_radius=2)
    phi_ref = np.array([_ref_tau(xi, M_S, 5.0, 0.9, 0.1)[0] for xi in x])
    err = {n: _rel(_internal_phi(TriaxialNFW(M_S, 5.0, 0.9, 0.1, n_nodes=n), x), phi_ref) for n in (16, 32, 64)}
    assert err[16] > 1e-9  # visibly under-resolved
    assert err[32] < 1e-9
    assert err[64] < 1e-12


# ---- gradient: analytic quadrature vs autodiff of the potential ------------------------
def test_analytic_gradient_matches_autodiff():
    rng = np.random.default_rng(3)
    x = jnp.asarray(_points(rng, [0.05, 2.0, 20.0, 300.0]))
    for pot in (TriaxialNFW(M_S, R_S, 0.7, 0.5, 20.0, 75.0, -30.0), FlattenedNFW(M_S, R_S, 0.6)):
        g_an = GRAD_AN(pot, x)
        g_ad = GRAD_AD(pot, x)
        assert _vec_rel(g_an, g_ad) < 1e-12


def test_origin_is_finite():
    pot = TriaxialNFW(M_S, R_S, 0.7, 0.5, 20.0, 75.0, -30.0)
    zero = jnp.zeros((1, 3))
    assert np.isfinite(PHI(pot, zero)[0])
    np.testing.assert_array_equal(GRAD(pot, zero), 0.0)
    assert np.all(np.isfinite(jax.jit(jax.grad(lambda xx, p: p._potential(xx, 0.0)))(zero[0], pot)))


def test_central_potential_of_spheroid_closed_form():
    """Φ(0) = −(G M_s/r_s) q arcsin(e)/e with e = √(1 − q²) for an oblate spheroid, and
    −(G M_s/r_s) q arcsinh(ε)/ε with ε = √(q² − 1) for a prolate one (∫₀¹ du/√(1 + (q²−1)u²))."""
    for q in (0.3, 0.6, 0.95):
        e = math.sqrt(1 - q * q)
        expect = -U.G * M_S / R_S * q * math.asin(e) / e
        got = float(PHI(FlattenedNFW(M_S, R_S, q), jnp.zeros(3))) * U.KMS2_TO_KPC2_MYR2
        assert abs(got / expect - 1) < 1e-13
    q = 1.7
    e = math.sqrt(q * q - 1)
    expect = -U.G * M_S / R_S * q * math.asinh(e) / e
    got = float(PHI(FlattenedNFW(M_S, R_S, q), jnp.zeros(3))) * U.KMS2_TO_KPC2_MYR2
    assert abs(got / expect - 1) < 1e-13


# ---- Poisson ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pot",
    [
        TriaxialNFW(M_S, R_S, 0.75, 0.7, 25.0, 160.0, 35.0),
        TriaxialNFW(M_S, 10.0, 0.5, 0.9, -60.0, 10.0, 120.0),
        FlattenedNFW(M_S, R_S, 0.5),
    ],
)
def test_poisson(pot):
    """∇²Φ/(4πG) by autodiff (of the analytic gradient, and of Φ itself) = analytic ρ."""
    rng = np.random.default_rng(4)
    x = jnp.asarray(_points(rng, [0.2, 3.0, 30.0, 300.0]))
    rho = DENS(pot, x)
    rho_ad = RHO_POISSON(pot, x)
    lap = LAPLACIAN_AD(pot, x)
    assert _rel(rho_ad, rho) < 1e-12
    assert _rel(lap / (4 * np.pi * U.G), rho) < 1e-12


# ---- Gauss's theorem --------------------------------------------------------------------
def _mass_in_sphere_scipy(pot, r):
    """∫ρ dV over the sphere |x| < r: adaptive quad in r′ inside dblquad over (cos θ, φ)."""
    rot = np.asarray(pot.rotation_matrix())
    q_y, q_z = float(pot.q_y), float(pot.q_z)
    m_s, r_s = float(pot.m_s), float(pot.r_s)
    rho_s = m_s / (4 * np.pi * r_s**3)

    def along_ray(phi, mu):
        n = np.array([math.sqrt(1 - mu * mu) * math.cos(phi), math.sqrt(1 - mu * mu) * math.sin(phi), mu])
        npr = rot.T @ n
        k = math.sqrt(npr[0] ** 2 + (npr[1] / q_y) ** 2 + (npr[2] / q_z) ** 2)

        def integrand(rr):
            s = rr * k / r_s
            return rho_s / (s * (1 + s) ** 2) * rr * rr

        return integrate.quad(integrand, 0.0, r, epsabs=0.0, epsrel=1e-9)[0]

    return integrate.dblquad(along_ray, -1.0, 1.0, 0.0, 2 * np.pi, epsabs=0.0, epsrel=1e-6)[0]


@pytest.mark.parametrize("r", [5.0, 60.0])
def test_gauss_flux_equals_enclosed_mass(r):
    pot = TriaxialNFW(M_S, R_S, 0.8, 0.6, 30.0, 40.0, 10.0)
    m_ref = _mass_in_sphere_scipy(pot, r)
    assert abs(float(MASS(pot, r)) / m_ref - 1) < 1e-6


# ---- rotations --------------------------------------------------------------------------
def test_rotation_matrix_convention():
    p, y, r = 25.0, 160.0, 35.0
    rot = np.asarray(rotation_matrix_pitch_yaw_roll(p, y, r))
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-15)
    assert abs(np.linalg.det(rot) - 1) < 1e-14
    pr, yr = np.deg2rad(p), np.deg2rad(y)
    major = [np.cos(pr) * np.cos(yr), np.cos(pr) * np.sin(yr), np.sin(pr)]
    np.testing.assert_allclose(rot[:, 0], major, atol=1e-15)
    # roll = 0: intermediate axis in the plane at azimuth yaw + 90°
    rot0 = np.asarray(rotation_matrix_pitch_yaw_roll(p, y, 0.0))
    np.testing.assert_allclose(rot0[:, 1], [-np.sin(yr), np.cos(yr), 0.0], atol=1e-15)


def test_rotated_equals_unrotated_at_rotated_points():
    rng = np.random.default_rng(5)
    x = _points(rng, [0.3, 8.0, 40.0, 250.0])
    base = TriaxialNFW(M_S, R_S, 0.75, 0.55)
    rotd = TriaxialNFW(M_S, R_S, 0.75, 0.55, 25.0, 160.0, 35.0)
    rot = np.asarray(rotd.rotation_matrix())
    xr = x @ rot.T  # R x
    assert _rel(PHI(rotd, xr), PHI(base, x)) < 1e-13
    assert _vec_rel(ACC(rotd, xr), np.asarray(ACC(base, x)) @ rot.T) < 1e-13
    assert _rel(DENS(rotd, xr), DENS(base, x)) < 1e-13
    np.testing.assert_allclose(rotd.to_principal(xr), x, atol=1e-12)


def test_axis_swaps():
    base = TriaxialNFW(M_S, R_S, 0.75, 0.55)
    pts = np.array([[7.0, 0.0, 0.0], [0.0, 7.0, 0.0], [0.0, 0.0, 7.0], [3.0, -2.0, 5.0]])
    # yaw = 90°: the major axis along +y, Φ_rot(x, y, z) = Φ(y, −x, z)
    yaw90 = TriaxialNFW(M_S, R_S, 0.75, 0.55, yaw=90.0)
    swapped = np.stack([pts[:, 1], -pts[:, 0], pts[:, 2]], -1)
    assert _rel(PHI(yaw90, pts), PHI(base, swapped)) < 1e-13
    # pitch = 90°: the major axis along +z
    pitch90 = TriaxialNFW(M_S, R_S, 0.75, 0.55, pitch=90.0)
    assert _rel(PHI(pitch90, pts[2]), PHI(base, pts[0])) < 1e-13
    # roll = 90°: y′ along +z, z′ along −y
    roll90 = TriaxialNFW(M_S, R_S, 0.75, 0.55, roll=90.0)
    assert _rel(PHI(roll90, pts[2]), PHI(base, pts[1])) < 1e-13
    assert _rel(PHI(roll90, pts[1]), PHI(base, pts[2])) < 1e-13
    # a spheroid about z is yaw-invariant and equals FlattenedNFW
    sph = TriaxialNFW(M_S, R_S, 1.0, 0.55, yaw=73.0)
    flat = FlattenedNFW(M_S, R_S, 0.55)
    assert _rel(PHI(sph, pts), PHI(flat, pts)) < 1e-13
    assert _vec_rel(ACC(sph, pts), ACC(flat, pts)) < 1e-13


def test_angle_quantities_and_validation():
    import astropy.units as u

    a = TriaxialNFW(M_S * u.Msun, R_S * u.kpc, 0.8, 0.6, pitch=0.5 * u.rad, yaw=30 * u.deg)
    np.testing.assert_allclose(float(a.pitch), np.rad2deg(0.5), rtol=1e-14)
    with pytest.raises(ValueError, match="q_z"):
        TriaxialNFW(M_S, R_S, 0.8, -0.6)
    with pytest.raises(ValueError, match="q_y"):
        TriaxialNFW(M_S, R_S, 0.0, 0.6)
    with pytest.raises(ValueError, match="pitch"):
        TriaxialNFW(M_S, R_S, 0.8, 0.6, pitch=np.nan)
    with pytest.raises(ValueError, match="q_z"):
        FlattenedNFW(M_S, R_S, 0.0)
    with pytest.raises(ValueError, match="n_nodes"):
        FlattenedNFW(M_S, R_S, 0.5, n_nodes=1)


def test_from_m200_c200():
    sph = NFW.from_m200_c200(1.2e12, 11.0)
    tri = TriaxialNFW.from_m200_c200(1.2e12, 11.0, 0.8, 0.7, pitch=20.0)
    flat = FlattenedNFW.from_m200_c200(1.2e12, 11.0, 0.8)
    for pot in (tri, flat):
        assert float(pot.m_s) == pytest.approx(float(sph.m_s), rel=1e-14)
        assert float(pot.r_s) == pytest.approx(float(sph.r_s), rel=1e-14)
    assert float(tri.pitch) == 20.0


# ---- galpy ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(0.75, 0.7, 25.0, 160.0, 35.0), (0.9, 0.55, -40.0, 20.0, 100.0), (0.6, 1.0, 0.0, 0.0, 0.0)])
def test_against_galpy_triaxial_nfw(shape):
    """galpy's TriaxialNFWPotential: ρ = amp/(4π a³)/((m/a)(1 + m/a)²), m² = x′² + y′²/b² +
    z′²/c², x′ = rot · x with rot = pa_rot · zvec_rot. We set zvec = our z′ axis (R ẑ) and solve
    for pa; galpy's glorder=None uses adaptive quad. Natural units: lengths kpc, G = 1 with
    amp = G M_s [kpc³/Myr²], so Φ is in kpc²/Myr² and forces in kpc/Myr²."""
    galpy_pot = pytest.importorskip("galpy.potential")
    from galpy.util import _rotate_to_arbitrary_vector

    q_y, q_z, p, y, r = shape
    pot = TriaxialNFW(M_S, R_S, q_y, q_z, p, y, r)
    rot = np.asarray(pot.rotation_matrix())
    kw = dict(amp=U.G * M_S, a=R_S, b=q_y, c=q_z, glorder=None)
    if (p, y, r) != (0.0, 0.0, 0.0):
        zvec = rot[:, 2].copy()
        zrot = _rotate_to_arbitrary_vector(np.array([[0.0, 0.0, 1.0]]), zvec, inv=True)[0]
        pa_rot = rot.T @ zrot.T
        assert abs(pa_rot[2, 2] - 1) < 1e-12  # a rotation about z, as galpy's pa is
        kw.update(zvec=zvec, pa=math.atan2(pa_rot[0, 1], pa_rot[0, 0]))
    gp = galpy_pot.TriaxialNFWPotential(**kw)
    if (p, y, r) != (0.0, 0.0, 0.0):
        np.testing.assert_allclose(gp._rot, rot.T, atol=1e-14)

    rng = np.random.default_rng(6)
    x = _points(rng, [0.5, 5.0, 20.0, 80.0, 400.0], per_radius=2)
    R = np.hypot(x[:, 0], x[:, 1])
    phi = np.arctan2(x[:, 1], x[:, 0])
    z = x[:, 2]
    kw_eval = dict(use_physical=False)
    phi_g = np.array([galpy_pot.evaluatePotentials(gp, R[i], z[i], phi=phi[i], **kw_eval) for i in range(len(x))])
    fr = np.array([galpy_pot.evaluateRforces(gp, R[i], z[i], phi=phi[i], **kw_eval) for i in range(len(x))])
    fz = np.array([galpy_pot.evaluatezforces(gp, R[i], z[i], phi=phi[i], **kw_eval) for i in range(len(x))])
    tq = np.array([galpy_pot.evaluatephitorques(gp, R[i], z[i], phi=phi[i], **kw_eval) for i in range(len(x))])
    acc_g = np.stack([np.cos(phi) * fr - np.sin(phi) * tq / R, np.sin(phi) * fr + np.cos(phi) * tq / R, fz], -1)

    phi_j = np.asarray(PHI_INT(pot, jnp.asarray(x)))
    acc_j = np.asarray(ACC_INT(pot, jnp.asarray(x)))
    assert _rel(phi_j, phi_g) < 1e-12
    assert _vec_rel(acc_j, acc_g) < 1e-12
    dens_g = np.array([galpy_pot.evaluateDensities(gp, R[i], z[i], phi=phi[i], **kw_eval) for i in range(len(x))])
    dens_j = np.asarray(DENS(pot, x)) * U.G
    assert _rel(dens_j, dens_g) < 1e-12


# ---- parameter gradients vs finite differences -----------------------------------------
def _fd(f, v, h):
    return (f(v + h) - f(v - h)) / (2 * h)


def test_parameter_gradients_vs_finite_differences():
    x = jnp.array([[11.8, 7.3, 6.2], [-4.0, 2.0, -9.0], [30.0, -60.0, 20.0]])
    params = dict(m_s=M_S, r_s=R_S, q_y=0.8, q_z=0.65, pitch=25.0, yaw=160.0, roll=35.0)
    weights = jnp.array([0.3, -1.1, 0.7])

    def loss(p):
        pot = TriaxialNFW(p["m_s"], p["r_s"], p["q_y"], p["q_z"], p["pitch"], p["yaw"], p["roll"])
        phi = jax.vmap(lambda xx: pot._potential(xx, 0.0))(x)
        acc = jax.vmap(lambda xx: -pot.grad_phi(xx, 0.0))(x)
        return jnp.sum(phi) * 1e3 + jnp.sum(acc @ weights) * 1e6

    loss = jax.jit(loss)
    p0 = {k: jnp.asarray(v) for k, v in params.items()}
    g = jax.jit(jax.grad(loss))(p0)
    steps = dict(m_s=1e6, r_s=1e-4, q_y=1e-5, q_z=1e-5, pitch=1e-3, yaw=1e-3, roll=1e-3)
    for name in ("q_z", "pitch", "m_s", "q_y", "r_s", "yaw", "roll"):
        f = lambda v, name=name: float(loss({**p0, name: jnp.asarray(v)}))  # noqa: E731
        fd = _fd(f, float(p0[name]), steps[name])
        assert abs(float(g[name]) - fd) <= 1e-6 * abs(fd) + 1e-12, name


def test_flattened_gradient_wrt_qz_vs_finite_difference():
    x = jnp.array([11.8, 7.3, 6.2])

    @jax.jit
    def az(q):
        return -FlattenedNFW(M_S, R_S, q).grad_phi(x, 0.0)[2]

    g = float(jax.jit(jax.grad(az))(0.81))
    fd = _fd(lambda q: float(az(q)), 0.81, 1e-5)
    assert abs(g / fd - 1) < 1e-7


# ---- jit / vmap -------------------------------------------------------------------------
def test_jit_equals_eager_and_batches():
    rng = np.random.default_rng(7)
    x = jnp.asarray(rng.normal(size=(4, 5, 3)) * 20)
    pot = TriaxialNFW(M_S, R_S, 0.75, 0.7, 25.0, 160.0, 35.0)
    eager = pot.acceleration(x)
    jitted = jax.jit(lambda p, xx: p.acceleration(xx))(pot, x)
    assert eager.shape == (4, 5, 3)
    np.testing.assert_allclose(jitted, eager, rtol=1e-13)
    single = np.array([np.asarray(ACC(pot, x[i, i])) for i in range(4)])
    np.testing.assert_allclose(eager[np.arange(4), np.arange(4)], single, rtol=1e-13)
    # vmap over a batch of haloes (stacked parameters)
    qs = jnp.array([0.5, 0.7, 0.9])
    batched = jax.jit(jax.vmap(lambda q: TriaxialNFW(M_S, R_S, 0.8, q, 10.0)._potential(x[0, 0], 0.0)))(qs)
    single = [float(PHI(TriaxialNFW(M_S, R_S, 0.8, float(q), 10.0), x[0, 0])) * U.KMS2_TO_KPC2_MYR2 for q in qs]
    np.testing.assert_allclose(batched, single, rtol=1e-13)


@pytest.mark.slow
def test_node_table_wide_sweep():
    """The module's accuracy table: n = 32 gives ≤ 1e-10 (Φ and ∇Φ) for q ∈ [0.2, 2] over
    0.01–2000 kpc and r_s ∈ {2, 5, 15}, against the scipy τ-integral."""
    rng = np.random.default_rng(8)
    for r_s in (2.0, 5.0, 15.0):
        for q_y, q_z in [(0.2, 0.2), (0.3, 0.3), (1.0, 0.3), (2.0, 1.5), (0.5, 0.5), (0.8, 0.6)]:
            x = _points(rng, [0.01, 0.1, 1.0, 10.0, 100.0, 500.0, 2000.0], per_radius=2)
            pot = TriaxialNFW(M_S, r_s, q_y, q_z)
            refs = [_ref_tau(xi, M_S, r_s, q_y, q_z) for xi in x]
            assert _rel(_internal_phi(pot, x), np.array([p for p, _ in refs])) < 1e-10
            assert _vec_rel(_internal_grad(pot, x), np.array([g for _, g in refs])) < 1e-10
