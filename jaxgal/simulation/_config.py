"""What a simulation depends on besides θ: the model's fixed constants and the numerics.

- :class:`SimulationModel` — physical constants of the MW–LMC model that Table 1 does not
  vary (the MW's velocity dispersion in the friction, the Coulomb logarithm's b_max and
  softening, the Galactocentric frame, the infall time). Array leaves, so a simulation can
  be differentiated with respect to them and changing one does not recompile (except
  ``t_infall``, which sets the number of steps).
- :class:`SimulationConfig` — numerics and execution: solvers, steps, tolerances, grids,
  devices. All static: changing one recompiles.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._validation import as_float_array, check_finite_scalar, check_float_dtype, check_int, check_positive, check_power_of_two
from ..frames import GalactocentricFrame
from ..integrators import FIXED_STEP_METHODS
from ..potentials import DISC_MODELS

__all__ = ["SimulationModel", "SimulationConfig", "TRACER_TABLEAUX", "TRACER_TOLERANCES", "ORBIT_METHODS"]


def _dtype_name(dtype) -> str | None:
    """A float dtype's name (``jnp.float32`` and ``"float32"`` alike), ``"auto"`` or None."""
    if dtype is None or (isinstance(dtype, str) and dtype == "auto"):
        return dtype
    return check_float_dtype(dtype, "SimulationConfig: bulge_dtype", or_none=True).name


#: ``bulge_dtype="auto"`` keeps the bulge's series in float64 below this ``tracer_rtol``:
#: the float32 series' round-off, ~1e-6 of the bulge's force inside 9 kpc, is then not
#: far enough below the step control's tolerance.
BULGE_FLOAT32_MIN_RTOL = 1e-8

#: Each error-controlled tracer method's default (tracer_rtol, middle_rtol, inner_rtol, park_rtol): the
#: tolerances with which ``benchmarks/simulation.py --draws 20`` found every summary of four
#: sets of 20 prior draws within 0.2 Poisson errors of converged references
#: (``SimulationConfig``). Fixed-step methods ignore them and record dprkn6's.
TRACER_TOLERANCES = {
    "dprkn6": (1.5e-6, 5e-4, 5e-3, 3e-2),
    "dopri5": (3e-8, 1e-5, 1e-4, 1e-3),
    "tsit5": (3e-8, 1e-5, 1e-4, 1e-3),
    "dopri8": (3e-8, 1e-5, 1e-4, 1e-3),
}
_TOLERANCE_FIELDS = ("tracer_rtol", "middle_rtol", "inner_rtol", "park_rtol")
#: Tableaux of the error-controlled tracer solver (``SimulationConfig.tracer_method``): the
#: methods with validated tolerances.
TRACER_TABLEAUX = tuple(TRACER_TOLERANCES)
#: Solvers of the MW–LMC orbit (``SimulationConfig.orbit_method``).
ORBIT_METHODS = ("rk4", "leapfrog", "dopri8")


