"""Fit three Miyamoto–Nagai discs with a common b, masses summing to M, to the exact
exponential disc of the paper's Milky Way (z_d / r_d = 0.12, exponential vertical profile):
the coefficients of ``jaxgal.potentials.FittedExponentialDisc``.

    PYTHONPATH=$PWD python scripts/fit_mw_disc.py [--stride 3]
    PYTHONPATH=$PWD python scripts/fit_mw_disc.py --density   # the stored fit's midplane density

Reference: the exact disc's force from ``jaxgal.potentials._expdisc``'s one-off multipole
solution (Dehnen & Binney 1998 ansatz, l ≤ 64; ≤ 4e-5 of the exact Hankel-transform force,
see ``tests/potentials/test_expdisc.py``) on a log grid of (R, z) with r ≤ 40.5 r_d
(101 kpc for r_d = 2.5 kpc). Objective: the force error |ΔF| (the (F_R, F_z) vector)
relative to the **total** Milky Way force at that point (the halo and bulge of
``milky_way(1e12, disc="exact")`` plus the exact disc), minimised by weighted least squares
with Lawson's reweighting (w ← w·|ΔF|/|F_MW|, 12 rounds; it tends to the minimax fit).
Unknowns: M₁/M, M₂/M (M₃ = M − M₁ − M₂), aᵢ/r_d, b/r_d. One heavily weighted residual ties
the radial force at the Sun (R☉ = 8.122 kpc, z = 0) to the exact disc's: ``solve_c200``
fixes the halo's concentration from v_c(R☉), so an error there would move M_MW(<50 kpc).
The fit is made twice, without and with a penalty keeping Σ Mᵢ aᵢ ≥ 0.05 M r_d (the sum's
midplane density → Σ Mᵢ aᵢ / (4π b R³) is then positive at large R); the better one is
printed, with the max error relative to the total and to the disc's own force.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np
from scipy.optimize import least_squares

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

from jaxgal import units as U  # noqa: E402
from jaxgal.potentials import _expdisc as E  # noqa: E402
from jaxgal.potentials import milky_way  # noqa: E402

Q = 0.12  # z_d / r_d
M_D, R_D = 5e10, 2.5


def reference_grid(stride=3):
    sol = E._solve_multipoles(Q, "exp")
    R1 = np.concatenate([[0.0], np.geomspace(1e-3, 41, 140)])
    z1 = np.concatenate([[0.0], np.geomspace(1e-4, 41, 160)])
    RR, ZZ = np.meshgrid(R1, z1, indexing="ij")
    r = np.hypot(RR, ZZ)
    keep = (r <= 40.5) & (r > 2e-3)
    R, z = RR[keep][::stride], ZZ[keep][::stride]
    _, PR, Pz, _ = E._disc_potential_numpy(sol, R, z)
    return R, z, PR, Pz


R_SUN = 8.122


def sun_force():
    """The exact disc's F_R at (R☉, 0) in units of G M / r_d²."""
    sol = E._solve_multipoles(Q, "exp")
    return float(E._disc_potential_numpy(sol, np.array([R_SUN / R_D]), np.array([0.0]))[1][0])


def model(p, R, z):
    m = np.array([p[0], p[1], 1.0 - p[0] - p[1]])
    a, b = np.abs(p[2:5]), abs(p[5])
    zb = np.sqrt(z * z + b * b)
    fR = fz = 0.0
    for i in range(3):
        D = R * R + (a[i] + zb) ** 2
        g = m[i] / (D * np.sqrt(D))
        fR = fR + g * R
        fz = fz + g * (a[i] + zb) * z / zb
    return fR, fz, m, a, b


