"""Named Milky Way models: the MW of Brooks et al. (``docs/potentials.md``), Bovy (2015)'s
MWPotential2014 and gala's MilkyWayPotential2022."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from .. import units as U
from ._base import CompositePotential
from ._disc import FittedExponentialDisc, MiyamotoNagai, MN3ExponentialDisc
from ._expdisc import ExponentialDisc
from ._spherical import NFW, Hernquist, PowerLawCutoff, _nfw_mu, r200_from_m200
from .._validation import is_concrete, warn_clipped
from ._validation import as_param, check_positive

__all__ = [
    "milky_way",
    "solve_c200",
    "lmc",
    "lmc_scale_radius",
    "MWPotential2014",
    "MilkyWayPotential2022",
]

#: Sun's distance from the Galactic centre (astropy v4.0 Galactocentric default) [kpc].
R_SUN = 8.122
#: Circular speed at R_SUN that fixes the paper's halo concentration [km/s].
V_CIRC_SUN = 235.0
#: Range of c200 searched by :func:`solve_c200`; outside it c200 is clipped and flagged.
C200_RANGE = (1.0, 60.0)
#: The LMC's dynamical mass inside 8.7 kpc (van der Marel & Kallivayalil 2014) [Msun, kpc].
LMC_M_INNER, LMC_R_INNER = 1.7e10, 8.7
#: Smallest LMC scale radius :func:`lmc_scale_radius` returns [kpc] (reached for M < 1.78e10).
LMC_A_FLOOR = 0.1
#: The representations of the paper's exponential disc that :func:`milky_way` offers.
DISC_MODELS = ("fit", "mn3", "exact")


def _paper_disc(disc: str = "mn3"):
    """The paper's disc (5×10¹⁰ Msun, h_R = 2.5 kpc, exponential h_z = 0.3 kpc) as
    ``"mn3"`` (default): Smith et al. (2015)'s fit :class:`MN3ExponentialDisc` (masses
    summing to 1.12 M; the disc of the shipped training suite); ``"fit"``:
    :class:`FittedExponentialDisc` (three Miyamoto–Nagai discs, total mass M, force within
    1.3 % of the exact disc's relative to the Milky Way's total force, negative midplane
    density beyond R = 27 kpc); ``"exact"``: the tabulated exact disc
    :class:`ExponentialDisc` (force within 1e-4; ~2× the cost per evaluation)."""
    if disc == "fit":
        return FittedExponentialDisc(5e10, 2.5, 0.3)
    if disc == "mn3":
        return MN3ExponentialDisc(5e10, 2.5, 0.3, sech2_z=False)
    if disc == "exact":
        return ExponentialDisc(5e10, 2.5, 0.3)
    raise ValueError(f"milky_way: disc must be one of {DISC_MODELS}; got {disc!r}")


def _paper_baryons(disc: str = "mn3") -> CompositePotential:
    """The paper's fixed stellar components (McMillan 2017 scales, Brooks et al. masses).

    - disc: exponential, 5×10¹⁰ Msun, h_R = 2.5 kpc, exponential h_z = 0.3 kpc, as
      :func:`_paper_disc` ``(disc)`` (default: :class:`MN3ExponentialDisc`);
    - bulge: spherical, 1.2×10¹⁰ Msun, ρ ∝ r^−1.8 exp(−r²/(2.1 kpc)²) — McMillan's
      bulge (1 + r/0.075 kpc)^−1.8 exp(−(r/2.1 kpc)²) made spherical, with its 75 pc core
      dropped (:class:`PowerLawCutoff`; changes v_c by < 0.1 % beyond 1 kpc).
    """
    bulge = PowerLawCutoff(1.2e10, 1.8, 2.1)
    disc = _paper_disc(disc)
    return CompositePotential((disc, bulge), ("disc", "bulge"))


def _vc2_halo(m200, c200, r, h0):
    r200 = r200_from_m200(m200, h0)
    return U.G * m200 * _nfw_mu(c200 * r / r200) / _nfw_mu(c200) / r


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _solve_c200_core(m200, vc2_target, r, h0, lo, hi):
    def f(c):
        return _vc2_halo(m200, c, r, h0) - vc2_target

    def body(_, lohi):
        a, b = lohi
        mid = 0.5 * (a + b)
        up = f(mid) < 0  # v_c grows with c: too little → search above
        return jnp.where(up, mid, a), jnp.where(up, b, mid)

    a, b = jax.lax.fori_loop(0, 80, body, (lo, hi))
    c = 0.5 * (a + b)
    return jnp.clip(c, lo, hi)


@_solve_c200_core.defjvp
def _solve_c200_jvp(r, h0, primals, tangents):
    # Implicit function theorem on F(c, m200, vc2) = v_halo²(c; m200) − vc2 = 0. At a
    # clipped end c does not move.
    m200, vc2_target, lo, hi = primals
    dm, dv, *_ = tangents
    c = _solve_c200_core(m200, vc2_target, r, h0, lo, hi)
    F_c = jax.jvp(lambda cc: _vc2_halo(m200, cc, r, h0), (c,), (jnp.ones_like(c),))[1]
    F_m = jax.jvp(lambda mm: _vc2_halo(mm, c, r, h0), (m200,), (jnp.ones_like(m200),))[1]
    inside = (c > lo) & (c < hi)
    dc = jnp.where(inside, (dv - F_m * dm) / F_c, 0.0)
    return c, dc


def solve_c200(
    m200,
    *,
    v_circ_sun: float = V_CIRC_SUN,
    r_sun: float = R_SUN,
    h0: float = U.H0_DEFAULT,
    c_range: tuple[float, float] = C200_RANGE,
    disc: str = "mn3",
) -> tuple[Float[Array, "*b"], Bool[Array, "*b"]]:
    """The c200 for which the paper's MW has v_circ(r_sun) = v_circ_sun (Brooks et al.).

    Solves v_halo²(R☉; M200, c200) + v_disc²(R☉) + v_bulge²(R☉) = v_circ_sun² by
    bisection in ``c_range`` (v_halo grows with c200 at fixed M200). Jit- and vmap-able;
    differentiable in ``m200`` by the implicit function theorem.

    **Arguments:** `m200` [Msun]; `v_circ_sun` [km/s]; `r_sun` [kpc]; `h0` [km/s/Mpc];
    `c_range`: the (min, max) c200 searched; `disc`: the disc model, as in :func:`milky_way`.

    **Returns:** ``(c200, clipped)``: the concentration, and a boolean array that is True
    where no c200 in the range solves the condition and c200 sits at a clipped end (low
    M200 needs c200 > max; high M200 overshoots even at min).
    """
    m200 = as_param(m200, "Msun", name="solve_c200: m200")
    check_positive("solve_c200", m200=m200)
    lo, hi = (jnp.full(jnp.shape(m200), c, dtype=m200.dtype) for c in c_range)
    bary = _paper_baryons(disc)
    r = float(r_sun)
    g_bary = bary._gradient(jnp.asarray([r, 0.0, 0.0], dtype=m200.dtype), 0.0)[0]
    vc2_target = jnp.broadcast_to((v_circ_sun * U.KMS_TO_KPC_MYR) ** 2 - r * g_bary, m200.shape)
    c = _solve_c200_core(m200, vc2_target, r, float(h0), lo, hi)
    f_lo = _vc2_halo(m200, lo, r, h0) - vc2_target
    f_hi = _vc2_halo(m200, hi, r, h0) - vc2_target
    clipped = (f_lo > 0) | (f_hi < 0)
    return c, clipped


def milky_way(
    m200=1e12, *, c200=None, h0: float = U.H0_DEFAULT, disc: str = "mn3", **solve_kwargs
) -> CompositePotential:
    """The rigid Milky Way of Brooks et al.: NFW halo + exponential disc + bulge.

    **Arguments:**

    - `m200`: halo M200 [Msun] (200 ρ_crit, H0 = 67.6 km/s/Mpc).
    - `c200`: halo concentration; by default solved with :func:`solve_c200` so that
      v_circ(8.122 kpc) = 235 km/s, clipped to [1, 60] where no value in that range does
      (a ``UserWarning`` is emitted then, for concrete ``m200``; under ``jit`` use the flag
      returned by :func:`solve_c200`).
    - `h0`: Hubble constant [km/s/Mpc].
    - `disc`: how the exponential disc is represented — ``"mn3"`` (default; Smith et al.
      2015's :class:`MN3ExponentialDisc`, whose masses sum to 1.12 M, so M_MW(<50 kpc) is
      1.35 % high at M200 = 1e12: the model of the shipped training suite and estimator),
      ``"fit"`` (:class:`FittedExponentialDisc`: three Miyamoto–Nagai discs with the right
      total mass, force within 1.3 % of the exact disc's relative to the total force inside
      100 kpc, M_MW(<50 kpc) 0.27 % high, at the three-disc cost; its midplane density is
      negative beyond R = 27 kpc) or ``"exact"`` (the tabulated :class:`ExponentialDisc`,
      force within 1e-4, ~2× the cost). c200 is solved with the same disc.
      ``docs/potentials.md`` compares them.
    - further keywords go to :func:`solve_c200`.

    **Returns:** a :class:`CompositePotential` with components ``"halo"``, ``"disc"``
    (5×10¹⁰ Msun, h_R = 2.5, h_z = 0.3 kpc) and ``"bulge"`` (1.2×10¹⁰ Msun); see
    ``_paper_baryons`` for the profiles.
    """
    if disc not in DISC_MODELS:
        raise ValueError(f"milky_way: disc must be one of {DISC_MODELS}; got {disc!r}")
    if c200 is None:
        c200, clipped = solve_c200(m200, h0=h0, disc=disc, **solve_kwargs)
        if is_concrete(clipped) and bool(np.any(np.asarray(clipped))):
            warn_clipped(
                f"milky_way: no c200 in {solve_kwargs.get('c_range', C200_RANGE)} gives v_c(R☉) = "
                f"{solve_kwargs.get('v_circ_sun', V_CIRC_SUN)} km/s for m200 = {np.asarray(m200)} Msun; c200 was "
                f"clipped to {np.asarray(c200)} (m200 is a mass in Msun, not its log10)"
            )
    halo = NFW.from_m200_c200(m200, c200, h0=h0)
    bary = _paper_baryons(disc)
    return CompositePotential((halo,) + bary.components, ("halo",) + bary.names)


def lmc_scale_radius(m_lmc, *, a_floor: float = LMC_A_FLOOR) -> Float[Array, "..."]:
    r"""Hernquist scale radius a [kpc] of an LMC of total mass ``m_lmc`` [Msun] (Brooks et al.).

    M(<8.7 kpc) = M r²/(r + a)² = 1.7×10¹⁰ Msun at r = 8.7 kpc gives

        a = 8.7 kpc · (√(M / 1.7×10¹⁰ Msun) − 1)

    (Brooks et al.; van der Marel & Kallivayalil 2014). For M ≤ 1.7×10¹⁰ Msun no a > 0
    satisfies it; ``a`` is then floored at ``a_floor`` (default 0.1 kpc, reached for
    M < 1.78×10¹⁰ Msun, below Table 1's prior 2.5×10¹⁰–5×10¹¹ Msun), which keeps a
    near-massless test LMC well defined. Jit-, vmap- and grad-able.
    """
    m = as_param(m_lmc, "Msun", name="lmc_scale_radius: m_lmc")
    check_positive("lmc_scale_radius", m_lmc=m)
    a = LMC_R_INNER * (jnp.sqrt(m / LMC_M_INNER) - 1.0)
    return jnp.maximum(a, a_floor)


def lmc(m_lmc, *, a_floor: float = LMC_A_FLOOR) -> Hernquist:
    """The LMC of Brooks et al.: a Hernquist sphere of total mass ``m_lmc`` [Msun] with the
    scale radius of :func:`lmc_scale_radius` (M(<8.7 kpc) = 1.7×10¹⁰ Msun)."""
    return Hernquist(m_lmc, lmc_scale_radius(m_lmc, a_floor=a_floor))


def _galpy_normalised_gm(fraction, radial_force_per_gm, r0=8.0, v0=220.0):
    """G·M [kpc³/Myr²] giving a radial force fraction·v0²/r0 at R0 (galpy's ``normalize``)."""
    v0 = v0 * U.KMS_TO_KPC_MYR
    return fraction * v0**2 / r0 / radial_force_per_gm


def MWPotential2014() -> CompositePotential:
    """Bovy (2015)'s MWPotential2014 (galpy), in physical units with R0 = 8 kpc, v0 = 220 km/s.

    Bulge: power law α = 1.8 with cutoff r_c = 1.9 kpc, 5 % of the radial force at R0;
    disc: Miyamoto–Nagai a = 3 kpc, b = 0.28 kpc, 60 %; halo: NFW r_s = 16 kpc, 35 %. The
    masses follow from those fractions exactly as in galpy, so the potential equals
    galpy's to round-off (tested).
    """
    r0 = 8.0
    # bulge: force per unit GM at r0 is P(3/2 − α/2, r0²/rc²)/r0²
    alpha, rc = 1.8, 1.9
    unit = PowerLawCutoff(1.0, alpha, rc)
    gm_b = _galpy_normalised_gm(0.05, unit._mass_r(jnp.asarray(r0)) / r0**2)
    # disc: R/(R² + (a + b)²)^{3/2}
    a, b = 3.0, 0.28
    gm_d = _galpy_normalised_gm(0.6, r0 / (r0**2 + (a + b) ** 2) ** 1.5)
    # halo: μ(r0/rs)/r0²
    rs = 16.0
    gm_h = _galpy_normalised_gm(0.35, _nfw_mu(r0 / rs) / r0**2)
    return CompositePotential(
        (
            PowerLawCutoff(gm_b / U.G, alpha, rc),
            MiyamotoNagai(gm_d / U.G, a, b),
            NFW(gm_h / U.G, rs),
        ),
        ("bulge", "disc", "halo"),
    )


def MilkyWayPotential2022() -> CompositePotential:
    """gala's MilkyWayPotential2022 (Price-Whelan et al.; disc fitted to Eilers et al. 2019).

    Disc: three-Miyamoto–Nagai exponential disc, 4.7717×10¹⁰ Msun, h_R = 2.6 kpc, sech²
    h_z = 0.3 kpc; bulge: Hernquist 5×10⁹ Msun, 1 kpc; nucleus: Hernquist 1.8142×10⁹ Msun,
    68.8867 pc; halo: NFW M_s = 5.5427×10¹¹ Msun, r_s = 15.626 kpc.
    """
    return CompositePotential(
        (
            MN3ExponentialDisc(4.7717e10, 2.6, 0.3, sech2_z=True),
            Hernquist(5e9, 1.0),
            Hernquist(1.8142e9, 0.0688867),
            NFW(5.5427e11, 15.626),
        ),
        ("disc", "bulge", "nucleus", "halo"),
    )
