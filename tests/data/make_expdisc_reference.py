"""Generate ``expdisc_reference.json``: the exact exponential disc's potential and forces
(scipy quadrature) and AGAMA's ``Disk`` potential at the same points.

    python tests/data/make_expdisc_reference.py [--out tests/data/expdisc_reference.json]

Independent of jaxgal (numpy, scipy, astropy's G; AGAMA if importable). The disc is

    ρ(R, z) = Σ₀ e^{−R/R_d} h(z),  Σ₀ = M / (2π R_d²),  M = 5×10¹⁰ Msun, R_d = 2.5 kpc,
    h(z) = e^{−|z|/z_d}/(2z_d)  ("exp", z_d = 0.3 kpc)  or  sech²(z/2z_d)/(4z_d)  ("sech2"),

whose potential is the Hankel-transform integral (Binney & Tremaine 2008 §2.6.2, eqs.
2.164–2.165, extended to a thick disc by integrating over the vertical profile):

    Φ(R, z) = −2πG Σ₀ R_d² ∫₀^∞ dk J₀(kR) (1 + k²R_d²)^{−3/2} I(k, z),
    I(k, z) = ∫ dz′ h(z′) e^{−k|z − z′|},
    F_R = −∂Φ/∂R = −2πG Σ₀ R_d² ∫ dk k J₁(kR) (1 + k²R_d²)^{−3/2} I(k, z),
    F_z = −∂Φ/∂z = +2πG Σ₀ R_d² ∫ dk J₀(kR) (1 + k²R_d²)^{−3/2} ∂I/∂z.

For the exponential profile I and ∂I/∂z are closed forms (z ≥ 0, β = 1/z_d):
I = β (β e^{−kz} − k e^{−βz}) / (β² − k²), ∂I/∂z = kβ² (e^{−βz} − e^{−kz}) / (β² − k²)
(written without cancellation near k = β); for sech² see ``kernel_sech2`` (a closed
form, a series and one inner ``scipy.integrate.quad`` at each k).

The k integral runs over the half-periods between consecutive zeros of J₁ (F_R) or J₀
(Φ, F_z), each with ``scipy.integrate.quad`` (epsabs = 0, epsrel = 1e-11); the partial sums
are accelerated by repeated averaging of the last 20 (the tail alternates) and the sum is
stopped once 20 successive half-periods change it by < 1e-12 relative, or after 4,000. The
quoted ``quad_rel_error`` of each value is the largest of the accelerated sum's change
between the last two averaging levels and the summed quad error estimates: ≤ 1e-8
everywhere (checked by this script, which refuses to write otherwise).

AGAMA (when importable): ``agama.setUnits(mass=1, length=1, velocity=1)`` (kpc, km/s,
Msun; AGAMA's own G = 4.30091727067736e-6, 1.5e-10 above astropy's, stored in the file:
rescale AGAMA's Φ and forces by G_astropy / G_agama), ``Potential(type="Disk",
surfaceDensity=Σ₀, scaleRadius=2.5, scaleHeight=0.3)`` for "exp" and ``scaleHeight=-0.3``
for "sech2" (AGAMA's sign convention), i.e. its GalPot-style DiskAnsatz + Multipole.

Also stored: the exact mass inside spheres (``scipy.integrate.dblquad`` of ρ), which is
what the spherically averaged radial force measures (Gauss's theorem).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import scipy
from scipy import integrate, special

M, R_D, Z_D = 5e10, 2.5, 0.3
SIGMA0 = M / (2 * np.pi * R_D**2)


def astropy_g() -> float:
    import astropy.constants as const
    import astropy.units as u

    return const.G.to_value(u.kpc * u.km**2 / u.s**2 / u.Msun)


G = astropy_g()


# ---- vertical kernels -------------------------------------------------------------------
def kernel_exp(k, z):
    """(I, ∂I/∂z) for h = e^{−|z|/z_d}/(2z_d), z ≥ 0."""
    b = 1.0 / Z_D
    d = k - b
    # (e^{−βz} − e^{−kz}) / (k − β) without cancellation
    if abs(d) * max(z, 1e-300) < 1e-8:
        E = z * np.exp(-b * z) * (1 - 0.5 * d * z)
    else:
        E = (np.exp(-b * z) - np.exp(-k * z)) / d
    I = b * (np.exp(-k * z) + k * E) / (k + b)  # β(βe^{−kz} − k e^{−βz})/(β² − k²)
    dI = -k * b * b * E / (k + b)  # kβ²(e^{−βz} − e^{−kz})/(β² − k²)
    return I, dI


def _h_sech2(zp):
    return 1.0 / (4 * Z_D * np.cosh(zp / (2 * Z_D)) ** 2)


def _sech2_plane(kap):
    """∫₀^∞ sech²(y) e^{−κy} dy = (κ/2)[ψ((κ + 2)/4) − ψ(κ/4)] − 1 (checked against quad to
    1e-13 for κ ≤ 5 when this script was written)."""
    return kap / 2 * (special.digamma((kap + 2) / 4) - special.digamma(kap / 4)) - 1


def kernel_sech2(k, z):
    """(I, ∂I/∂z) for h = sech²(z/2z_d)/(4z_d), z ≥ 0. With y = z′/2z_d, y₀ = z/2z_d,
    κ = 2z_d k:  I = ½ [e^{−κy₀} A + B + C],  ∂I/∂z = k/2 [−e^{−κy₀} A − B + C], where
    A = ∫₀^∞ sech²(y) e^{−κy} dy (closed form above), B = ∫₀^{y₀} sech²(y) e^{−κ(y₀−y)} dy
    (``scipy.integrate.quad``) and C = ∫_{y₀}^∞ sech²(y) e^{−κ(y−y₀)} dy
    = 4 Σₙ (−1)ⁿ⁺¹ n e^{−2ny₀} / (2n + κ) (the series of sech², convergent for y₀ > 0)."""
    kap = 2 * Z_D * k
    A = _sech2_plane(kap)
    if z == 0.0:
        return A, 0.0
    y0 = z / (2 * Z_D)
    B, _ = integrate.quad(lambda y: np.cosh(y) ** -2 * np.exp(-kap * (y0 - y)), 0.0, y0, epsabs=0, epsrel=1e-13, limit=200)
    n = np.arange(1, int(40 / y0) + 40)
    C = 4 * np.sum((-1.0) ** (n + 1) * n * np.exp(-2 * n * y0) / (2 * n + kap))
    e = np.exp(-kap * y0)
    return 0.5 * (e * A + B + C), 0.5 * k * (-e * A - B + C)


KERNELS = {"exp": kernel_exp, "sech2": kernel_sech2}


# ---- the Hankel integrals ---------------------------------------------------------------
def _hankel(f, nu, R, n_avg=20, max_periods=4000, tol=1e-12):
    """∫₀^∞ f(k) J_ν(kR) dk-type integral of an oscillating integrand f (already containing
    the Bessel function), over half-periods between the zeros of J_ν(kR)."""
    if R == 0.0:
        val, err = integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-11, limit=500)
        return val, abs(err / val) if val else 0.0
    zeros = special.jn_zeros(nu, max_periods) / R
    edges = np.concatenate([[0.0], zeros])
    partial, errsum, total = [], 0.0, 0.0
    stable = 0
    for a, b in zip(edges[:-1], edges[1:]):
        v, e = integrate.quad(f, a, b, epsabs=0, epsrel=1e-11, limit=200)
        total += v
        errsum += abs(e)
        partial.append(total)
        if len(partial) > n_avg:
            if abs(v) < tol * abs(total):
                stable += 1
                if stable >= n_avg:
                    break
            else:
                stable = 0
    p = np.asarray(partial[-n_avg:])
    levels = [p]
    while p.size > 1:
        p = 0.5 * (p[1:] + p[:-1])
        levels.append(p)
    val = levels[-1][0]
    change = abs(levels[-1][0] - levels[-2][-1]) if len(levels) > 1 else 0.0
    return val, max(change, errsum) / abs(val) if val else 0.0


def exact(R, z, vertical):
    """Φ [(km/s)²], F_R, F_z [(km/s)²/kpc] and their relative quadrature errors."""
    kern = KERNELS[vertical]
    zz = abs(z)
    pref = 2 * np.pi * G * SIGMA0 * R_D**2

    def S(k):
        return (1 + (k * R_D) ** 2) ** -1.5

    phi, e_phi = _hankel(lambda k: special.j0(k * R) * S(k) * kern(k, zz)[0], 0, R)
    fR, e_R = (0.0, 0.0) if R == 0 else _hankel(lambda k: k * special.j1(k * R) * S(k) * kern(k, zz)[0], 1, R)
    if zz == 0:
        fz, e_z = 0.0, 0.0
    else:
        fz, e_z = _hankel(lambda k: special.j0(k * R) * S(k) * kern(k, zz)[1], 0, R)
    return -pref * phi, -pref * fR, pref * fz * np.sign(z), max(e_phi, e_R, e_z)


def mass_inside_sphere(r, vertical):
    """∫ ρ dV over the sphere of radius r [Msun] (scipy.dblquad in (z, R), mirror ×2)."""
    if vertical == "exp":
        hz = lambda z: np.exp(-z / Z_D) / (2 * Z_D)  # noqa: E731
    else:
        hz = _h_sech2

    def inner(z):
        Rm = np.sqrt(max(r * r - z * z, 0.0))
        # ∫₀^Rm 2πR Σ₀ e^{−R/R_d} dR in closed form
        return 2 * np.pi * SIGMA0 * R_D * (R_D - (R_D + Rm) * np.exp(-Rm / R_D)) * hz(z)

    val, err = integrate.quad(inner, 0, r, points=[Z_D, 3 * Z_D, 10 * Z_D], epsabs=0, epsrel=1e-12, limit=500)
    return 2 * val


# ---- AGAMA --------------------------------------------------------------------------------
def agama_values(points, vertical):
    import agama

    agama.setUnits(mass=1, length=1, velocity=1)
    pot = agama.Potential(type="Disk", surfaceDensity=SIGMA0, scaleRadius=R_D, scaleHeight=Z_D if vertical == "exp" else -Z_D)
    xyz = np.column_stack([points[:, 0], np.zeros(len(points)), points[:, 1]])
    phi = pot.potential(xyz)
    f = pot.force(xyz)
    return dict(
        phi=phi.tolist(), F_R=f[:, 0].tolist(), F_z=f[:, 2].tolist(), G_agama=float(agama.G),
        total_mass=float(pot.totalMass()), version=getattr(agama, "__version__", "unknown"),
    )


def points_grid():
    R = [0.0, 0.1, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 70, 85, 100]
    z = [0.0, 0.05, 0.15, 0.3, 0.6, 1, 2, 3, 5, 10, 20, 40, 70, 100]
    pts = [(r, zz) for r in R for zz in z if np.hypot(r, zz) <= 100.0 and not (r == 0 and zz == 0)]
    pts += [(150.0, 0.0), (150.0, 30.0), (0.0, 150.0), (200.0, 0.0), (120.0, 120.0), (300.0, 50.0)]
    return np.asarray(pts, float)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "expdisc_reference.json"))
    args = p.parse_args()
    out = dict(
        description=(
            "Exact double-exponential / exponential-sech2 disc (M = 5e10 Msun, R_d = 2.5 kpc, z_d = 0.3 kpc): "
            "potential [(km/s)^2] and forces F_R, F_z [(km/s)^2/kpc] by scipy quadrature of the Hankel-transform "
            "solution (astropy's G), AGAMA's Disk potential at the same points, and the exact mass inside spheres."
        ),
        generated_by="tests/data/make_expdisc_reference.py",
        disc=dict(mass=M, r_d=R_D, z_d=Z_D, sigma0=SIGMA0),
        G_astropy=G,
        software=dict(python=platform.python_version(), numpy=np.__version__, scipy=scipy.__version__),
        scipy={}, agama={}, mass_inside={},
    )
    pts = points_grid()
    # sech²: the inner quadrature off the plane is slow, so a subset of the grid: the plane
    # (closed-form kernel) at every R, and off the plane R ≤ 20 kpc at z ≤ 3 kpc plus a few
    # higher points
    sub = np.array([
        (R, z) for R, z in pts
        if z == 0.0
        or (R in (0.0, 0.5, 1, 3, 5, 8, 12, 20) and z in (0.15, 0.3, 1, 3))
        or (R in (0.0, 8, 30, 60) and z in (10, 40))
    ])
    for vertical, grid in (("exp", pts), ("sech2", sub)):
        tic = time.perf_counter()
        rows = [exact(R, z, vertical) for R, z in grid]
        arr = np.asarray(rows)
        worst = float(arr[:, 3].max())
        print(f"{vertical}: {len(grid)} points in {time.perf_counter() - tic:.0f} s; worst quad rel error {worst:.1e}", flush=True)
        if worst > 1e-8:
            sys.exit(f"quadrature not converged to 1e-8 ({worst:.1e}); not writing")
        out["scipy"][vertical] = dict(
            R=grid[:, 0].tolist(), z=grid[:, 1].tolist(), phi=arr[:, 0].tolist(), F_R=arr[:, 1].tolist(),
            F_z=arr[:, 2].tolist(), quad_rel_error=arr[:, 3].tolist(),
        )
        try:
            out["agama"][vertical] = agama_values(grid, vertical)
        except ImportError as err:
            print(f"AGAMA not importable ({err}); no AGAMA block for {vertical}")
        out["mass_inside"][vertical] = {str(r): mass_inside_sphere(r, vertical) for r in (8.0, 20.0, 50.0, 100.0)}
    if out["agama"]:
        out["software"]["agama"] = next(iter(out["agama"].values()))["version"]
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=0)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