class SimulationModel(eqx.Module):
    """The fixed physical constants of the MW–LMC model (Brooks et al. values by default).

    **Arguments:**

    - `sigma_df` [km/s]: the MW's velocity dispersion in the dynamical friction (120,
      Vasiliev et al. 2021).
    - `b_max` [kpc], `softening_factor`: the Coulomb logarithm
      ln Λ = ln(b_max / (softening_factor · a_LMC)) (100, 1.6).
    - `frame`: the :class:`~jaxgal.frames.GalactocentricFrame` that places the present-day
      LMC (astropy's v4.0 defaults).
    - `t_infall` [Myr] (static: it sets the number of steps): how far back the halo starts
      (2200).
    - `disc` (static): the Milky Way's exponential disc, as ``milky_way(disc=…)``:
      ``"mn3"`` (default: Smith et al.'s three Miyamoto–Nagai discs, whose masses sum to
      1.12 M, so M_MW(<50 kpc) is 1.35 % high at M200 = 10¹²; the model of the shipped
      training suite and estimator), ``"fit"`` (three discs with the right total mass, force
      within 1.3 % of the exact disc's relative to the total force, M_MW(<50 kpc) 0.27 %
      high; the tracer stage costs what it does with ``"mn3"``) or ``"exact"`` (the paper's
      double-exponential disc, tabulated, force within 1e-4; the tracer stage ~5× as
      costly). c200 is solved with the same disc (``docs/simulation.md``, "The disc").

    ``sigma_df``, ``b_max``, ``softening_factor`` and the frame are differentiable leaves.
    """

    sigma_df: Float[Array, ""]
    b_max: Float[Array, ""]
    softening_factor: Float[Array, ""]
    frame: GalactocentricFrame
    t_infall: float = eqx.field(static=True)
    disc: str = eqx.field(static=True)

    def __init__(self, sigma_df=120.0, b_max=100.0, softening_factor=1.6, frame=None, t_infall=2200.0, disc="mn3"):
        self.sigma_df = check_positive(as_float_array(sigma_df, "SimulationModel: sigma_df", "km/s"), "SimulationModel: sigma_df", unit="km/s")
        self.b_max = check_positive(as_float_array(b_max, "SimulationModel: b_max", "kpc"), "SimulationModel: b_max", unit="kpc")
        self.softening_factor = check_positive(
            as_float_array(softening_factor, "SimulationModel: softening_factor"), "SimulationModel: softening_factor"
        )
        if frame is None:
            frame = GalactocentricFrame()
        if not isinstance(frame, GalactocentricFrame):
            raise TypeError(f"SimulationModel: frame must be a jaxgal.frames.GalactocentricFrame; got {type(frame).__name__}")
        self.frame = frame
        self.t_infall = check_finite_scalar(
            t_infall, "SimulationModel: t_infall", unit="Myr", lo=0.0, hi=13_800.0, closed=(False, True)
        )
        if disc not in DISC_MODELS:
            raise ValueError(f"SimulationModel: disc must be one of {DISC_MODELS}; got {disc!r}")
        self.disc = disc

    def as_dict(self) -> dict[str, Any]:
        """The constants as plain floats (for a suite's settings file); ``disc`` only when
        it is not the default (so that settings written before it existed still match)."""
        f = self.frame
        return ({} if self.disc == "mn3" else {"disc": self.disc}) | dict(
            sigma_df=float(self.sigma_df), b_max=float(self.b_max), softening_factor=float(self.softening_factor),
            t_infall=self.t_infall,
            frame=dict(
                galcen_distance=float(f.galcen_distance), z_sun=float(f.z_sun),
                galcen_v_sun=[float(v) for v in jnp.asarray(f.galcen_v_sun)], roll=float(f.roll),
                galcen_ra=float(f.galcen_ra), galcen_dec=float(f.galcen_dec),
            ),
        )


