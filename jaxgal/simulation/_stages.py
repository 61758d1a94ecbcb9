r"""The stages of one MW–LMC simulation, as public functions (Brooks et al. §3;
``docs/simulation.md``).

:func:`~jaxgal.simulation.simulate` is these stages in a row inside one jit-compiled
function; ``benchmarks/simulation.py`` times each of them separately with the same calls.

1. :func:`build_models` — the Milky Way ``milky_way(10**log10_m200)`` (NFW halo with c200
   solved for v_c(8.122 kpc) = 235 km/s, clipped to [1, 60] and flagged; exponential disc;
   bulge) and the LMC, a Hernquist sphere of mass M_LMC with
   a = 8.7 kpc (√(M_LMC / 1.7×10¹⁰ Msun) − 1).
2. :func:`present_day_lmc` — (α, δ, d, v_los, μ_α*, μ_δ) → Galactocentric phase space.
3. :func:`lmc_orbit` — the two-body orbit back to −t_infall with both centres moving and
   Chandrasekhar friction (λ_DF = 10^log10_lambda_df, σ = ``sigma_df``,
   ln Λ = ln(b_max / (softening_factor · a_LMC))).
4. :func:`initial_halo` — ``n`` stars of ν ∝ (r/r_dens)⁻¹ (1 + r/r_dens)^(1−γ) drawn from
   the constant-β0 (Cuddeford) DF in the MW's monopole at −t_infall, centred on the MW.
5. :func:`evolve_tracers` — the stars integrated to t = 0 in the MW-centred frame,
   ẍ = −∇Φ_MW(x) − ∇Φ_LMC(x − r_LMC(t)) − a_MW(t), with per-star tolerances
   (:func:`tracer_tolerances`); at t = 0 this is the Galactocentric frame.
6. :func:`derived_quantities` — the scalars stored beside the particles.
"""

from __future__ import annotations

from typing import NamedTuple

import diffrax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import frames
from ..df import ConstantBetaDF, stellar_halo_density
from ..integrators import RK4, Diffrax, ErrorControlledRK, Leapfrog, integrate_orbits, solver_from_method
from ..potentials import (
    CompositePotential,
    Hernquist,
    PowerLawCutoff,
    lmc,
    milky_way,
    solve_c200,
    tabulate_spherical,
)
from ..satellites import (
    ChandrasekharFriction,
    SatelliteInHostFrame,
    TwoBodyOrbit,
    coulomb_logarithm,
    integrate_two_body,
)
from ._config import TRACER_TABLEAUX, SimulationConfig, SimulationModel
from ._theta import Theta

__all__ = [
    "MWLMCModels",
    "build_models",
    "present_day_lmc",
    "lmc_orbit",
    "initial_halo",
    "parked_stars",
    "tracer_tolerances",
    "tracer_step_budgets",
    "evolve_tracers",
    "derived_quantities",
]


class MWLMCModels(NamedTuple):
    """The two rigid potentials of one θ and how the halo concentration was found.

    **Fields:** `mw` (:class:`~jaxgal.potentials.CompositePotential`: halo, disc, bulge);
    `lmc` (:class:`~jaxgal.potentials.Hernquist`); `c200`; `c200_clipped` (bool: no c200
    in [1, 60] gives v_c(R☉) = 235 km/s).
    """

    mw: CompositePotential
    lmc: Hernquist
    c200: Float[Array, ""]
    c200_clipped: Array


def build_models(theta: Theta, model: SimulationModel | None = None) -> MWLMCModels:
    """Stage 1: the Milky Way of ``10**log10_m200`` with ``model.disc`` (default ``"mn3"``)
    and the LMC of ``m_lmc`` (module docstring)."""
    disc = (SimulationModel() if model is None else model).disc
    m200 = 10.0**theta.log10_m200
    c200, clipped = solve_c200(m200, disc=disc)
    return MWLMCModels(milky_way(m200, c200=c200, disc=disc), lmc(theta.m_lmc), c200, clipped)


def present_day_lmc(theta: Theta, model: SimulationModel) -> Float[Array, "6"]:
    """Stage 2: the LMC today, Galactocentric x [kpc], v [km/s] in ``model.frame``."""
    return frames.icrs_to_galactocentric(
        theta.ra_lmc, theta.dec_lmc, theta.d_lmc, theta.vlos_lmc, theta.pmra_lmc, theta.pmdec_lmc,
        frame=model.frame,
    )