def density_report():
    """Where the stored fit's (jaxgal.potentials._disc) midplane density turns negative, and
    its value at R = 50 kpc against the exact disc's, in Msun/kpc³ (M = 5e10, r_d = 2.5)."""
    from jaxgal.potentials import FittedExponentialDisc

    disc = FittedExponentialDisc(M_D, R_D)
    m, a, _ = (np.asarray(v) for v in disc.parameters())
    print(f"Σ Mᵢ aᵢ = {np.sum(m * a) / (M_D * R_D):.3f} M r_d")
    R = np.linspace(0.0, 100.0, 2001)
    rho = np.asarray(disc.density(jnp.asarray(np.stack([R, 0 * R, 0 * R], -1))))
    neg = R[rho < 0]
    print(f"midplane density < 0 from R = {neg.min():.1f} kpc" if neg.size else "midplane density > 0 to 100 kpc")
    exact = M_D / (4 * np.pi * R_D**2 * Q * R_D) * np.exp(-50.0 / R_D)
    zz = np.linspace(0.0, 30.0, 601)
    rz = np.asarray(disc.density(jnp.asarray(np.stack([50.0 + 0 * zz, 0 * zz, zz], -1))))
    print(f"at R = 50 kpc, z = 0: fit {rz[0]:.3g}, exact {exact:.3g} Msun/kpc³; negative for |z| < "
          f"{zz[rz < 0].max() if (rz < 0).any() else 0:.2f} kpc")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stride", type=int, default=3)
    ap.add_argument("--density", action="store_true", help="only report the stored fit's midplane density")
    args = ap.parse_args()
    if args.density:
        return density_report()
    R, z, PR, Pz = reference_grid(args.stride)
    # halo + bulge of milky_way(1e12), in the disc's units G M_D / r_d²
    X = jnp.asarray(np.stack([R * R_D, 0 * R, z * R_D], -1))
    mw = milky_way(1e12, disc="exact")
    g = np.asarray(jax.vmap(lambda x: mw["halo"]._gradient(x, 0.0) + mw["bulge"]._gradient(x, 0.0))(X))
    g = g / (U.G * M_D / R_D**2)
    Ftot = np.hypot(PR + g[:, 0], Pz + g[:, 2])
    Fd = np.hypot(PR, Pz)

    f_sun = sun_force()
    R_s, z_s = np.array([R_SUN / R_D]), np.array([0.0])

    def resid(p, w, positive):
        fR, fz, m, a, b = model(p, R, z)
        e = np.concatenate([(fR - PR) / Ftot, (fz - Pz) / Ftot]) * np.sqrt(np.concatenate([w, w]))
        pen = 30.0 * max(0.0, 0.05 - float(np.sum(m * a))) if positive else 0.0
        sun = 3000.0 * (model(p, R_s, z_s)[0][0] / f_sun - 1.0)
        return np.append(e, [pen, sun])

    best = None
    for positive in (False, True):
        p = np.array([-0.79, 1.72, 4.2, 1.6, 0.42, 0.147])
        w = np.ones_like(R)
        for _ in range(12):  # Lawson's reweighting: least squares → minimax
            p = least_squares(resid, p, args=(w, positive), method="lm", max_nfev=2000).x
            fR, fz, m, a, b = model(p, R, z)
            err = np.hypot(fR - PR, fz - Pz) / Ftot
            w = w * err
            w = w / w.mean()
        fR, fz, m, a, b = model(p, R, z)
        err = np.hypot(fR - PR, fz - Pz) / Ftot
        print(f"positive midplane density at large R required: {positive}: max |ΔF|/|F_MW| = {err.max():.4f}, "
              f"Σ Mᵢaᵢ = {np.sum(m * a):.3f} M r_d", flush=True)
        if best is None or err.max() < best[0]:
            best = (err.max(), p)
    _, p = best
    fR, fz, m, a, b = model(p, R, z)
    err = np.hypot(fR - PR, fz - Pz) / Ftot
    errd = np.hypot(fR - PR, fz - Pz) / Fd
    i, j = np.argmax(err), np.argmax(np.where(np.hypot(R, z) > 1, errd, 0))
    print(f"max |ΔF|/|F_MW| = {err[i]:.4f} at R = {R[i] * R_D:.3g}, z = {z[i] * R_D:.3g} kpc; "
          f"rms {np.sqrt(np.mean(err**2)):.4f}")
    print(f"F_R(R☉, 0) / exact − 1 = {model(p, R_s, z_s)[0][0] / f_sun - 1:.2e}")
    print(f"max |ΔF|/|F_disc| beyond r = r_d: {errd[j]:.4f} at R = {R[j] * R_D:.3g}, z = {z[j] * R_D:.3g} kpc")
    print("fractions M_i/M =", repr(tuple(float(v) for v in m)))
    print("a_i/r_d =", repr(tuple(float(v) for v in a)))
    print("b/r_d =", repr(float(b)))


if __name__ == "__main__":
    main()
