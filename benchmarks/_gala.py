"""gala peers shared by the benchmarks: jaxgal's ``milky_way`` rebuilt from gala classes,
checked equal to jaxgal's before any timing, and gala's C orbit integrators timed on it."""

from __future__ import annotations

import time

import jax.numpy as jnp
import numpy as np


def gala_potential(mw):
    """gala's equivalent of milky_way(): NFW + the disc's three Miyamoto–Nagai discs (gala's
    ``MN3ExponentialDiskPotential`` for an :class:`MN3ExponentialDisc`, three
    ``MiyamotoNagaiPotential`` for a :class:`FittedExponentialDisc`, ``milky_way(disc="fit")``)
    + PowerLawCutoff bulge, same parameters."""
    import astropy.units as u
    import gala.potential as gp
    from gala.units import galactic

    halo, disc, bulge = (mw[name] for name in ("halo", "disc", "bulge"))
    pot = gp.CCompositePotential()
    pot["halo"] = gp.NFWPotential(m=float(halo.m_s) * u.Msun, r_s=float(halo.r_s) * u.kpc, units=galactic)
    from jaxgal.potentials import MN3ExponentialDisc

    if isinstance(disc, MN3ExponentialDisc):
        pot["disc"] = gp.MN3ExponentialDiskPotential(
            m=float(disc.mass) * u.Msun, h_R=float(disc.h_R) * u.kpc, h_z=float(disc.h_z) * u.kpc,
            sech2_z=bool(disc.sech2_z), positive_density=bool(disc.positive_density), units=galactic,
        )
    else:  # FittedExponentialDisc: its three Miyamoto–Nagai discs
        masses, a_s, b = disc.parameters()
        for i in range(3):
            pot[f"disc{i}"] = gp.MiyamotoNagaiPotential(
                m=float(masses[i]) * u.Msun, a=float(a_s[i]) * u.kpc, b=float(b) * u.kpc, units=galactic
            )
    pot["bulge"] = gp.PowerLawCutoffPotential(
        m=float(bulge.mass) * u.Msun, alpha=float(bulge.alpha), r_c=float(bulge.r_c) * u.kpc, units=galactic
    )
    return pot


def check_gala_potential(mw, gpot) -> float:
    import astropy.units as u

    pts = np.array([[8.0, 0.0, 0.0], [1.0, 0.5, 0.2], [0.3, -0.2, 0.05], [20.0, 5.0, -12.0], [150.0, -40.0, 60.0], [4.0, 3.0, 0.3]])
    phi_g = gpot.energy(pts.T * u.kpc).to_value(u.km**2 / u.s**2)
    acc_g = gpot.acceleration(pts.T * u.kpc).to_value(u.km / u.s / u.Myr).T
    phi_j = np.asarray(mw.potential(jnp.asarray(pts)))
    acc_j = np.asarray(mw.acceleration(jnp.asarray(pts)))
    rel_phi = np.max(np.abs(phi_g / phi_j - 1))
    rel_acc = np.max(np.linalg.norm(acc_g - acc_j, axis=1) / np.linalg.norm(acc_j, axis=1))
    print(f"gala vs jaxgal potential at {len(pts)} points: max rel diff Φ {rel_phi:.1e}, |a| {rel_acc:.1e}")
    if max(rel_phi, rel_acc) > 1e-8:
        raise SystemExit("gala's potential differs from jaxgal's: refusing to compare timings")
    return float(max(rel_phi, rel_acc))


def run_gala(gpot, w0, t_end, integrator: str, dt=None, rtol=None):
    import astropy.units as u
    import gala.dynamics as gd
    import gala.integrate as gi
    import gala.potential as gp

    H = gp.Hamiltonian(gpot)
    pos = gd.PhaseSpacePosition(pos=w0[:, :3].T * u.kpc, vel=w0[:, 3:].T * u.km / u.s)
    if integrator == "leapfrog":
        # dt with n_steps (not t2, which gala excludes: its last time would be t2 − dt); as
        # in jaxgal, n = ceil(T/dt) equal steps of T/n.
        n_steps = int(np.ceil(t_end / dt * (1 - 1e-9)))
        kw = dict(dt=t_end / n_steps * u.Myr, t1=0.0 * u.Myr, n_steps=n_steps, Integrator=gi.LeapfrogIntegrator)
    else:
        kw = dict(
            t=np.array([0.0, t_end]) * u.Myr, Integrator=gi.DOPRI853Integrator,
            Integrator_kwargs=dict(atol=rtol * 1e-2, rtol=rtol),
        )
    t = time.perf_counter()
    orbit = H.integrate_orbit(pos, save_all=False, **kw)
    wall = time.perf_counter() - t
    assert abs(orbit.t[-1].to_value(u.Myr) - t_end) < 1e-6, orbit.t[-1]
    x = orbit.xyz[:, -1].to_value(u.kpc).T
    v = orbit.v_xyz[:, -1].to_value(u.km / u.s).T
    return np.concatenate([x, v], axis=1).reshape(-1, 6), wall