def _orbit_solver(config: SimulationConfig):
    step = config.orbit_dt if config.orbit_step is None else config.orbit_step
    if config.orbit_method == "rk4":
        return RK4(step)
    if config.orbit_method == "leapfrog":
        return Leapfrog(step, midpoint_iterations=3)
    return Diffrax(diffrax.Dopri8(), diffrax.PIDController(rtol=1e-12, atol=1e-14), max_steps=1_000_000)


def lmc_orbit(
    models: MWLMCModels, theta: Theta, w_lmc, model: SimulationModel, config: SimulationConfig
) -> tuple[TwoBodyOrbit, Float[Array, ""]]:
    """Stage 3: the MW–LMC orbit from today back to −t_infall with Chandrasekhar friction.

    **Returns:** ``(orbit, ln_coulomb)``."""
    ln_coulomb = coulomb_logarithm(models.lmc.r_s, b_max=model.b_max, softening_factor=model.softening_factor)
    friction = ChandrasekharFriction(
        models.mw, theta.m_lmc, ln_coulomb, sigma=model.sigma_df, strength=10.0**theta.log10_lambda_df
    )
    orbit = integrate_two_body(
        models.mw, models.lmc, w_lmc, -model.t_infall, config.orbit_dt, friction=friction, solver=_orbit_solver(config)
    )
    return orbit, ln_coulomb


def initial_halo(
    mw, theta: Theta, key, n_particles: int, model: SimulationModel, config: SimulationConfig
) -> tuple[ConstantBetaDF, Float[Array, "n 6"]]:
    """Stage 4: the DF of the stellar halo in the MW at −t_infall and ``n_particles`` stars
    drawn from it ((n, 6): x [kpc], v [km/s], MW-centred)."""
    df = ConstantBetaDF.build(
        mw, stellar_halo_density(theta.r_dens, theta.gamma), theta.beta0, t=-model.t_infall,
        r_min=config.df_r_min, r_max=config.df_r_max, n_grid=config.df_n_grid,
    )
    return df, df.sample(key, n_particles, r_max_sample=config.r_max_sample, n_speed=config.df_n_speed)


def _binding(df: ConstantBetaDF, w0) -> Float[Array, " n"]:
    """ε = Ψ(r) − v²/2 in the MW's monopole at −t_infall (positive: bound)."""
    r = jnp.linalg.norm(w0[:, :3], axis=1)
    return df.psi(r) - 0.5 * jnp.sum(w0[:, 3:] ** 2, axis=1)


def parked_stars(df: ConstantBetaDF, w0, config: SimulationConfig) -> Array:
    """The stars whose monopole apocentre lies inside ``config.park_radius`` (ε > Ψ(park_radius)):
    bound deep inside the Milky Way, far inside the summaries' volume (r_gal ≥ 30 kpc);
    all False when ``park_radius`` is None."""
    if config.park_radius is None:
        return jnp.zeros(w0.shape[:1], bool)
    return _binding(df, w0) > df.psi(config.park_radius)


def tracer_tolerances(df: ConstantBetaDF, w0, config: SimulationConfig) -> Float[Array, " n"]:
    """Per-star rtol: ``park_rtol`` for the parked stars (:func:`parked_stars`),
    ``inner_rtol`` for the other stars whose monopole apocentre lies inside ``inner_radius``
    (ε = Ψ(r) − v²/2 > Ψ(inner_radius)), ``middle_rtol`` for the others inside
    ``middle_radius`` (when set), ``tracer_rtol`` otherwise."""
    eps = _binding(df, w0)
    rtol = jnp.full(eps.shape, config.tracer_rtol, dtype=eps.dtype)
    if config.middle_radius is not None:
        rtol = jnp.where(eps > df.psi(config.middle_radius), config.middle_rtol, rtol)
    rtol = jnp.where(eps > df.psi(config.inner_radius), config.inner_rtol, rtol)
    return jnp.where(parked_stars(df, w0, config), config.park_rtol, rtol)


def tracer_step_budgets(df: ConstantBetaDF, w0, config: SimulationConfig) -> Array:
    """Per-star step budget of the error-controlled tracer solver: ``park_max_steps`` for the
    parked stars (:func:`parked_stars`), unlimited (2³¹ − 1) for the others. A parked star
    that needs more steps (a tightly bound orbit in the bulge's cusp, hundreds of orbital
    periods in 2.2 Gyr) is returned at the phase it reached when the budget ran out."""
    big = jnp.iinfo(jnp.int32).max
    return jnp.where(parked_stars(df, w0, config), jnp.int32(config.park_max_steps), jnp.int32(big))


