"""The Brooks et al. stellar halo in one call: the DF of their tracer, sampled."""

from __future__ import annotations

from ._cuddeford import ConstantBetaDF
from ._tracers import stellar_halo_density

__all__ = ["sample_stellar_halo"]


def sample_stellar_halo(
    key,
    n: int,
    potential,
    beta0,
    r_dens,
    gamma,
    *,
    t=0.0,
    r_max_sample=1e3,
    n_speed: int = 256,
    **grid_kwargs,
):
    """The Brooks et al. stellar halo (their eq. 2): ``n`` stars of the tracer
    ν ∝ (r/r_dens)⁻¹ (1 + r/r_dens)^(1−γ) drawn from the constant-β DF in the monopole of
    ``potential`` (e.g. ``jaxgal.potentials.milky_way(m200)``).

    **Arguments:** `key`; `n` (static); `potential`; `beta0` ∈ [0, 0.85] (Table 1);
    `r_dens` [kpc] (Table 1: 10–20); `gamma`: outer slope (Table 1: 3–5); `t` [Myr]: the
    potential's time; `r_max_sample` [kpc]; `n_speed`; further keywords (``r_min``,
    ``r_max``, ``n_grid``, ``n_gl``) go to :meth:`ConstantBetaDF.build`.

    Jit-able and vmappable over (key, beta0, r_dens, gamma, potential parameters).

    **Returns:** (n, 6) array: x, y, z [kpc], vx, vy, vz [km/s], centred on the MW.
    """
    df = ConstantBetaDF.build(potential, stellar_halo_density(r_dens, gamma), beta0, t=t, **grid_kwargs)
    return df.sample(key, n, r_max_sample=r_max_sample, n_speed=n_speed)