class SimulationConfig(eqx.Module):
    """Numerics and execution of :func:`~jaxgal.simulation.simulate` (all static: changing
    one recompiles).

    **MW–LMC orbit:** `orbit_method` (``"rk4"``, default; ``"leapfrog"`` with the friction
    by implicit midpoint; ``"dopri8"``: diffrax at rtol 1e-12), `orbit_dt` [Myr] (the
    output grid, 1.0; also the Hermite-interpolation grid of r_LMC(t)), `orbit_step` [Myr]
    (the integration step of the fixed-step methods; default ``orbit_dt``).

    **Tracers:** `tracer_method`: ``"dprkn6"`` (default since 2026-11-27: the
    Runge–Kutta–Nyström 6(4) pair, five force evaluations per step), ``"dopri5"`` (the
    default before), ``"tsit5"`` or ``"dopri8"``, with per-orbit error control at one rtol
    per star, by its monopole apocentre at −t_infall: `tracer_rtol` for the stars that can
    reach the summaries' 30–160 kpc, `middle_rtol` for those inside `middle_radius` [kpc]
    (30; None: no middle tier), `inner_rtol` for those inside `inner_radius` [kpc] (20:
    they never reach the summaries) and `park_rtol` for the parked stars (below). Left
    unset, the four take the method's own values (:data:`TRACER_TOLERANCES`; resolved when
    the config is made, so ``dataclasses.replace(config, tracer_method=…)`` keeps the old
    method's numbers: make a new ``SimulationConfig`` to change the method): the two
    pairs' error estimates differ (dprkn6's is of order 4 in h²·Σ e_x A), so the same
    number means other accuracies, and each method's values are those that
    ``benchmarks/simulation.py --draws 20`` validated: every summary of all four measured
    sets of 20 prior draws (2,000 and 20,000 stars, seeds 0 and 1) within 0.2 Poisson
    errors of a converged reference. dopri5 at (3e-8, 1e-5, 1e-4, 1e-3): worst 0.105 (at
    1e-7 outside, 0.204); dprkn6 at (1.5e-6, 5e-4, 5e-3, 3e-2): worst 0.147, with 24 % less
    CPU in the tracer stage and 0.74 s per simulation against dopri5's 0.86 s in one run
    (at four times those tolerances outside, 0.48: ``benchmarks/README.md``, "dprkn6 at
    its cost"). Middle stars lose their phase (up to ~1 kpc, ~18 km/s after 2.2 Gyr) but stay
    inside 1.25 × middle_radius; a few per 20,000 are at 30–33 kpc today and move single
    draws' summaries by ≤ 0.11 Poisson errors ("The middle tier"). Or a fixed-step method (``"leapfrog"``,
    ``"bm4"``, …) with step `tracer_dt` [Myr]. `lanes`: lanes of the error-controlled solver
    (None: automatic). `lane_shrink` (64): once the queue of stars is empty, the lanes
    still running are packed into 1/64 of the width, rounded down to a multiple of 8 (no
    packing below 8 lanes): the same results, a cheaper tail. Every narrower phase is
    another copy of the step in the compiled program; with the parked stars' budgets the
    tail is short, and 8 (1/8, then 1/64) ran no faster but compiled ~6 s longer
    (``benchmarks/README.md``, "The inner tier at 1e-4").
    **Parked stars**: with `park_radius` [kpc] set (default 10; None: off), stars whose
    monopole apocentre at −t_infall lies inside it are integrated at
    `park_rtol` (the method's: 3e-2 with dprkn6, 1e-3 with dopri5) and stop after `park_max_steps` (2000) steps, returned at the phase
    reached (``docs/simulation.md``, Throughput; the summaries' accuracy check is
    ``benchmarks/simulation.py --draws 20``). `force_dtype`: ``jnp.float32`` for mixed
    precision, the Milky Way's force on the tracers in float32 with a float64 state: the
    tracer stage is 20–27 % faster here and the summaries of 20 prior draws stay as close to
    the converged reference as with float64 forces, but single orbits lose accuracy (0.17
    km/s after 2.2 Gyr against a 0.1 km/s bound) and finite differences of the output turn
    noisy (a derivative checked against them misses by 4 %), so the default None keeps the
    forces in the state's dtype (``docs/simulation.md``, Throughput). `bulge_dtype`
    (``"auto"``: float32 unless an error-controlled `tracer_method` runs at `tracer_rtol`
    < 1e-8, where the series' float32 round-off would stall the step control; a dtype; or
    None: the state's dtype): the precision of the incomplete-gamma series
    that gives the bulge's M(<r) in the tracers' force (``PowerLawCutoff(series_dtype=)``):
    half the terms in float32 vectors, −16 % per dopri5 step here; the bulge's M(<r) is then
    within 4e-6 of float64 inside 9.4 kpc (r_c √20) and 1.1e-8 beyond, so the stars that
    reach the summaries feel a force error ≲ 1e-8 of the total, and the summaries of 20
    prior draws are as close to the converged reference as before (``benchmarks/README.md``,
    "The bulge's series in float32"); it applies only with `table_cells_per_octave` None.
    `table_cells_per_octave` (32; None: off): the Milky Way's spherical components (halo
    and bulge) act on the tracers through one :class:`~jaxgal.potentials.TabulatedSphericalPotential`
    of their M(<r), built in the state's precision from 1e-6 to 1e6 kpc with this many
    cells per octave of r² (a power of two): force within 3.7e-9 of the components' own,
    and one table row read by r²'s bits and one √ per evaluation instead of NFW's log1p and
    the bulge's series, 27 % less CPU per dopri5 step here, the summaries of 80 prior draws as close
    to the converged references as before (on a GPU, where arithmetic is cheap and each
    simulation of a batch reads its own 80 kB table, None may be faster: not measured;
    ``benchmarks/README.md``,
    "One table for the spherical components"). `devices`:
    devices to split the stars over (None: ``integrate_orbits``' default, all devices when
    each gets at least 1,024 stars; :func:`simulate_batch` splits simulations instead).

    **DF grid:** `df_n_grid` (256 log-r nodes), `df_r_min`, `df_r_max` [kpc] (1e-3, 1e4),
    `df_n_speed` (256 speed nodes per star), `r_max_sample` [kpc] (1000: stars are drawn
    within this radius).
    """

    orbit_method: str = eqx.field(static=True, default="rk4")
    orbit_dt: float = eqx.field(static=True, default=1.0)
    orbit_step: float | None = eqx.field(static=True, default=None)
    tracer_method: str = eqx.field(static=True, default="dprkn6")
    tracer_rtol: float | None = eqx.field(static=True, default=None)
    inner_radius: float = eqx.field(static=True, default=20.0)
    inner_rtol: float | None = eqx.field(static=True, default=None)
    middle_radius: float | None = eqx.field(static=True, default=30.0)
    middle_rtol: float | None = eqx.field(static=True, default=None)
    tracer_dt: float = eqx.field(static=True, default=1.0)
    park_radius: float | None = eqx.field(static=True, default=10.0)
    park_rtol: float | None = eqx.field(static=True, default=None)
    park_max_steps: int = eqx.field(static=True, default=2000)
    lanes: int | None = eqx.field(static=True, default=None)
    lane_shrink: int = eqx.field(static=True, default=64)
    force_dtype: Any = eqx.field(static=True, default=None)
    table_cells_per_octave: int | None = eqx.field(static=True, default=32)
    bulge_dtype: str | None = eqx.field(static=True, default="auto", converter=_dtype_name)
    devices: tuple | None = eqx.field(static=True, default=None)
    df_n_grid: int = eqx.field(static=True, default=256)
    df_r_min: float = eqx.field(static=True, default=1e-3)
    df_r_max: float = eqx.field(static=True, default=1e4)
    df_n_speed: int = eqx.field(static=True, default=256)
    r_max_sample: float = eqx.field(static=True, default=1e3)

    def __post_init__(self):
        # Tolerances left unset take the method's own (fixed-step methods: the default's).
        defaults = TRACER_TOLERANCES.get(self.tracer_method, TRACER_TOLERANCES["dprkn6"])
        for name, value in zip(_TOLERANCE_FIELDS, defaults):
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    @property
    def tracer_bulge_dtype(self) -> str | None:
        """The precision of the bulge's series in the tracers' force, with ``"auto"``
        resolved (``bulge_dtype``)."""
        if self.bulge_dtype != "auto":
            return self.bulge_dtype
        strict = self.tracer_method in TRACER_TABLEAUX and self.tracer_rtol < BULGE_FLOAT32_MIN_RTOL
        return None if strict else "float32"

    def __check_init__(self):
        if self.tracer_method not in TRACER_TABLEAUX and self.tracer_method not in FIXED_STEP_METHODS:
            raise ValueError(
                f"SimulationConfig: tracer_method must be one of {list(TRACER_TABLEAUX)} (error control) or a "
                f"fixed-step method {list(FIXED_STEP_METHODS)}; got {self.tracer_method!r}"
            )
        if self.orbit_method not in ORBIT_METHODS:
            raise ValueError(f"SimulationConfig: orbit_method must be one of {list(ORBIT_METHODS)}; got {self.orbit_method!r}")
        for name in ("orbit_dt", "tracer_rtol", "inner_radius", "inner_rtol", "park_rtol", "tracer_dt", "df_r_min", "r_max_sample"):
            check_finite_scalar(getattr(self, name), f"SimulationConfig: {name}", lo=0.0, closed=(False, True))
        if self.table_cells_per_octave is not None:
            check_power_of_two(self.table_cells_per_octave, "SimulationConfig: table_cells_per_octave")
        if self.orbit_step is not None:
            check_finite_scalar(self.orbit_step, "SimulationConfig: orbit_step", lo=0.0, closed=(False, True))
        if not self.df_r_max > self.df_r_min:
            raise ValueError(f"SimulationConfig: df_r_max must exceed df_r_min = {self.df_r_min} kpc; got {self.df_r_max}")
        check_int(self.df_n_grid, "SimulationConfig: df_n_grid", lo=16)
        check_int(self.df_n_speed, "SimulationConfig: df_n_speed", lo=2)
        if self.lanes is not None:
            check_int(self.lanes, "SimulationConfig: lanes")
        if self.park_radius is not None:
            check_finite_scalar(self.park_radius, "SimulationConfig: park_radius", lo=0.0, closed=(False, True))
        if self.middle_radius is not None:
            check_finite_scalar(self.middle_radius, "SimulationConfig: middle_radius", lo=0.0, closed=(False, True))
        check_finite_scalar(self.middle_rtol, "SimulationConfig: middle_rtol", lo=0.0, closed=(False, True))
        check_int(self.park_max_steps, "SimulationConfig: park_max_steps")
        check_int(self.lane_shrink, "SimulationConfig: lane_shrink")