def evolve_tracers(
    models: MWLMCModels, orbit: TwoBodyOrbit, w0, rtol, model: SimulationModel, config: SimulationConfig, devices,
    max_steps=None,
) -> tuple[Float[Array, "n 6"], Array]:
    """Stage 5: the stars from −t_infall to today in the MW-centred frame with the LMC's
    tidal force; ``rtol`` and ``max_steps`` per star (:func:`tracer_tolerances`,
    :func:`tracer_step_budgets`; used by the error-controlled solvers). **Returns:**
    ``(particles (n, 6) [kpc, km/s], steps per star)``."""
    if config.tracer_method in TRACER_TABLEAUX:
        solver = ErrorControlledRK(
            config.tracer_method, rtol=rtol, lanes=config.lanes, max_steps=max_steps, shrink=config.lane_shrink
        )
    else:
        solver = solver_from_method(config.tracer_method, config.tracer_dt)
    res = integrate_orbits(
        _tracer_milky_way(models.mw, config), w0, -model.t_infall, 0.0, solver=solver,
        extra_terms=(SatelliteInHostFrame(models.lmc, orbit),), force_dtype=config.force_dtype, devices=devices,
    )
    return res.w, res.n_steps


def _tracer_milky_way(mw: CompositePotential, config: SimulationConfig) -> CompositePotential:
    """The Milky Way whose force moves the tracers: ``mw`` with its spherical components
    (halo, bulge) as one table (:func:`~jaxgal.potentials.tabulate_spherical`, with
    ``config.table_cells_per_octave``), or else with its bulge's series in ``config.tracer_bulge_dtype`` (the
    same parameters; other components unchanged)."""
    if config.table_cells_per_octave is not None:
        return tabulate_spherical(mw, cells_per_octave=config.table_cells_per_octave)
    dtype = config.tracer_bulge_dtype
    if dtype is None or "bulge" not in mw.names:
        return mw
    comps = tuple(
        PowerLawCutoff(c.mass, c.alpha, c.r_c, series_dtype=dtype)
        if name == "bulge" and isinstance(c, PowerLawCutoff) else c
        for name, c in zip(mw.names, mw.components)
    )
    return CompositePotential(comps, mw.names)


def derived_quantities(
    models: MWLMCModels, theta: Theta, orbit: TwoBodyOrbit, ln_coulomb, n_steps, max_steps=None
) -> dict:
    """Stage 6: ``m_mw_50`` M_MW(<50 kpc) [Msun] (spherical average), ``m_lmc_50``
    M_LMC(<50 kpc) [Msun], ``m200`` [Msun], ``c200``, ``c200_clipped`` (bool), ``a_lmc``
    [kpc], ``ln_coulomb``, ``lambda_df``, ``mass_ratio`` M_LMC/M200, ``lmc_pericentre``
    [kpc], ``lmc_pericentre_time`` [Myr], ``max_tracer_steps``, and with the step budgets
    ``max_steps`` (:func:`tracer_step_budgets`) ``n_parked`` (stars with a budget) and
    ``n_parked_stopped`` (stars that used all of it: returned at the phase reached)."""
    m200 = 10.0**theta.log10_m200
    peri, t_peri = orbit.pericentre()
    r50 = jnp.asarray(50.0, dtype=m200.dtype)
    return {
        "m_mw_50": models.mw.mass_enclosed(r50),
        "m_lmc_50": models.lmc.m_enc(r50, 0.0),
        "m200": m200,
        "c200": models.c200,
        "c200_clipped": models.c200_clipped,
        "a_lmc": models.lmc.r_s,
        "ln_coulomb": ln_coulomb,
        "lambda_df": 10.0**theta.log10_lambda_df,
        "mass_ratio": theta.m_lmc / m200,
        "lmc_pericentre": peri,
        "lmc_pericentre_time": t_peri,
        "max_tracer_steps": jnp.max(n_steps),
    } | ({} if max_steps is None else {
        "n_parked": jnp.sum(max_steps < jnp.iinfo(jnp.int32).max),
        "n_parked_stopped": jnp.sum(n_steps >= max_steps),
    })
