"""Tests of jaxgal.df: the constant-β (Cuddeford 1991) DF, its sampler, and spherical Jeans.

Independent references: Hernquist (1990)'s analytic isotropic DF and σ_r; the analytic DF
of a tracer whose augmented density is a power of Ψ (any β, both inversion branches); the
Jeans equation integrated with scipy.integrate.quad on closed-form numpy profiles; and an
AGAMA 1.0.159 QuasiSpherical sample (tests/data/agama_df_*, see README_df.md).

Statistical criteria (fixed keys, so every run is identical; a correct implementation
fails a given check with probability ≈ 1e-3):
- binned kinematics: z = (mean(v²) − σ²_Jeans) / (std(v²)/√n) per bin and component, with
  σ²_Jeans the ν r²-weighted mean over the bin; require χ² = Σ z² below the 99.9 %
  quantile of χ²(dof) and every |z| < 4; the same for β(r) with its delta-method error;
- binned counts: Poisson χ² of the counts against N × (the bin's share of the tracer mass
  inside the sampled range) below the 99.9 % quantile.
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special, stats

import jaxgal.potentials as P
from jaxgal import units as U
from jaxgal.df import (
    ConstantBetaDF,
    DoublePowerLaw,
    hernquist_density,
    jeans_dispersions,
    sample_stellar_halo,
    stellar_halo_density,
)

from conftest import DATA  # noqa: E402
G = U.G_KMS  # kpc (km/s)^2 / Msun
C = U.KMS_TO_KPC_MYR

# the paper-like tracer used throughout: r_dens = 20 kpc (top of Table 1's U(10, 20)),
# γ = 4 (middle of U(3, 5)), in the paper's MW at M200 = 1e12 Msun
R_DENS, GAMMA = 20.0, 4.0
EDGES_FAST = np.array([30.0, 40.0, 50.0, 65.0, 80.0, 100.0, 125.0, 160.0])
EDGES_SLOW = np.geomspace(30.0, 160.0, 11)
EDGES_INNER = np.array([3.0, 5.0, 8.0, 13.0, 20.0, 30.0])  # beyond the clip radius (≤ 2.3 kpc)

# Hernquist test system
M_H, A_H = 1e11, 2.0


# ----------------------------------------------------------------------------------------
# shared objects (module scope: each distinct potential/config compiles once)
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mw():
    return P.milky_way(1e12)


@pytest.fixture(scope="module")
def mw_mass(mw):
    """M(<r) [Msun] of the MW (spherical average, the potential's own method), scalar jit."""
    f = jax.jit(lambda x: mw._mass_enclosed(x, 0.0))
    return lambda x: float(f(x))


@pytest.fixture(scope="module")
def halo_tracer():
    return stellar_halo_density(R_DENS, GAMMA)


@pytest.fixture(scope="module")
def hern():
    return P.Hernquist(M_H, A_H)


HERN_CASES = {
    # label: (β, r_s, outer, inner, rho_s)
    "eddington": (0.0, A_H, 4.0, 1.0, M_H / (2 * np.pi * A_H**3)),  # Hernquist tracer
    **{f"pl{b}": (b, A_H, 4.0, 2 * b, 1.0) for b in (0.0, 0.3, 0.5, 0.61, 0.8, 0.95)},
    "halo0.7": (0.7, R_DENS, GAMMA, 1.0, 1.0),  # the paper's tracer, inner slope 1 < 2β
}


@pytest.fixture(scope="module")
def hern_dfs(hern):
    """Every DF in the Hernquist potential, from one vmapped build (one compilation)."""
    cols = np.array(list(HERN_CASES.values())).T

    def build(b, rs, outer, inner, rho_s):
        return ConstantBetaDF.build(hern, DoublePowerLaw(rs, 1.0, outer, inner, rho_s), b)

    dfs = jax.vmap(build)(*(jnp.asarray(c) for c in cols))
    return {k: jax.tree_util.tree_map(lambda a, i=i: a[i], dfs) for i, k in enumerate(HERN_CASES)}


MW_ROWS = [  # (key, β0, M200, r_dens): one vmapped build + sample of the whole stellar halo
    (11, 0.0, 1e12, R_DENS),
    (12, 0.61, 1e12, R_DENS),
    (13, 0.3, 5e11, 10.0),
]
N_FAST = 20000


@pytest.fixture(scope="module")
def mw_suite():
    """DFs and 20,000-star samples for MW_ROWS from one jit(vmap(...)) call: vmapped over
    the key, β0, the MW's M200 (c200 solved inside) and r_dens."""

    def one(key, b, m, rd):
        df = ConstantBetaDF.build(P.milky_way(m), stellar_halo_density(rd, GAMMA), b)
        return df, df.sample(key, N_FAST)

    keys = jnp.stack([jax.random.PRNGKey(k) for k, *_ in MW_ROWS])
    b, m, rd = (jnp.asarray(c) for c in np.array([row[1:] for row in MW_ROWS]).T)
    dfs, w = jax.jit(jax.vmap(one))(keys, b, m, rd)
    rows = [jax.tree_util.tree_map(lambda a, i=i: a[i], dfs) for i in range(len(MW_ROWS))]
    return rows, np.asarray(w)


@pytest.fixture(scope="module")
def mw_dfs(mw_suite):
    """The paper-like halo in milky_way(1e12) at β0 = 0 and 0.61."""
    return {0.0: mw_suite[0][0], 0.61: mw_suite[0][1]}


# ----------------------------------------------------------------------------------------
# numpy references
# ----------------------------------------------------------------------------------------
def hernquist_f_analytic(eps, mass, a):
    """Hernquist (1990) eq. 17, isotropic f(ε) [per kpc³ (km/s)³ for mass in Msun]."""
    vg = np.sqrt(G * mass / a)
    q = np.sqrt(eps * a / (G * mass))
    return (
        mass / (8 * np.sqrt(2) * np.pi**3 * a**3 * vg**3) * (1 - q * q) ** -2.5
        * (3 * np.arcsin(q) + q * np.sqrt(1 - q * q) * (1 - 2 * q * q) * (8 * q**4 - 8 * q * q - 3))
    )


def hernquist_sigma_r_analytic(r, mass, a):
    """Hernquist (1990) eq. 10: isotropic σ_r [km/s] of the self-consistent sphere,
    evaluated with 50-digit decimals (the two terms cancel like x⁴ at large x = r/a)."""
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    out = []
    for xv in np.atleast_1d(r / a):
        x = Decimal(float(xv))
        s2 = 12 * x * (1 + x) ** 3 * ((1 + x) / x).ln() - x / (1 + x) * (25 + 52 * x + 42 * x**2 + 12 * x**3)
        out.append(float(s2) * G * mass / (12 * a))
    return np.sqrt(np.array(out))


def quad_jeans_sigma_r(r, nu, mass, beta):
    """σ_r [km/s] from ν σ_r² = r^(−2β) ∫_r^∞ r'^(2β) ν G M / r'² dr' by scipy quad."""

    def integrand(rp):
        return rp ** (2 * beta) * nu(rp) * G * mass(rp) / rp**2

    val = 0.0
    lo = r
    for hi in (r * 3, r * 30, r * 300, r * 3e3, np.inf):  # split the decades for quad
        val += integrate.quad(integrand, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
        lo = hi
    return np.sqrt(val / (r ** (2 * beta) * nu(r)))


def spherical_kinematics(w):
    x, v = w[:, :3], w[:, 3:]
    r = np.linalg.norm(x, axis=1)
    vr = np.sum(x * v, axis=1) / r
    vt2 = 0.5 * (np.sum(v * v, axis=1) - vr**2)  # one tangential component, squared
    return r, vr, vt2


def _bin_model(lo, hi, pot, tracer, beta):
    """ν r²-weighted mean of σ_r² and σ_t² over [lo, hi] (16-node Gauss–Legendre)."""
    y, wq = np.polynomial.legendre.leggauss(16)
    rr = 0.5 * (hi - lo) * y + 0.5 * (hi + lo)
    sr, st = (np.asarray(a) for a in jeans_dispersions(rr, pot, tracer, beta))
    wt = wq * rr**2 * np.asarray(tracer.density(rr))
    return np.sum(wt * sr**2) / np.sum(wt), np.sum(wt * st**2) / np.sum(wt)


def kinematics_check(w, edges, pot, tracer, beta):
    """z-scores of ⟨v_r²⟩, ⟨v_t²⟩ and β per bin against the Jeans profiles."""
    r, vr, vt2 = spherical_kinematics(w)
    z_r, z_t, z_b, rows = [], [], [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (r >= lo) & (r < hi)
        n = m.sum()
        a, b = vr[m] ** 2, vt2[m]
        sr2, st2 = _bin_model(lo, hi, pot, tracer, beta)
        ma, mb = a.mean(), b.mean()
        z_r.append((ma - sr2) / (a.std() / np.sqrt(n)))
        z_t.append((mb - st2) / (b.std() / np.sqrt(n)))
        # β = 1 − mb/ma, delta method with the sample covariance
        cov = np.cov(a, b) / n
        grad = np.array([mb / ma**2, -1.0 / ma])
        sb = np.sqrt(grad @ cov @ grad)
        bhat = 1 - mb / ma
        z_b.append((bhat - beta) / sb)
        rows.append((lo, hi, n, np.sqrt(ma), np.sqrt(sr2), np.sqrt(mb), np.sqrt(st2), bhat, sb))
    return np.array(z_r), np.array(z_t), np.array(z_b), rows


def counts_check(w, edges, tracer, r_lo, r_hi):
    """Poisson χ² of the binned counts against the tracer's mass fractions (scipy quad)."""
    r = np.linalg.norm(w[:, :3], axis=1)

    def dm(x):
        return 4 * np.pi * x * x * float(tracer.density(x))

    total = sum(integrate.quad(dm, a, b, limit=200)[0] for a, b in _decades(r_lo, r_hi))
    expected = np.array([integrate.quad(dm, a, b)[0] for a, b in zip(edges[:-1], edges[1:])]) / total * len(r)
    counts = np.histogram(r, edges)[0]
    return np.sum((counts - expected) ** 2 / expected), counts, expected


def _decades(lo, hi):
    e = np.geomspace(lo, hi, int(np.ceil(np.log10(hi / lo))) + 1)
    return list(zip(e[:-1], e[1:]))


def _assert_kinematics(w, edges, pot, tracer, beta, label):
    z_r, z_t, z_b, rows = kinematics_check(w, edges, pot, tracer, beta)
    nb = len(z_r)
    chi2 = np.sum(z_r**2) + np.sum(z_t**2)
    msg = f"{label}: rows (lo, hi, n, σr, σr_J, σt, σt_J, β, err) = {np.round(rows, 3)}"
    assert chi2 < stats.chi2.ppf(0.999, 2 * nb), f"χ²(σ_r, σ_t) = {chi2:.1f} for {2 * nb} dof; " + msg
    assert np.max(np.abs(np.concatenate([z_r, z_t]))) < 4.0, msg
    assert np.sum(z_b**2) < stats.chi2.ppf(0.999, nb) and np.max(np.abs(z_b)) < 4.0, f"β: z = {z_b}; " + msg


# ----------------------------------------------------------------------------------------
# tracers and the monopole
# ----------------------------------------------------------------------------------------
def test_tracer_profiles_match_their_formulas():
    r = np.geomspace(0.01, 1e4, 50)
    rd, g = 15.0, 4.3
    got = np.asarray(stellar_halo_density(rd, g).density(r))
    ref = (r / rd) ** -1 * (1 + r / rd) ** (1 - g)
    np.testing.assert_allclose(got / got[10], ref / ref[10], rtol=1e-12)
    # AGAMA Spheroid(α, β, γ) form, ρ ∝ (r/rs)^−γ (1 + (r/rs)^α)^((γ−β)/α)
    al, be, ga = 2.0, 4.5, 0.5
    got = np.asarray(DoublePowerLaw(15.0, al, be, ga, 3.0).density(r))
    ref = 3.0 * (r / 15) ** -ga * (1 + (r / 15) ** al) ** ((ga - be) / al)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    h = hernquist_density(M_H, A_H)
    np.testing.assert_allclose(np.asarray(h.density(r)), M_H * A_H / (2 * np.pi * r * (r + A_H) ** 3), rtol=1e-12)


def test_monopole_potential(hern_dfs, mw, mw_dfs, mw_mass):
    # spherical: the monopole is the potential itself (Hernquist: Ψ = GM/(r + a))
    g = hern_dfs["eddington"].grid
    r = np.exp(np.asarray(g.ln_r))
    np.testing.assert_allclose(np.asarray(g.psi), G * M_H / (r + A_H) * C**2, rtol=1e-10)
    rn = np.exp(np.asarray(g.node_ln_r)).ravel()
    np.testing.assert_allclose(np.asarray(g.node_psi).ravel(), G * M_H / (rn + A_H) * C**2, rtol=2e-10)
    rq = np.geomspace(1e-3, 1e5, 16)
    np.testing.assert_allclose(np.asarray(hern_dfs["eddington"].psi(rq)), G * M_H / (rq + A_H), rtol=2e-10)
    # the MW (disc): Ψ(r) = ∫_r^∞ G M / r² dr by scipy quad (decade by decade in ln r up to
    # 1e14 r; the rest < 1e-11) on the potential's own M(<r)
    g = mw_dfs[0.0].grid
    for i in (90, 150):
        rr = float(np.exp(g.ln_r[i]))
        edges = np.log(rr) + np.log(10.0) * np.arange(15)
        ref = sum(
            integrate.quad(lambda x: G * mw_mass(np.exp(x)) * np.exp(-x), a, b, epsabs=0, epsrel=1e-12)[0]
            for a, b in zip(edges[:-1], edges[1:])
        )
        assert abs(float(g.psi[i]) / (ref * C**2) - 1) < 1e-8, rr
    # ... and against the angular average of −Φ itself at 50 kpc (64 Gauss–Legendre nodes in
    # cos θ). Loose: the potentials' 16-node spherical average behind M(<r) misses the thin
    # disc's |z| kink at the 1e-5 level
    mu, wmu = np.polynomial.legendre.leggauss(64)
    pts = np.stack([50.0 * np.sqrt(1 - mu**2), 0 * mu, 50.0 * mu], -1)
    avg = 0.5 * np.sum(wmu * np.asarray(mw.potential(pts)))
    assert abs(float(mw_dfs[0.0].psi(50.0)) / -avg - 1) < 1e-4


# ----------------------------------------------------------------------------------------
# the DF against analytic inversions
# ----------------------------------------------------------------------------------------
def test_eddington_hernquist_analytic(hern_dfs):
    """β = 0, Hernquist tracer in its own potential vs Hernquist (1990) eq. 17."""
    df = hern_dfs["eddington"]
    np.testing.assert_allclose(
        np.asarray(df.target_density(np.geomspace(0.1, 100, 5))),
        np.asarray(hernquist_density(M_H, A_H).density(np.geomspace(0.1, 100, 5))), rtol=1e-4,
    )
    psi0 = G * M_H / A_H
    eps = psi0 * np.geomspace(1e-3, 0.999, 60)
    got = np.asarray(df.f(-eps, 1.0))
    ref = hernquist_f_analytic(eps, M_H, A_H)
    err = np.max(np.abs(got / ref - 1))
    assert err < 2e-5, err  # measured 2.3e-6 (n_grid = 256)
    # at the grid energies themselves (no interpolation)
    eg = np.asarray(df.grid.psi) / C**2
    r = np.exp(np.asarray(df.grid.ln_r))
    sel = (r > 1e-3) & (r < 1e4)
    err_g = np.max(np.abs(np.asarray(df.fhat_raw)[sel] * C**3 / hernquist_f_analytic(eg[sel], M_H, A_H) - 1))
    assert err_g < 1e-7, err_g  # measured 2e-9


def test_powerlaw_augmented_density_all_branches(hern_dfs):
    """ν ∝ (r/a)^(−2β) (1 + r/a)^(−s) in a Hernquist potential has ρ̂ ∝ Ψ^s, hence the exact
    f̂ = c ε^(s − 3/2 + β), c = ρ̂/Ψ^s / [2π B(β) 2^(1/2−β) B(s − 1/2 + β, 3/2 − β)]; with
    s = 4 − 2β (outer slope 4). Covers Eddington (β = 0), the second-derivative branch,
    the closed form at β = 1/2 and the first-derivative branch (built in one vmapped call)."""
    psi0 = G * M_H / A_H
    eps = psi0 * np.geomspace(1e-3, 0.999, 40)
    for b in (0.0, 0.3, 0.5, 0.61, 0.8, 0.95):
        df = hern_dfs[f"pl{b}"]
        s = 4 - 2 * b
        K = 2 * np.pi * np.sqrt(np.pi) * special.gamma(1 - b) / special.gamma(1.5 - b) * 2 ** (0.5 - b)
        q = s - 1.5 + b
        c = A_H ** (2 * b) * (A_H / (G * M_H)) ** s / (K * special.beta(q + 1, 1.5 - b))
        L = 1e3  # kpc km/s
        got = np.asarray(df.f(-eps, L)) * L ** (2 * b)
        err = np.max(np.abs(got / (c * eps**q) - 1))
        assert err < 2e-5, (b, err)  # measured ≤ 5e-6
        assert float(df.clip_radius) <= 1.01e-4  # nothing clipped: inner slope = 2β
        # the second-derivative formula, valid for every β, agrees with the branch used
        r = np.exp(np.asarray(df.grid.ln_r))
        sel = (r > 1e-3) & (r < 1e4)
        f1, f2 = np.asarray(df.fhat_raw)[sel], np.asarray(df.fhat_second_raw)[sel]
        assert np.max(np.abs(f2 / f1 - 1)) < 1e-5, b
    # β = 1/2 against the closed form f̂ = ρ̂'(ε)/(2π²): here ρ̂ = r ν = a (aΨ/GM)³, so
    # f̂ = 3 a (a/GM)³ ε² / (2π²) (= 3ε²/(4π³) for the unit-mass Hernquist sphere, G = a = 1)
    ref = 3 * A_H * (A_H / (G * M_H)) ** 3 * eps**2 / (2 * np.pi**2)
    np.testing.assert_allclose(np.asarray(hern_dfs["pl0.5"].fhat(eps)), ref, rtol=2e-5)


def test_branches_agree_above_half(hern_dfs, mw_dfs):
    """For β > 1/2 the second-derivative formula is also valid: it must agree with the
    first-derivative branch (different integrands, kernels and tails), including the
    negative (clipped) part of the inner-slope-1 tracer."""
    for df in (hern_dfs["halo0.7"], mw_dfs[0.61]):
        f1, f2 = np.asarray(df.fhat_raw), np.asarray(df.fhat_second_raw)
        r = np.exp(np.asarray(df.grid.ln_r))
        sel = (r > 1e-3) & (r < 1e4)
        scale = np.max(np.abs(f1[sel]))
        err = np.max(np.abs(f1[sel] - f2[sel]) / np.maximum(np.abs(f1[sel]), 1e-3 * scale))
        assert err < 1e-4, err  # measured 2.5e-6 (MW, β0 = 0.61)
        assert np.any(f1[sel] < 0)  # the An & Evans negative region, reproduced by both


# ----------------------------------------------------------------------------------------
# Jeans
# ----------------------------------------------------------------------------------------
def test_jeans_isotropic_hernquist_analytic(hern):
    r = np.geomspace(0.01, 100, 16) * A_H
    sr, st = jeans_dispersions(r, hern, hernquist_density(M_H, A_H), 0.0)
    np.testing.assert_allclose(np.asarray(sr), hernquist_sigma_r_analytic(r, M_H, A_H), rtol=1e-10)  # 2e-15
    np.testing.assert_allclose(np.asarray(st), np.asarray(sr), rtol=1e-14)


def test_jeans_vs_scipy_quad(mw, halo_tracer, mw_mass):
    """The MW (disc monopole via the potential's own mass_enclosed) against scipy quad."""

    def nu(x):
        return (x / R_DENS) ** -1 * (1 + x / R_DENS) ** (1 - GAMMA)

    r = np.geomspace(0.5, 500, 16)
    for beta in (0.0, 0.61):
        sr, st = (np.asarray(a) for a in jeans_dispersions(r, mw, halo_tracer, beta))
        ref = np.array([quad_jeans_sigma_r(x, nu, mw_mass, beta) for x in r[::5]])
        np.testing.assert_allclose(sr[::5], ref, rtol=1e-7)
        np.testing.assert_allclose(st, np.sqrt(1 - beta) * sr, rtol=1e-14)


def test_df_moments_match_jeans(mw, halo_tracer, mw_dfs):
    """Velocity moments of the DF (no sampling) vs the independent Jeans solution."""
    r = np.geomspace(30, 160, 16)
    for beta, df in mw_dfs.items():
        sd, td = (np.asarray(a) for a in df.dispersions(r))
        sj, tj = (np.asarray(a) for a in jeans_dispersions(r, mw, halo_tracer, beta))
        np.testing.assert_allclose(sd, sj, rtol=1e-4)  # measured 3e-7
        np.testing.assert_allclose(td, tj, rtol=1e-4)


# ----------------------------------------------------------------------------------------
# negative DF, clipping and the density identity
# ----------------------------------------------------------------------------------------
def test_density_identity_and_clipping(mw, halo_tracer, mw_dfs):
    """ρ(r) = 2π r^(−2β) B(β) ∫ f̂(Ψ − v²/2) v^(2−2β) dv reproduces ν where the DF is
    non-negative (scipy quad over v, independent of the grid's forward integral)."""
    for beta, df in mw_dfs.items():
        fh = jax.jit(lambda e, df=df: df.fhat(e))
        B = np.sqrt(np.pi) * special.gamma(1 - beta) / special.gamma(1.5 - beta)
        for r in (5.0, 30.0, 100.0, 300.0):
            psi = float(df.psi(r))
            vmax = np.sqrt(2 * psi)
            val = integrate.quad(
                lambda v: float(fh(psi - 0.5 * v * v)) * v ** (2 - 2 * beta), 0, vmax, epsabs=0, epsrel=1e-9, limit=200
            )[0]
            rho = 2 * np.pi * r ** (-2 * beta) * B * val
            nu = float(halo_tracer.density(r))
            assert abs(rho / nu - 1) < 1e-4, (beta, r, rho / nu)  # measured ≲ 2e-5
            assert abs(float(df.density(r)) / nu - 1) < 1e-4
    # β = 0.61, inner slope 1 < 2β: negative DF clipped only near the centre
    df = mw_dfs[0.61]
    rc = float(df.clip_radius)
    assert 0.3 < rc < 5.0, rc  # measured 1.1 kpc; the observables start at 30 kpc
    r = np.exp(np.asarray(df.grid.ln_r))
    ratio = np.exp(np.asarray(df.ln_rho) - np.asarray(df.ln_nu))
    out = (r > 1.2 * rc) & (r < 1e3)
    assert np.max(np.abs(ratio[out] - 1)) < 1e-4
    assert np.all(ratio[r < 0.5 * rc] > 1.01)  # the clipped DF holds extra mass inside
    assert float(mw_dfs[0.0].clip_radius) <= 1.01e-4


# ----------------------------------------------------------------------------------------
# sampling
# ----------------------------------------------------------------------------------------
def test_sample_reproducible_and_vmappable(mw_suite):
    """Same key → same sample; the vmapped (key, β0, M200, r_dens) build + sample equals
    the unbatched sampler; the anisotropy has the right size in every row."""
    rows, w = mw_suite
    assert w.shape == (len(MW_ROWS), N_FAST, 6) and np.all(np.isfinite(w))
    key = jax.random.PRNGKey(MW_ROWS[1][0])
    a = np.asarray(rows[1].sample(key, N_FAST))
    np.testing.assert_array_equal(a, np.asarray(rows[1].sample(key, N_FAST)))
    np.testing.assert_allclose(w[1], a, rtol=1e-8, atol=1e-8)
    assert not np.allclose(a, np.asarray(rows[1].sample(jax.random.PRNGKey(99), N_FAST)))
    # ⟨v_t,1D²⟩ / ⟨v_r²⟩ = 1 − β0 over the whole sample (each radius has σ_t² = (1−β)σ_r²)
    for wi, (_, b, _, _) in zip(w, MW_ROWS):
        _, vr, vt = spherical_kinematics(wi)
        assert abs(np.mean(vt) / np.mean(vr**2) - (1 - b)) < 0.05, b
    # the lighter MW (row 3) is colder at 50 kpc than the 1e12 one
    s_light = rows[2].dispersions(np.full(16, 50.0))[0][0]
    s_heavy = rows[0].dispersions(np.full(16, 50.0))[0][0]
    assert float(s_light) < 0.95 * float(s_heavy)  # measured 88.7 vs 102.5 km/s


@pytest.mark.slow
@pytest.mark.parametrize("beta", [0.0, 0.3, 0.5, 0.61, 0.8])
def test_sample_kinematics_and_density_slow(mw, halo_tracer, beta):
    """The full check: 50,000 stars per β0, 10 log bins over 30–160 kpc."""
    df = ConstantBetaDF.build(mw, halo_tracer, beta)
    w = np.asarray(df.sample(jax.random.PRNGKey(1000 + int(beta * 100)), 50000))
    _assert_kinematics(w, EDGES_SLOW, mw, halo_tracer, beta, f"β={beta}")
    for edges in (EDGES_SLOW, EDGES_INNER):
        chi2, counts, expected = counts_check(w, edges, halo_tracer, 1e-4, 1e3)
        # the expectation is ν normalised over [1e-4, 1e3] kpc; the clipped DF's extra
        # central mass (≤ 0.2 % at β0 = 0.8) is below these bins' Poisson errors (≥ 0.6 %)
        assert chi2 < stats.chi2.ppf(0.999, len(counts)), (chi2, counts, expected)
    assert float(df.clip_radius) < 3.0  # measured 0, 0, 0, 1.1, 2.3 kpc


# ----------------------------------------------------------------------------------------
# AGAMA reference sample
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def agama():
    prof = json.load(open(os.path.join(DATA, "agama_df_sample_beta0.6_profiles.json")))
    sample = np.load(os.path.join(DATA, "agama_df_sample_beta0.6.npy"))
    pot = P.NFW.from_m200_c200(1e12, 10.0) + P.MiyamotoNagai(6.8e10, 3.0, 0.28) + P.Hernquist(5e9, 1.0)
    tracer = DoublePowerLaw(15.0, 1.0, 4.5, 1.0)
    return prof, sample, pot, tracer, ConstantBetaDF.build(pot, tracer, 0.6)


def _sigma_r_z(w, lo, hi, model_s2):
    r, vr, _ = spherical_kinematics(w)
    m = (r >= lo) & (r < hi)
    a = vr[m] ** 2
    return (a.mean() - model_s2) / (a.std() / np.sqrt(m.sum())), a.mean(), a.var() / m.sum()


def test_agama_sample(agama):
    """Bins 2–19 of AGAMA's profile (the first holds the clipped centre, the last the
    43-Mpc tail): AGAMA's σ_r vs our DF's moments, and vs our own sample."""
    prof, sample, pot, tracer, df = agama
    assert float(df.clip_radius) < 1.0  # measured 0.70 kpc
    ours = np.asarray(df.sample(jax.random.PRNGKey(42), 20000, r_max_sample=1e6))
    z_model, z_pair = [], []
    r_us = np.linalg.norm(ours[:, :3], axis=1)
    for p in prof["profiles"][1:-1]:
        lo, hi = p["r_lo"], p["r_hi"]
        y, wq = np.polynomial.legendre.leggauss(16)
        rr = 0.5 * (hi - lo) * y + 0.5 * (hi + lo)
        wt = wq * rr**2 * np.asarray(df.density(rr))
        s2 = np.sum(wt * np.asarray(df.dispersions(rr)[0]) ** 2) / np.sum(wt)
        z, a_mean, a_var = _sigma_r_z(sample, lo, hi, s2)
        z_model.append(z)
        _, b_mean, b_var = _sigma_r_z(ours, lo, hi, s2)
        z_pair.append((a_mean - b_mean) / np.sqrt(a_var + b_var))
    z_model, z_pair = np.array(z_model), np.array(z_pair)
    nb = len(z_model)
    # measured χ² = 23.6 (model) and 19.9 (pairs) for 18 bins. AGAMA's σ_r sits on average
    # 1.2 % below our DF's and its σ_t 0.7 % above (mean z −0.65 and +0.38, i.e. β ≈ 0.585
    # ± 0.007 instead of 0.6): a 2σ effect, not asserted; our own 200k-star sample has
    # χ² = 22/18 against the same DF moments
    assert np.sum(z_model**2) < stats.chi2.ppf(0.999, nb), z_model
    assert np.sum(z_pair**2) < stats.chi2.ppf(0.999, nb), z_pair
    # enclosed fractions of AGAMA's sample vs our DF's mass profile (binomial errors)
    cum = np.asarray(df.cum_mass)
    for ef in prof["enclosed_fraction_sample_vs_input"]:
        R = ef["r"]
        frac = np.interp(np.log(R), np.asarray(df.grid.ln_r), cum) / cum[-1]
        err = np.sqrt(frac * (1 - frac) / len(sample))
        assert abs(ef["input"] - frac) < 5e-4, (R, ef, frac)  # AGAMA's ν profile; ≤ 2e-4
        assert abs(ef["sample"] - frac) < 3.5 * err, (R, ef, frac)
        assert abs(np.mean(r_us < R) - frac) < 3.5 * err, (R, frac)


# ----------------------------------------------------------------------------------------
# timing (informational) and equilibrium under orbit integration
# ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_timing_report(mw, halo_tracer):
    f = jax.jit(lambda k, b: sample_stellar_halo(k, 20000, mw, b, R_DENS, GAMMA))
    f(jax.random.PRNGKey(0), 0.61).block_until_ready()
    t0 = time.perf_counter()
    f(jax.random.PRNGKey(1), 0.62).block_until_ready()
    dt = time.perf_counter() - t0
    print(f"build + sample 20k stars (jit, CPU): {dt:.2f} s")
    assert dt < 60.0


def _integrate_and_check(w0, beta, mw, halo_tracer, edges, **kwargs):
    integrators = pytest.importorskip("jaxgal.integrators")
    res = integrators.integrate_orbits(mw, w0, 0.0, 2000.0, **kwargs)
    w1 = np.asarray(res.w)
    assert w1.shape == w0.shape and np.all(np.isfinite(w1))
    _assert_kinematics(w1, edges, mw, halo_tracer, beta, f"β={beta} after 2 Gyr")
    chi2, counts, expected = counts_check(w1, edges, halo_tracer, 1e-4, 1e3)
    assert chi2 < stats.chi2.ppf(0.999, len(counts)), (chi2, counts, expected)
    return w1


def test_equilibrium_after_2gyr_fast(mw, halo_tracer, mw_dfs):
    """3,000 stars (β0 = 0.61) integrated 2 Gyr in the static MW (leapfrog, 2 Myr steps)
    still match the Jeans profiles and the target density over 30–160 kpc (wide bins)."""
    w0 = np.asarray(mw_dfs[0.61].sample(jax.random.PRNGKey(21), N_FAST))[:3000]
    _integrate_and_check(w0, 0.61, mw, halo_tracer, np.array([30.0, 50.0, 80.0, 160.0]), dt=2.0)


@pytest.mark.slow
@pytest.mark.parametrize("beta", [0.0, 0.61])
def test_equilibrium_after_2gyr_slow(mw, halo_tracer, mw_dfs, beta):
    """20,000 stars integrated 2 Gyr in the static MW with adaptive time-symmetric leapfrog
    steps (η = 0.1: energy errors < 0.3 % even for the radial orbits through the bulge
    cusp) keep their binned density and dispersions (7 bins over 30–160 kpc)."""
    integrators = pytest.importorskip("jaxgal.integrators")
    w0 = np.asarray(mw_dfs[beta].sample(jax.random.PRNGKey(22), N_FAST))
    _integrate_and_check(
        w0, beta, mw, halo_tracer, EDGES_FAST, solver=integrators.AdaptiveComposition("leapfrog", eta=0.1, dt_max=5.0),
    )


def test_bad_input_raises(hern):
    tr = hernquist_density(M_H, A_H)
    for bad in (1.0, -0.6, np.nan):
        with pytest.raises(ValueError, match="beta"):
            ConstantBetaDF.build(hern, tr, bad)
    with pytest.raises(ValueError, match="r_min"):
        ConstantBetaDF.build(hern, tr, 0.3, r_min=10.0, r_max=1.0)
    with pytest.raises(ValueError, match="beta"):
        jeans_dispersions(10.0, hern, tr, 1.0)


@pytest.mark.slow
def test_gradients_match_finite_differences():
    """d σ_r(50 kpc) / d(β0, M200, r_dens) through the whole DF construction (c200 solver,
    monopole, Abel inversion, velocity moments) against central differences."""
    from jaxgal.df._cuddeford import DFConfig, _build

    def sig(b, m, rd):
        df = _build(P.milky_way(m), stellar_halo_density(rd, GAMMA), b, jnp.asarray(0.0), DFConfig())
        return df.dispersions(jnp.full(16, 50.0))[0][0]

    p0 = (0.61, 1e12, 20.0)
    grad = jax.jit(jax.grad(sig, argnums=(0, 1, 2)))(*p0)
    f = jax.jit(sig)
    for i, h in enumerate((1e-4, 1e9, 1e-3)):
        up, dn = list(p0), list(p0)
        up[i] += h
        dn[i] -= h
        fd = (float(f(*up)) - float(f(*dn))) / (2 * h)
        assert abs(float(grad[i]) / fd - 1) < 1e-5, (i, float(grad[i]), fd)  # measured 1e-8
