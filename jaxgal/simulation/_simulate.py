r"""One MW–LMC simulation (Brooks et al. §3; SPEC §A): ``simulate(theta, key)``.

Steps, all inside one jit-compiled function (vmappable over θ and keys):

1. **Milky Way** ``milky_way(10**log10_m200)``: NFW halo with c200 solved for
   v_c(8.122 kpc) = 235 km/s (clipped to [1, 60] and flagged), exponential disc
   (three Miyamoto–Nagai), bulge.
2. **LMC**: Hernquist of mass M_LMC with a = 8.7 kpc (√(M_LMC/1.7×10¹⁰) − 1)
   (:func:`jaxgal.potentials.lmc`).
3. **Present-day LMC** from (α, δ, d, v_los, μ_α*, μ_δ) with astropy's Galactocentric
   defaults.
4. **Two-body orbit** back to −t_infall (default 2.2 Gyr) with both centres moving and
   Chandrasekhar friction (λ_DF = 10^log10_lambda_df, σ = 120 km/s,
   ln Λ = ln(100 kpc / 1.6 a_LMC)) — :func:`jaxgal.integrators.integrate_two_body`.
5. **Stellar halo** at −t_infall: ``n_particles`` stars of ν ∝ (r/r_dens)⁻¹
   (1 + r/r_dens)^(1−γ) from the constant-β0 (Cuddeford) DF in the MW's monopole
   (:func:`jaxgal.df.sample_stellar_halo`), centred on the MW.
6. **Tracers** integrated to t = 0 in the MW-centred frame,
   ẍ = −∇Φ_MW(x) − ∇Φ_LMC(x − r_LMC(t)) − a_MW(t)
   (:class:`jaxgal.integrators.SatelliteInHostFrame`); at t = 0 this is the
   Galactocentric frame.

Every grid and step is an argument of :class:`SimulationConfig`.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import frames
from .. import units as U
from ..df import ConstantBetaDF, stellar_halo_density
from ..integrators import (
    ChandrasekharFriction,
    ErrorControl,
    SatelliteInHostFrame,
    TwoBodyOrbit,
    coulomb_logarithm,
    integrate_orbits,
    integrate_two_body,
)
from ..integrators._rk import TABLEAUX
from ..integrators._schemes import SCHEMES
from ..potentials import lmc, milky_way, solve_c200
from ._theta import Theta, as_theta, check_theta

__all__ = ["SimulationConfig", "SimulationResult", "simulate", "simulate_batch"]


class SimulationConfig(eqx.Module):
    """Numerical settings of :func:`simulate` (all static: changing one recompiles).

    **Physics** (Brooks et al. values by default):

    - `t_infall` [Myr]: how far back the halo starts (2200).
    - `sigma_df` [km/s]: the MW dispersion in the friction (120).
    - `b_max` [kpc], `softening_factor`: ln Λ = ln(b_max / (softening_factor·a_LMC))
      (100, 1.6).
    - `frame`: the Galactocentric frame of the present-day LMC (astropy defaults).

    **Two-body orbit:** `orbit_method` (``"rk4"``, ``"leapfrog"``, ``"dopri8"``),
    `orbit_dt` [Myr] (grid step, 1.0; also the Hermite-interpolation grid of r_LMC(t)),
    `orbit_substeps` (1).

    **Tracers:** `tracer_method`: ``"dopri5"`` (default), ``"tsit5"``, ``"dopri8"`` with
    per-orbit error control at `tracer_rtol` (1e-7; see ``benchmarks/simulation.py`` for
    the convergence of the summaries), or a fixed-step symplectic scheme (``"leapfrog"``,
    ``"bm4"``, …) with step `tracer_dt` [Myr]. `lanes`: lanes of the error-controlled
    engine (None: automatic). `force_dtype`: e.g. ``jnp.float32`` for mixed precision.
    `devices`: devices to split the particles over (None: all; a vmapped batch uses
    :func:`simulate_batch` instead).

    **DF grid:** `df_n_grid` (256 log-r nodes), `df_r_min`, `df_r_max` [kpc] (1e-3, 1e4),
    `df_n_speed` (256 speed nodes per star), `r_max_sample` [kpc] (1000: stars are drawn
    within this radius).
    """

    t_infall: float = eqx.field(static=True, default=2200.0)
    sigma_df: float = eqx.field(static=True, default=120.0)
    b_max: float = eqx.field(static=True, default=100.0)
    softening_factor: float = eqx.field(static=True, default=1.6)
    frame: Any = eqx.field(static=True, default=None)
    orbit_method: str = eqx.field(static=True, default="rk4")
    orbit_dt: float = eqx.field(static=True, default=1.0)
    orbit_substeps: int = eqx.field(static=True, default=1)
    tracer_method: str = eqx.field(static=True, default="dopri5")
    tracer_rtol: float = eqx.field(static=True, default=1e-7)
    inner_radius: float = eqx.field(static=True, default=20.0)
    inner_rtol: float = eqx.field(static=True, default=1e-5)
    tracer_dt: float = eqx.field(static=True, default=1.0)
    lanes: int | None = eqx.field(static=True, default=None)
    force_dtype: Any = eqx.field(static=True, default=None)
    devices: tuple | None = eqx.field(static=True, default=None)
    df_n_grid: int = eqx.field(static=True, default=256)
    df_r_min: float = eqx.field(static=True, default=1e-3)
    df_r_max: float = eqx.field(static=True, default=1e4)
    df_n_speed: int = eqx.field(static=True, default=256)
    r_max_sample: float = eqx.field(static=True, default=1e3)

    def __check_init__(self):
        if self.tracer_method not in TABLEAUX and self.tracer_method not in SCHEMES:
            raise ValueError(
                f"tracer_method must be one of {sorted(TABLEAUX)} (error control) or a fixed-step "
                f"scheme {sorted(SCHEMES)}; got {self.tracer_method!r}"
            )
        for name in (
            "t_infall", "sigma_df", "b_max", "softening_factor", "orbit_dt", "tracer_rtol", "inner_radius",
            "inner_rtol", "tracer_dt",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"SimulationConfig.{name} must be > 0; got {getattr(self, name)}")


class SimulationResult(eqx.Module):
    """The output of :func:`simulate`.

    **Fields:**

    - `particles`: (N, 6) stellar halo today (t = 0), Galactocentric x [kpc], v [km/s].
    - `initial_particles`: (N, 6) the same stars at −t_infall in the MW-centred frame.
    - `orbit`: the :class:`~jaxgal.integrators.TwoBodyOrbit` of the MW centre (``x_host``)
      and the LMC (``x_sat``) from −t_infall to 0 (inertial frame in which the MW centre
      is at rest at the origin today; velocities in kpc/Myr, ``*_kms`` properties in km/s).
    - `derived`: dict of scalars — ``m_mw_50`` M_MW(<50 kpc) [Msun] (spherical average),
      ``m_lmc_50`` M_LMC(<50 kpc) [Msun], ``m200`` [Msun], ``c200``, ``c200_clipped``
      (bool), ``a_lmc`` [kpc], ``ln_coulomb``, ``lambda_df``, ``mass_ratio``
      M_LMC/M200, ``lmc_pericentre`` [kpc], ``lmc_pericentre_time`` [Myr],
      ``max_tracer_steps``.
    - `theta`: the :class:`~jaxgal.simulation.Theta` simulated.
    """

    particles: Float[Array, "n 6"]
    initial_particles: Float[Array, "n 6"]
    orbit: TwoBodyOrbit
    derived: dict
    theta: Theta


def _tracer_rtol(df: ConstantBetaDF, w0, config: SimulationConfig):
    """Per-star tolerance: ``inner_rtol`` for stars whose monopole apocentre lies inside
    ``inner_radius`` (ε = Ψ(r) − v²/2 > Ψ(inner_radius)), ``tracer_rtol`` otherwise."""
    r = jnp.linalg.norm(w0[:, :3], axis=1)
    eps = df.psi(r) - 0.5 * jnp.sum(w0[:, 3:] ** 2, axis=1)
    inner = eps > df.psi(config.inner_radius)
    return jnp.where(inner, config.inner_rtol, config.tracer_rtol)


def _tracer_integration(mw, term, w0, rtol, config: SimulationConfig, devices):
    t0, t1 = -config.t_infall, 0.0
    if config.tracer_method in TABLEAUX:
        res = integrate_orbits(
            mw, w0, t0, t1, config.t_infall, method=config.tracer_method,
            step_control=ErrorControl(rtol=rtol, lanes=config.lanes),
            extra_terms=(term,), force_dtype=config.force_dtype, devices=devices,
        )
    else:
        res = integrate_orbits(
            mw, w0, t0, t1, config.tracer_dt, method=config.tracer_method,
            extra_terms=(term,), force_dtype=config.force_dtype, devices=devices,
        )
    return res.w, res.n_steps


@eqx.filter_jit
def _simulate(theta: Theta, key, n_particles: int, config: SimulationConfig, devices):
    m200 = 10.0**theta.log10_m200
    c200, clipped = solve_c200(m200)
    mw = milky_way(m200, c200=c200)
    lmc_pot = lmc(theta.m_lmc)
    a_lmc = lmc_pot.r_s
    ln_coulomb = coulomb_logarithm(a_lmc, b_max=config.b_max, softening_factor=config.softening_factor)
    lambda_df = 10.0**theta.log10_lambda_df
    friction = ChandrasekharFriction(mw, theta.m_lmc, ln_coulomb, sigma=config.sigma_df, strength=lambda_df)
    w_lmc = frames.icrs_to_galactocentric(
        theta.ra_lmc, theta.dec_lmc, theta.d_lmc, theta.vlos_lmc, theta.pmra_lmc, theta.pmdec_lmc,
        frame=config.frame,
    )
    orbit = integrate_two_body(
        mw, lmc_pot, w_lmc, -config.t_infall, config.orbit_dt,
        friction=friction, method=config.orbit_method, substeps=config.orbit_substeps,
    )
    df = ConstantBetaDF.build(
        mw, stellar_halo_density(theta.r_dens, theta.gamma), theta.beta0, t=-config.t_infall,
        r_min=config.df_r_min, r_max=config.df_r_max, n_grid=config.df_n_grid,
    )
    w0 = df.sample(key, n_particles, r_max_sample=config.r_max_sample, n_speed=config.df_n_speed)
    term = SatelliteInHostFrame(lmc_pot, orbit)
    w1, n_steps = _tracer_integration(mw, term, w0, _tracer_rtol(df, w0, config), config, devices)
    peri, t_peri = orbit.pericentre()
    r50 = jnp.asarray(50.0, dtype=m200.dtype)
    derived = {
        "m_mw_50": mw.mass_enclosed(r50),
        "m_lmc_50": lmc_pot.m_enc(r50, 0.0),
        "m200": m200,
        "c200": c200,
        "c200_clipped": clipped,
        "a_lmc": a_lmc,
        "ln_coulomb": ln_coulomb,
        "lambda_df": lambda_df,
        "mass_ratio": theta.m_lmc / m200,
        "lmc_pericentre": peri,
        "lmc_pericentre_time": t_peri,
        "max_tracer_steps": jnp.max(n_steps),
    }
    return SimulationResult(particles=w1, initial_particles=w0, orbit=orbit, derived=derived, theta=theta)


def simulate(theta, key, n_particles: int = 20_000, *, config: SimulationConfig | None = None) -> SimulationResult:
    """Run one MW–LMC simulation (module docstring; SPEC §A).

    **Arguments:**

    - `theta`: the 12 Table 1 parameters — a mapping with the names of
      :data:`~jaxgal.simulation.THETA_NAMES`, a (12,) array in that order, or a
      :class:`~jaxgal.simulation.Theta` (log10 Msun, Msun, —, deg, deg, kpc, km/s, mas/yr,
      mas/yr, —, kpc, —).
    - `key`: a ``jax.random`` key (the stellar halo's draw; same key, same halo).
    - `n_particles`: stars in the halo (static; default 20,000 as in the paper).
    - `config`: a :class:`SimulationConfig` (steps, grids, tolerances).

    **Returns:** a :class:`SimulationResult`; ``.particles`` is the (N, 6) Galactocentric
    halo today (kpc, km/s), ``.derived`` the derived quantities.

    Jit-able; to run many θ at once use :func:`simulate_batch` (or ``jax.vmap`` /
    ``jax.lax.map`` with ``config.devices`` set to one device). Differentiable with respect to θ in forward
    mode (``jax.jvp`` / ``jax.jacfwd``) with the default error-controlled tracer
    integrator, and in both modes with a fixed-step ``tracer_method`` — but use the
    default for gradients: with a fixed 1 Myr leapfrog the tangents of stars that plunged
    through the central cusp explode even for stars that end far out (seen while writing
    the gradient test; no benchmark measures it). The tangent of a
    single tightly bound orbit grows exponentially over 2.2 Gyr (its Lyapunov time is tens
    of Myr, and a large fixed step makes it worse), so differentiate statistics of the
    outer halo with weights of compact support: a smooth weight that is merely tiny
    (e.g. a sigmoid 20 widths away) times such a tangent (~1e40) swamps the gradient,
    while an exact zero removes it (tested: d⟨v_GSR⟩/dM_LMC of southern stars at
    70–160 kpc matches finite differences to 2 %).
    """
    config = SimulationConfig() if config is None else config
    if not isinstance(config, SimulationConfig):
        raise TypeError(f"config must be a SimulationConfig; got {type(config).__name__}")
    n_particles = int(n_particles)
    if n_particles < 1:
        raise ValueError(f"n_particles must be a positive integer; got {n_particles}")
    th = as_theta(theta)
    check_theta(th)
    shapes = {jnp.shape(v) for v in th}
    if shapes != {()}:
        raise ValueError(
            "simulate runs one θ (scalar parameters); for a batch use simulate_batch(thetas, keys) "
            f"or jax.vmap; got parameter shapes {sorted(shapes)}"
        )
    devices = config.devices
    if devices is None:
        devices = tuple(jax.devices())
    return _simulate(th, key, n_particles, config, tuple(devices))


def simulate_batch(
    thetas, keys, n_particles: int = 20_000, *, config: SimulationConfig | None = None, vmap_size: int | None = None
) -> SimulationResult:
    """Many simulations in one call, the batch split over the local devices.

    **Arguments:** `thetas`: (B, 12) array, mapping of (B,) arrays or a batched
    :class:`~jaxgal.simulation.Theta`; `keys`: (B,) keys (``jax.random.split(key, B)``);
    `n_particles`, `config` as in :func:`simulate` (``config.devices`` is ignored: each
    simulation runs on one device); `vmap_size`: simulations vectorised together
    (``jax.lax.map`` with this ``batch_size`` over each device's share). Default: 1 on a
    CPU — the lane-scheduled integrator already fills a CPU core with one simulation's
    orbits, and vectorising several was slower than running them in turn when tried (not
    benchmarked) — and the whole share on a GPU.

    **Returns:** a :class:`SimulationResult` whose leaves have a leading batch axis B.
    """
    config = SimulationConfig() if config is None else config
    n_particles = int(n_particles)
    th = as_theta(thetas)
    check_theta(th)
    batch = {jnp.shape(v) for v in th}
    if len(batch) != 1 or len(next(iter(batch))) != 1:
        raise ValueError(f"thetas must be a batch of shape (B,) per parameter; got shapes {sorted(batch)}")
    n_batch = next(iter(batch))[0]
    keys = jnp.asarray(keys)
    if keys.shape[0] != n_batch:
        raise ValueError(f"need one key per simulation: {n_batch} thetas, {keys.shape[0]} keys")
    devices = tuple(jax.devices())
    if vmap_size is None:
        vmap_size = 1 if devices[0].platform == "cpu" else n_batch
    vmap_size = max(1, int(vmap_size))
    if len(devices) > 1 and n_batch % len(devices) != 0:
        devices = devices[:1]
    return _simulate_batch(th, keys, n_particles, config, vmap_size, devices)


@eqx.filter_jit
def _simulate_batch(th: Theta, keys, n_particles: int, config: SimulationConfig, vmap_size: int, devices: tuple):
    """One compiled program per (shapes, n_particles, config, vmap_size, devices): the batch
    split over ``devices``, each mapping over its share ``vmap_size`` at a time."""
    one = devices[:1]

    def one_sim(t, k):
        return _simulate(t, k, n_particles, config, one)

    def run(th_, keys_):
        return jax.lax.map(lambda a: one_sim(*a), (th_, keys_), batch_size=min(vmap_size, keys_.shape[0]))

    if len(devices) == 1:
        return run(th, keys)
    from ..integrators import map_over_devices

    def shard_fn(*arrays):
        return run(Theta(*arrays[:-1]), arrays[-1])

    sharded = tuple(th) + (keys,)
    out_axes = jax.tree.map(lambda _: 0, jax.eval_shape(shard_fn, *sharded))
    return map_over_devices(shard_fn, sharded, (), out_axes=out_axes, devices=devices)
