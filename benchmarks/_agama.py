"""AGAMA peers shared by the benchmarks: jaxgal's Milky Way rebuilt from AGAMA components
(checked against jaxgal before any timing), AGAMA's orbit integrators timed on it, and
AGAMA's own per-simulation MW–LMC pipeline (DF sample, moving LMC, tracer orbits).

Every function raises ``ImportError`` when ``import agama`` fails; callers print
"AGAMA skipped: <reason>". AGAMA is not on the package index as a wheel: build it from its
public repository (``benchmarks/README.md``, section "AGAMA").

Units: AGAMA is put in kpc, km/s, Msun (``setUnits(mass=1, length=1, velocity=1)``), so its
time unit is 1 kpc/(km/s) = 977.79 Myr. Its G is 4.30091727067736e-6 kpc (km/s)²/Msun, 1.5e-10
above astropy's (jaxgal's); every AGAMA mass is multiplied by G_jaxgal/G_AGAMA so that G·M
— all that the dynamics sees — is identical.
"""

from __future__ import annotations

import time

import numpy as np


def require_agama():
    """The ``agama`` module in kpc, km/s, Msun units, or ``ImportError`` with the reason."""
    try:
        import agama
    except Exception as err:  # noqa: BLE001 - any failure to import is a reason to skip
        raise ImportError(f"`import agama` fails here ({type(err).__name__}: {err})") from err
    agama.setUnits(mass=1, length=1, velocity=1)
    return agama


def _units():
    from jaxgal import units as U

    agama = require_agama()
    g_ratio = U.G_KMS / agama.G
    time_unit_myr = 1.0 / U.KMS_TO_KPC_MYR  # 1 kpc / (1 km/s) in Myr
    return agama, g_ratio, time_unit_myr


def agama_milky_way(mw, disc: str = "mn3"):
    """AGAMA's version of a jaxgal ``milky_way(m200)`` composite (components ``halo``,
    ``disc``, ``bulge``).

    - halo: ``NFW`` with the same M_s (AGAMA's ``mass``: Φ = −G M_s ln(1 + r/r_s)/r) and r_s;
    - disc: ``disc="mn3"`` — the three Miyamoto–Nagai discs of jaxgal's
      :class:`MN3ExponentialDisc` or :class:`FittedExponentialDisc` (``milky_way(disc="fit")``;
      exact twins either way); ``disc="exact"`` — AGAMA's ``Disk`` (its
      DiskAnsatz + Multipole) with the same mass, scale length and height (positive
      ``scaleHeight`` = exponential, negative = sech²); for a jaxgal
      :class:`ExponentialDisc` it is the only choice;
    - bulge: jaxgal's :class:`PowerLawCutoff` ρ ∝ r^−α e^{−(r/r_c)²} as AGAMA's
      ``Spheroid`` with γ = β = α (the double power law collapses to r^−α), outer cutoff
      radius r_c, cutoff strength 2, total mass M (AGAMA builds its Multipole potential).
    """
    from jaxgal.potentials import ExponentialDisc, FittedExponentialDisc, MN3ExponentialDisc

    agama, g, _ = _units()
    halo, d, bulge = (mw[name] for name in ("halo", "disc", "bulge"))
    comps = [agama.Potential(type="NFW", mass=float(halo.m_s) * g, scaleRadius=float(halo.r_s))]
    if isinstance(d, (MN3ExponentialDisc, FittedExponentialDisc)) and disc == "mn3":
        m, a, b = d.parameters()
        comps += [
            agama.Potential(type="MiyamotoNagai", mass=float(m[i]) * g, scaleRadius=float(a[i]), scaleHeight=float(b))
            for i in range(3)
        ]
    else:
        if isinstance(d, MN3ExponentialDisc):
            mass, r_d, z_d, sech2 = float(d.mass), float(d.h_R), float(d.h_z), bool(d.sech2_z)
        elif isinstance(d, FittedExponentialDisc):
            mass, r_d, z_d, sech2 = float(d.mass), float(d.r_d), float(d.z_d), False
        elif isinstance(d, ExponentialDisc):
            mass, r_d, z_d, sech2 = float(d.mass), float(d.r_d), float(d.z_d), d.vertical == "sech2"
        else:
            raise TypeError(f"no AGAMA twin for a disc of type {type(d).__name__}")
        comps.append(agama.Potential(type="Disk", mass=mass * g, scaleRadius=r_d, scaleHeight=-z_d if sech2 else z_d))
    comps.append(
        agama.Potential(
            type="Spheroid", mass=float(bulge.mass) * g, gamma=float(bulge.alpha), beta=float(bulge.alpha),
            alpha=1.0, scaleRadius=1.0, outerCutoffRadius=float(bulge.r_c), cutoffStrength=2.0,
        )
    )
    return agama.Potential(*comps)