def gala_mw_lmc_inertial(mw, lmc, orbit):
    """The MW and the LMC of a jaxgal simulation as gala potentials whose centres move on the
    two-body trajectories of ``orbit`` (a :class:`jaxgal.satellites.TwoBodyOrbit`), in
    the inertial frame where the MW centre is at rest at the origin at t = 0.

    gala's ``TimeInterpolatedPotential`` (cubic splines of the centres on the orbit's time
    grid) does not wrap ``MN3ExponentialDiskPotential``, so the disc enters as its three
    Miyamoto–Nagai components (the same thing; ``MN3ExponentialDisc`` or
    ``FittedExponentialDisc``). Integrating tracers in this potential from
    w_rel(−t) + (x_MW, v_MW)(−t) to t = 0 is the inertial-frame equivalent of jaxgal's
    non-inertial tracer equation.
    """
    import astropy.units as u
    import gala.potential as gp
    from gala.units import galactic

    t = np.asarray(orbit.t)
    x_mw = np.asarray(orbit.x_host)
    x_lmc = np.asarray(orbit.x_sat)
    halo, disc, bulge = (mw[name] for name in ("halo", "disc", "bulge"))

    def moving(cls, origin, **params):
        return gp.TimeInterpolatedPotential(cls, t * u.Myr, origin=origin * u.kpc, units=galactic, **params)

    # Not CCompositePotential: with TimeInterpolatedPotential components its C integration
    # ignores the moving centres (gala 1.11; an orbit integrated in it disagrees with a
    # leapfrog driven by the same object's own ``acceleration(x, t)``), whereas the Python
    # CompositePotential integrates correctly.
    pot = gp.CompositePotential()
    pot["halo"] = moving(gp.NFWPotential, x_mw, m=float(halo.m_s) * u.Msun, r_s=float(halo.r_s) * u.kpc)
    masses, a_s, b = disc.parameters()
    for i in range(3):
        pot[f"disc{i}"] = moving(
            gp.MiyamotoNagaiPotential, x_mw, m=float(masses[i]) * u.Msun, a=float(a_s[i]) * u.kpc, b=float(b) * u.kpc
        )
    pot["bulge"] = moving(
        gp.PowerLawCutoffPotential, x_mw, m=float(bulge.mass) * u.Msun, alpha=float(bulge.alpha),
        r_c=float(bulge.r_c) * u.kpc,
    )
    pot["lmc"] = moving(gp.HernquistPotential, x_lmc, m=float(lmc.mass) * u.Msun, c=float(lmc.r_s) * u.kpc)
    return pot


def run_gala_inertial(gpot, w_rel0, orbit, dt):
    """Leapfrog in gala's inertial-frame potential of :func:`gala_mw_lmc_inertial` from the
    orbit's first time to t = 0: ``w_rel0`` (N, 6) [kpc, km/s] are MW-centred initial
    conditions. Returns (w today [kpc, km/s] — Galactocentric, since the MW centre is at
    rest at the origin at t = 0 — and the wall time [s])."""
    import astropy.units as u
    import gala.dynamics as gd
    import gala.integrate as gi
    import gala.potential as gp

    from jaxgal import units as U

    t0 = float(orbit.t[0])
    w0 = np.asarray(w_rel0, dtype=float).copy()
    w0[:, :3] += np.asarray(orbit.x_host[0])
    w0[:, 3:] += np.asarray(orbit.v_host[0]) / U.KMS_TO_KPC_MYR
    n_steps = int(np.ceil(-t0 / dt * (1 - 1e-9)))
    H = gp.Hamiltonian(gpot)
    pos = gd.PhaseSpacePosition(pos=w0[:, :3].T * u.kpc, vel=w0[:, 3:].T * u.km / u.s)
    tic = time.perf_counter()
    orb = H.integrate_orbit(
        pos, dt=-t0 / n_steps * u.Myr, t1=t0 * u.Myr, n_steps=n_steps, Integrator=gi.LeapfrogIntegrator,
        save_all=False,
    )
    wall = time.perf_counter() - tic
    assert abs(orb.t[-1].to_value(u.Myr)) < 1e-6, orb.t[-1]
    x = orb.xyz[:, -1].to_value(u.kpc).T
    v = orb.v_xyz[:, -1].to_value(u.km / u.s).T
    return np.concatenate([x, v], axis=1).reshape(-1, 6), wall
