"""The MW–LMC reflex motion in a simulated halo of 20,000 stars: equilibrium without the
LMC, the sign of the v_GSR dipole with it, and its AMPLITUDE.

The tests of this module share one compiled 20,000-star program and one simulation of the
fiducial LMC (``_fiducial``, made once per process); ``xdist_group`` keeps them on one worker
under ``pytest --dist loadgroup`` (make test uses the default distribution, which was faster).

Estimator: the travel velocity of a shell of stars, v_travel = −⟨v⟩, minus the mean
Galactocentric Cartesian velocity of the shell's stars (for a full-sky shell the mean
motions ⟨v_r⟩, ⟨v_φ⟩, ⟨v_θ⟩ of the reflex model of Petersen & Peñarrubia 2021 average out,
so this is the dipole's amplitude and direction); Poisson error std(v_i)/√N per component.

Independent expectations:

1. **Physics, no tracer code.** Stars whose orbital periods are much longer than the LMC's
   passage do not follow the MW centre: they keep the mean velocity the MW centre had when
   the halo was set up, so v_travel(r → ∞) = v_MW(0) − v_MW(−2.2 Gyr), computed here from
   an independent SciPy two-body orbit with Chandrasekhar friction (``tests/_mw_numpy.py``;
   53 km/s for the fiducial LMC). Stars at 300–1000 kpc (periods ≥ 5 Gyr) must match it
   within 3 Poisson errors plus 10 % of |v_∞| (what is left of a response: the LMC's direct
   pull on them is ≲ (50/300)² ≈ 3 % of its pull on the MW centre). Catches a fictitious
   force missing, wrongly signed or scaled, a wrong frame for the initial halo, a wrong
   LMC mass or orbit.
2. **Literature.** Brooks et al. (the paper this package reproduces, Table 2) measure
   v_travel = 39.4 (+7.6/−7.2) km/s at 100 kpc, 49.1 (+9.0/−9.3) km/s at 120 kpc and an
   apex latitude b_apex = −78° (+13/−5) at 100 kpc, with a model of this family near the
   fiducial θ (M_LMC(<50 kpc) ≈ 0.97×10¹¹ Msun; here 0.83×10¹¹); Petersen & Peñarrubia
   (2021) 32 ± 4 km/s beyond 40 kpc. The shells 80–120 and 100–140 kpc must lie within
   2σ of Brooks et al.'s values (plus 3 Poisson errors), b_apex in [−90°, −50°].
3. **Growth with radius** (Garavito-Camargo et al. 2019; Erkal et al. 2020; Brooks et al.
   Fig. 6): |v_travel| at 30–50 kpc < 80–120 kpc < 300–1000 kpc, each step by > 3σ.
"""

import math

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import _mw_numpy as M
import jaxgal as jg
from jaxgal import potentials as P
from jaxgal import simulation as S

pytestmark = pytest.mark.xdist_group("simulate_20k")

# an extended tracer halo (r_dens = 20 kpc, γ = 3.5): ~12,800 of the 20,000 stars beyond
# 50 kpc, ~3,800 at 300–1000 kpc
_EXTENDED = dict(S.FIDUCIAL_THETA, r_dens=20.0, gamma=3.5)


@functools.lru_cache(maxsize=1)
def _fiducial():
    """The fiducial-LMC simulation of the extended halo (key 3), made once per worker."""
    return S.simulate(_EXTENDED, jax.random.PRNGKey(3), 20_000)
_ICRS = ("ra_lmc", "dec_lmc", "d_lmc", "vlos_lmc", "pmra_lmc", "pmdec_lmc")


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
    assert _EXTENDED["m_lmc"] == 1.5e11
    res = _fiducial()
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


def _v_infinity(theta):
    """v_MW(0) − v_MW(−2.2 Gyr) [km/s] from the independent two-body orbit."""
    m200 = 10.0 ** theta["log10_m200"]
    mw = M.MilkyWay.from_m200(m200, M.mw_params(P.milky_way(m200, c200=10.0)))
    w = M.lmc_today_galactocentric(*(theta[k] for k in _ICRS))
    sol = M.two_body(mw, theta["m_lmc"], w, lam=10.0 ** theta["log10_lambda_df"])
    return -sol.sol(-2200.0)[6:9] / M.KMS


def _shell(p, lo, hi):
    r = np.linalg.norm(p[:, :3], axis=1)
    v = p[(r >= lo) & (r < hi), 3:]
    n = v.shape[0]
    return -v.mean(axis=0), v.std(axis=0) / math.sqrt(n), n


def _check_far_limit(p, theta):
    v_inf = _v_infinity(theta)
    vt, err, n = _shell(p, 300.0, 1000.0)
    d = np.linalg.norm(vt - v_inf)
    tol = 3.0 * np.linalg.norm(err) + 0.1 * np.linalg.norm(v_inf)
    print(f"300–1000 kpc ({n} stars): v_travel {vt.round(1)} ± {err.round(1)} km/s, |v| {np.linalg.norm(vt):.1f}; "
          f"two-body v_MW(0) − v_MW(−2.2 Gyr) {v_inf.round(1)}, |v| {np.linalg.norm(v_inf):.1f}; |Δ| {d:.1f} < {tol:.1f}")
    assert n > 500, n
    assert d < tol, (vt, err, v_inf)
    return vt, v_inf


def test_reflex_amplitude_fiducial_lmc():
    """Fiducial LMC (1.5×10¹¹ Msun), 20,000 stars of the extended halo: expectations 1–3
    of the module docstring."""
    p = np.asarray(_fiducial().particles)
    _check_far_limit(p, _EXTENDED)
    rows = {}
    for lo, hi in ((30.0, 50.0), (80.0, 120.0), (100.0, 140.0), (300.0, 1000.0)):
        vt, err, n = _shell(p, lo, hi)
        amp = float(np.linalg.norm(vt))
        rows[(lo, hi)] = (amp, float(np.linalg.norm(err)), math.degrees(math.asin(vt[2] / amp)), n)
    print({k: tuple(round(x, 1) for x in v) for k, v in rows.items()})
    # literature (Brooks et al. Table 2), 2σ plus 3 Poisson errors
    amp, err, b_apex, _ = rows[(80.0, 120.0)]
    assert 39.4 - 2 * 7.2 - 3 * err < amp < 39.4 + 2 * 7.6 + 3 * err, rows
    assert -90.0 <= b_apex < -50.0, rows
    amp, err, _, _ = rows[(100.0, 140.0)]
    assert 49.1 - 2 * 9.3 - 3 * err < amp < 49.1 + 2 * 9.0 + 3 * err, rows
    # growth with radius
    a1, e1 = rows[(30.0, 50.0)][:2]
    a2, e2 = rows[(80.0, 120.0)][:2]
    a3, e3 = rows[(300.0, 1000.0)][:2]
    assert a2 - a1 > 3 * math.hypot(e1, e2) and a3 - a2 > 3 * math.hypot(e2, e3), rows


@pytest.mark.slow
@pytest.mark.parametrize("m_lmc", [5e10, 2.5e11])
def test_reflex_amplitude_scales_with_lmc_mass(m_lmc):
    """Lighter and heavier LMCs (another key): the far-halo travel velocity follows the
    independent two-body limit (expectation 1), whose amplitude grows ~linearly with
    M_LMC (about 20 and 80 km/s)."""
    th = dict(_EXTENDED, m_lmc=m_lmc)
    res = S.simulate(th, jax.random.PRNGKey(5), 20_000)
    _check_far_limit(np.asarray(res.particles), th)