CHECK_POINTS = np.array(
    [[8.0, 0.0, 0.0], [1.0, 0.5, 0.2], [0.3, -0.2, 0.05], [20.0, 5.0, -12.0], [150.0, -40.0, 60.0], [4.0, 3.0, 0.3]]
)


def check_agama_potential(mw, apot, tol: float, label: str = "") -> float:
    """Max relative difference of Φ and |a| between AGAMA's ``apot`` and jaxgal's ``mw`` at
    six points (0.4–170 kpc); raises SystemExit above ``tol`` (refuse to time different
    problems). Expected: ~1e-6 with the MN3 disc (AGAMA's Multipole bulge), ~5e-4 with the
    exact disc (AGAMA's Disk vs jaxgal's table; both approximate the exact disc)."""
    import jax.numpy as jnp

    from jaxgal import units as U

    pts = CHECK_POINTS
    phi_a, acc_a = apot.potential(pts), apot.force(pts)
    phi_j = np.asarray(mw.potential(jnp.asarray(pts)))
    acc_j = np.asarray(mw.acceleration(jnp.asarray(pts))) / U.KMS_TO_KPC_MYR  # (km/s)²/kpc
    rel_phi = float(np.max(np.abs(phi_a / phi_j - 1)))
    rel_acc = float(np.max(np.linalg.norm(acc_a - acc_j, axis=1) / np.linalg.norm(acc_j, axis=1)))
    print(f"AGAMA vs jaxgal potential{(' (' + label + ')') if label else ''} at {len(pts)} points: "
          f"max rel diff Φ {rel_phi:.1e}, |a| {rel_acc:.1e}")
    if max(rel_phi, rel_acc) > tol:
        raise SystemExit(f"AGAMA's potential differs from jaxgal's by more than {tol:g}: refusing to compare timings")
    return max(rel_phi, rel_acc)


def orbits(pot, ic, t, accuracy: float = 1e-8, method: str = "dop853", threads: int = 2, t_start: float = 0.0):
    """Integrate orbits with ``agama.orbit`` and time it.

    **Arguments:** `pot`: an AGAMA potential (kpc, km/s units); `ic`: (N, 6) [kpc, km/s];
    `t`: duration [Myr] (negative: backwards); `accuracy`: AGAMA's relative accuracy of the
    ODE integrator (its default is 1e-8); `method`: ``"dop853"`` (8th-order Runge–Kutta,
    AGAMA's default) or ``"dprkn8"`` (8th-order Runge–Kutta–Nyström); `threads`: OpenMP
    threads (``agama.setNumThreads``); `t_start` [Myr].

    **Returns:** (final (N, 6) [kpc, km/s], wall seconds).
    """
    agama, _, tu = _units()
    if method not in ("dop853", "dprkn8"):
        raise ValueError(f"method must be 'dop853' or 'dprkn8'; got {method!r}")
    ic = np.ascontiguousarray(ic, dtype=float)
    with agama.setNumThreads(int(threads)):
        tic = time.perf_counter()
        out = agama.orbit(
            potential=pot, ic=ic, time=t / tu, timestart=t_start / tu, trajsize=1, accuracy=accuracy,
            method=method, dtype="float64", separateTime=True, verbose=False,
        )
        wall = time.perf_counter() - tic
    return np.asarray(out[1]).reshape(len(ic), 6), wall


