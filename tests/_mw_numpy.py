"""An independent NumPy/SciPy implementation of the Brooks et al. MW–LMC model, for tests.

Nothing here imports jaxgal: forces, densities, the NFW concentration, the LMC's scale
radius, Chandrasekhar's dynamical friction and the two-body orbit are written from the
equations (Navarro, Frenk & White 1996; Miyamoto & Nagai 1975; galpy's/gala's power law
with a Gaussian cutoff; Hernquist 1990; Chandrasekhar 1943 as in Binney & Tremaine 2008
eq. 8.7 with Brooks et al.'s λ_DF; ``docs/satellites.md``) and integrated with SciPy's
DOP853. Units: kpc, Myr, Msun; G from astropy. Tests compare jaxgal against it.

The only inputs taken from a jaxgal object are *model parameters* (the disc's three
Miyamoto–Nagai masses/scales, which are Smith et al. 2015's fit): :func:`mw_params`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from astropy import constants as const
from astropy import units as u

#: G [kpc³ / (Msun Myr²)] and km/s → kpc/Myr, from astropy.
G = const.G.to_value(u.kpc**3 / u.Msun / u.Myr**2)
KMS = (1 * u.km / u.s).to_value(u.kpc / u.Myr)


# ---------------------------------------------------------------------------------------
# components: acceleration a(x) [kpc/Myr²] for x (..., 3) and density [Msun/kpc³]
# ---------------------------------------------------------------------------------------
def _r(x):
    return np.sqrt(np.sum(x * x, axis=-1, keepdims=True))


def nfw_acc(x, m_s, r_s):
    r = _r(x)
    s = r / r_s
    menc = m_s * (np.log1p(s) - s / (1 + s))
    return -G * menc / r**3 * x


def nfw_rho(r, m_s, r_s):
    s = r / r_s
    return m_s / (4 * np.pi * r_s**3) / (s * (1 + s) ** 2)


def mn_acc(x, m, a, b):
    R2 = x[..., 0:1] ** 2 + x[..., 1:2] ** 2
    z = x[..., 2:3]
    zb = np.sqrt(z * z + b * b)
    d3 = (R2 + (a + zb) ** 2) ** 1.5
    out = -G * m / d3 * x
    out[..., 2:3] *= (a + zb) / zb
    return out


def mn_rho(x, m, a, b):
    R2 = x[..., 0] ** 2 + x[..., 1] ** 2
    z2 = x[..., 2] ** 2
    zb = np.sqrt(z2 + b * b)
    return b * b * m / (4 * np.pi) * (a * R2 + (a + 3 * zb) * (a + zb) ** 2) / ((R2 + (a + zb) ** 2) ** 2.5 * zb**3)


def plc_acc(x, m, alpha, r_c):
    """ρ ∝ r^−α exp(−r²/r_c²) of total mass m: M(<r) = m P(3/2 − α/2, r²/r_c²)."""
    r = _r(x)
    menc = m * special.gammainc(1.5 - 0.5 * alpha, (r / r_c) ** 2)
    return -G * menc / r**3 * x


def plc_rho(r, m, alpha, r_c):
    rho0 = m / (2 * np.pi * r_c ** (3 - alpha) * special.gamma(1.5 - 0.5 * alpha))
    return rho0 * r**-alpha * np.exp(-((r / r_c) ** 2))


def hernquist_acc(x, m, a):
    r = _r(x)
    return -G * m / (r * (r + a) ** 2) * x


# ---------------------------------------------------------------------------------------
# the Milky Way of Brooks et al. and the LMC
# ---------------------------------------------------------------------------------------
H0 = 67.6  # km/s/Mpc
R_SUN, V_SUN = 8.122, 235.0


def rho_crit(h0=H0):
    h = (h0 * u.km / u.s / u.Mpc).to_value(1 / u.Myr)
    return 3 * h**2 / (8 * np.pi * G)


def nfw_from_m200(m200, c200, h0=H0):
    r200 = (3 * m200 / (4 * np.pi * 200 * rho_crit(h0))) ** (1 / 3)
    mu = math.log1p(c200) - c200 / (1 + c200)
    return m200 / mu, r200 / c200


def mw_params(mw_jaxgal):
    """The disc's three Miyamoto–Nagai (masses, a, b) from a jaxgal ``milky_way`` (model
    parameters only), plus the fixed bulge of Brooks et al. (1.2e10 Msun, α = 1.8,
    r_c = 2.1 kpc)."""
    m, a, b = (np.asarray(v, dtype=float) for v in mw_jaxgal["disc"].parameters())
    return dict(disc=[(float(m[i]), float(a[i]), float(b)) for i in range(3)], bulge=(1.2e10, 1.8, 2.1))


class MilkyWay:
    """NFW (m_s, r_s) + three Miyamoto–Nagai discs + power-law-cutoff bulge."""

    def __init__(self, m_s, r_s, disc, bulge):
        self.m_s, self.r_s, self.disc, self.bulge = m_s, r_s, disc, bulge

    @classmethod
    def from_m200(cls, m200, baryons, c200=None):
        """With ``c200=None``, c200 solved (brentq) so that v_c(8.122 kpc) = 235 km/s."""
        if c200 is None:
            bary = cls(0.0, 1.0, baryons["disc"], baryons["bulge"])
            x = np.array([R_SUN, 0.0, 0.0])
            vc2_bary = -R_SUN * bary.baryon_acc(x)[0]

            def f(c):
                m_s, r_s = nfw_from_m200(m200, c)
                return -R_SUN * nfw_acc(x, m_s, r_s)[0] + vc2_bary - (V_SUN * KMS) ** 2

            c200 = brentq(f, 1.0, 60.0, xtol=1e-13)
        m_s, r_s = nfw_from_m200(m200, c200)
        out = cls(m_s, r_s, baryons["disc"], baryons["bulge"])
        out.c200 = c200
        return out

    def baryon_acc(self, x):
        a = plc_acc(x, *self.bulge)
        for m, aa, b in self.disc:
            a = a + mn_acc(x, m, aa, b)
        return a

    def acc(self, x):
        return nfw_acc(x, self.m_s, self.r_s) + self.baryon_acc(x)

    def rho(self, x):
        r = np.sqrt(np.sum(x * x, axis=-1))
        out = nfw_rho(r, self.m_s, self.r_s) + plc_rho(r, *self.bulge)
        for m, a, b in self.disc:
            out = out + mn_rho(x, m, a, b)
        return out


def bound_orbits(mw, n, seed, r_max=150.0, v_frac_max=1.2):
    """(n, 6) initial conditions [kpc, km/s] in the model ``mw``: r log-uniform in
    3–``r_max`` kpc, isotropic directions, speed 0.3–``v_frac_max`` v_c(r) in an isotropic
    direction (disc, bulge, inner and outer halo; bound for v_frac_max ≲ 1.2)."""
    rng = np.random.default_rng(seed)
    r = np.exp(rng.uniform(np.log(3.0), np.log(r_max), n))
    d = rng.normal(size=(n, 3))
    x = r[:, None] * d / np.linalg.norm(d, axis=1)[:, None]
    vc = np.sqrt(np.sum(-mw.acc(x) * x, axis=1)) / KMS
    d = rng.normal(size=(n, 3))
    v = rng.uniform(0.3, v_frac_max, n)[:, None] * vc[:, None] * d / np.linalg.norm(d, axis=1)[:, None]
    return np.concatenate([x, v], axis=1)


def lmc_scale_radius(m_lmc):
    """Hernquist a [kpc] with M(<8.7 kpc) = 1.7e10 Msun: a = 8.7 (√(M/1.7e10) − 1), floored
    at 0.1 kpc (Brooks et al.'s relation has no solution below 1.7e10 Msun)."""
    return max(8.7 * (math.sqrt(m_lmc / 1.7e10) - 1.0), 0.1)


def chandrasekhar(r, v, mw, m_lmc, ln_lambda, sigma_kms=120.0, lam=1.0):
    """a_DF = −4π G² M ρ(r) lnΛ λ [erf X − 2X/√π e^{−X²}] v / |v|³, X = |v|/(√2 σ)."""
    speed = np.linalg.norm(v)
    X = speed / (math.sqrt(2.0) * sigma_kms * KMS)
    F = math.erf(X) - 2 * X / math.sqrt(math.pi) * math.exp(-X * X)
    return -4 * np.pi * G**2 * m_lmc * float(mw.rho(r)) * ln_lambda * lam * F / speed**3 * v


def two_body(mw, m_lmc, w_lmc_kms, t_end=-2200.0, lam=1.0, sigma_kms=120.0, b_max=100.0, soft=1.6, rtol=1e-11,
             t_eval=None):
    """The MW–LMC pair from t = 0 (MW at rest at the origin, LMC at ``w_lmc_kms`` = x [kpc],
    v [km/s]) to ``t_end`` [Myr]: ẍ_MW = −∇Φ_LMC(x_MW − x_LMC), ẍ_LMC = −∇Φ_MW(x_LMC −
    x_MW) + a_DF. Returns scipy's OdeResult (dense output) with y = (x_MW, x_LMC, v_MW,
    v_LMC) [kpc, kpc/Myr]."""
    a_lmc = lmc_scale_radius(m_lmc)
    ln_lambda = max(math.log(b_max / (soft * a_lmc)), 0.0)

    def rhs(t, y):
        xh, xs, vh, vs = y[0:3], y[3:6], y[6:9], y[9:12]
        r, uu = xs - xh, vs - vh
        ah = hernquist_acc(-r, m_lmc, a_lmc)
        as_ = mw.acc(r) + chandrasekhar(r, uu, mw, m_lmc, ln_lambda, sigma_kms, lam)
        return np.concatenate([vh, vs, ah, as_])

    y0 = np.concatenate([np.zeros(3), w_lmc_kms[:3], np.zeros(3), np.asarray(w_lmc_kms[3:]) * KMS])
    sol = solve_ivp(rhs, (0.0, t_end), y0, method="DOP853", rtol=rtol, atol=rtol * 1e-2, dense_output=True,
                    t_eval=t_eval)
    assert sol.success, sol.message
    sol.a_lmc, sol.ln_lambda = a_lmc, ln_lambda
    return sol


def pericentre(sol, t_end=-2200.0):
    """(distance [kpc], time [Myr]) of the closest MW–LMC approach, by minimising the dense
    separation (grid of 0.5 Myr, then bounded Brent)."""
    from scipy.optimize import minimize_scalar

    def d(t):
        y = sol.sol(t)
        return float(np.linalg.norm(y[3:6] - y[0:3]))

    ts = np.arange(0.0, t_end, -0.5)
    ds = np.array([d(t) for t in ts])
    i = int(np.argmin(ds))
    lo, hi = ts[min(i + 1, len(ts) - 1)], ts[max(i - 1, 0)]
    res = minimize_scalar(d, bounds=(lo, hi), method="bounded", options=dict(xatol=1e-6))
    return res.fun, res.x


def lmc_today_galactocentric(ra, dec, d, vlos, pmra, pmdec):
    """The LMC's Galactocentric (x [kpc], v [km/s]) with astropy's v4.0 frame defaults."""
    from astropy.coordinates import ICRS, Galactocentric, galactocentric_frame_defaults

    with galactocentric_frame_defaults.set("v4.0"):
        c = ICRS(
            ra=ra * u.deg, dec=dec * u.deg, distance=d * u.kpc, pm_ra_cosdec=pmra * u.mas / u.yr,
            pm_dec=pmdec * u.mas / u.yr, radial_velocity=vlos * u.km / u.s,
        ).transform_to(Galactocentric())
    return np.array([c.x.to_value(u.kpc), c.y.to_value(u.kpc), c.z.to_value(u.kpc),
                     c.v_x.to_value(u.km / u.s), c.v_y.to_value(u.km / u.s), c.v_z.to_value(u.km / u.s)])