# ---------------------------------------------------------------------------------------
# the per-simulation pipeline
# ---------------------------------------------------------------------------------------
def host_acceleration_table(lmc, orbit):
    """a_MW(t) [kpc/Myr²] on the orbit's time grid from jaxgal's
    ``SatelliteInHostFrame.host_acceleration`` (input preparation, not timed as AGAMA's)."""
    import jax
    import jax.numpy as jnp

    from jaxgal.satellites import SatelliteInHostFrame

    term = SatelliteInHostFrame(lmc, orbit)
    return np.asarray(jax.vmap(term.host_acceleration)(jnp.asarray(orbit.t)))


def moving_lmc_frame(apot_mw, lmc, orbit, a_host):
    """AGAMA's total potential in the MW-centred (non-inertial) frame of jaxgal's tracer
    equation ẍ = −∇Φ_MW(x) − ∇Φ_LMC(x − r(t)) − a_MW(t):

    - the LMC (jaxgal's Hernquist: AGAMA ``Dehnen`` with γ = 1) centred on the separation
      r(t) = x_LMC − x_MW of jaxgal's :class:`TwoBodyOrbit`, given as AGAMA's time-dependent
      ``center`` table (t, r, u) (AGAMA interpolates it with cubic Hermite splines, as
      jaxgal does);
    - the fictitious force −a_MW(t) = ∇Φ_LMC(−r(t)) as a ``UniformAcceleration`` table on
      the orbit's time grid (AGAMA's cubic spline in t), a_MW from jaxgal's
      ``SatelliteInHostFrame.host_acceleration`` (exact at the nodes; see
      :func:`host_acceleration_table`).

    Times in the tables are in AGAMA's unit (977.79 Myr). ``a_host``: the (n, 3) table of
    :func:`host_acceleration_table`. Returns the composite potential.
    """
    from jaxgal import units as U

    agama, g, tu = _units()
    t = np.asarray(orbit.t)
    sep = np.asarray(orbit.separation)
    u = np.asarray(orbit.relative_velocity) / U.KMS_TO_KPC_MYR
    a_frame = -np.asarray(a_host) / U.KMS_TO_KPC_MYR**2  # (km/s)²/kpc = km/s per AGAMA time unit
    centre = np.column_stack([t / tu, sep, u])
    lmc_pot = agama.Potential(type="Dehnen", gamma=1.0, mass=float(lmc.mass) * g, scaleRadius=float(lmc.r_s))
    moving = agama.Potential(potential=lmc_pot, center=centre)
    frame = agama.Potential(type="UniformAcceleration", file=np.column_stack([t / tu, a_frame]))
    return agama.Potential(apot_mw, moving, frame)


def check_moving_frame(mw, term, apot_total, times_myr, tol: float = 1e-5) -> float:
    """Max relative difference of the total acceleration (MW + LMC tidal field) between
    AGAMA's moving-frame potential and jaxgal's at a few points and times (SystemExit
    above ``tol``)."""
    import jax.numpy as jnp

    from jaxgal import units as U

    _, _, tu = _units()
    pts = np.array([[30.0, -20.0, 10.0], [-60.0, 10.0, -40.0], [5.0, 80.0, 20.0], [0.0, -40.0, -25.0]])
    worst = 0.0
    for tt in times_myr:
        acc_a = apot_total.force(pts, t=tt / tu)
        x = jnp.asarray(pts)
        acc_j = np.asarray(
            -jnp.stack([mw.grad_phi(p, tt) for p in x]) + jnp.stack([term.acceleration(tt, p, None, None) for p in x])
        ) / U.KMS_TO_KPC_MYR**2
        worst = max(worst, float(np.max(np.linalg.norm(acc_a - acc_j, axis=1) / np.linalg.norm(acc_j, axis=1))))
    print(f"AGAMA vs jaxgal moving-frame acceleration at {len(pts)} points × {len(times_myr)} times: max rel diff {worst:.1e}")
    if worst > tol:
        raise SystemExit(f"AGAMA's moving-frame potential differs from jaxgal's by more than {tol:g}")
    return worst


def sample_stellar_halo(apot_mw, n: int, beta0: float, r_dens: float, gamma: float, threads: int = 2, seed: int = 0):
    """AGAMA's stellar-halo draw of Brooks et al. (the paper's §3): the tracer ν ∝ (r/r_dens)^−1 (1 + r/r_dens)^(1−γ)
    (``Spheroid`` α = 1, β = γ, γ_inner = 1, scale radius r_dens) with the constant-anisotropy
    ``QuasiSpherical`` DF of anisotropy β0 in the spherically averaged MW
    (``Multipole``, lmax = 0, 1e-3–1e4 kpc), ``GalaxyModel.sample(n)``.

    **Returns:** ((n, 6) [kpc, km/s], {"df_build_s", "sample_s"}).
    """
    agama, _, _ = _units()
    agama.setRandomSeed(int(seed))
    with agama.setNumThreads(int(threads)):
        tic = time.perf_counter()
        sph = agama.Potential(type="Multipole", potential=apot_mw, lmax=0, rmin=1e-3, rmax=1e4)
        dens = agama.Density(type="Spheroid", mass=1.0, alpha=1.0, beta=float(gamma), gamma=1.0, scaleRadius=float(r_dens))
        df = agama.DistributionFunction(type="QuasiSpherical", density=dens, potential=sph, beta0=float(beta0))
        model = agama.GalaxyModel(sph, df)
        t_build = time.perf_counter() - tic
        tic = time.perf_counter()
        w = np.asarray(model.sample(int(n))[0])
        t_sample = time.perf_counter() - tic
    return w, dict(df_build_s=t_build, sample_s=t_sample)


def two_body_scipy(apot_mw, lmc, w_lmc, t_infall: float, m_lmc: float, ln_lambda: float, lambda_df: float,
                   sigma: float = 120.0, rtol: float = 1e-10):
    """The MW–LMC two-body orbit as AGAMA's LMC example computes it (scipy's ODE solver with
    AGAMA forces), here with jaxgal's physics (Brooks et al.): both centres move,
    a_LMC = −∇Φ_MW(r) + a_DF, a_MW = −∇Φ_LMC(−r), Chandrasekhar friction with σ, ln Λ, λ_DF
    and ρ_MW from AGAMA's density. scipy ``solve_ivp`` DOP853 at ``rtol``.

    **Arguments:** `w_lmc`: present-day LMC (6,) [kpc, km/s] (MW at rest at the origin);
    `t_infall` [Myr]; `m_lmc` [Msun].

    **Returns:** (dict with ``t`` [Myr], ``x_mw``, ``x_lmc`` [kpc] at the solver's steps,
    wall seconds).
    """
    from scipy import integrate, special

    agama, g, tu = _units()
    lmc_pot = agama.Potential(type="Dehnen", gamma=1.0, mass=float(lmc.mass) * g, scaleRadius=float(lmc.r_s))
    G = agama.G * g  # jaxgal's G in kpc (km/s)²/Msun

    def rhs(_, y):
        x0, v0, x1, v1 = y[0:3], y[3:6], y[6:9], y[9:12]
        r, u = x1 - x0, v1 - v0
        speed = np.sqrt(u @ u)
        X = speed / (np.sqrt(2.0) * sigma)
        rho = apot_mw.density(r) / g  # AGAMA holds masses × g: back to Msun/kpc³
        drag = -4 * np.pi * G * G * m_lmc * rho * ln_lambda / speed**3 * (
            special.erf(X) - 2 * X / np.sqrt(np.pi) * np.exp(-X * X)
        ) * lambda_df * u
        return np.concatenate([v0, lmc_pot.force(-r), v1, apot_mw.force(r) + drag])

    y0 = np.concatenate([np.zeros(6), np.asarray(w_lmc, dtype=float)])
    tic = time.perf_counter()
    sol = integrate.solve_ivp(rhs, (0.0, -t_infall / tu), y0, method="DOP853", rtol=rtol, atol=rtol * 1e-3)
    wall = time.perf_counter() - tic
    return dict(t=sol.t * tu, x_mw=sol.y[0:3].T, x_lmc=sol.y[6:9].T), wall
