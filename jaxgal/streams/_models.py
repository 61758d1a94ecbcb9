"""Mass models for the stream analysis: a McMillan (2017)-like comparison preset and the
halo + fixed-baryon models fitted to the accelerations.

``mcmillan_like()`` is an **approximation** of McMillan (2017)'s best-fitting model built from
jaxgal classes (there is no McMillan preset in ``jaxgal.potentials``):

- halo: NFW ρ0 = 0.00854 Msun/pc³, r_s = 19.6 kpc (M_s = 4π ρ0 r_s³ = 8.24×10¹¹ Msun);
- thin disc: exponential, Σ0 = 896 Msun/pc², R_d = 2.5 kpc, z_d = 0.3 kpc (3.52×10¹⁰ Msun);
- thick disc: Σ0 = 183 Msun/pc², R_d = 3.02 kpc, z_d = 0.9 kpc (1.05×10¹⁰ Msun);
  both as Smith et al. (2015) three-Miyamoto–Nagai discs (:class:`MN3ExponentialDisc`);
- gas (HI + H2): one exponential disc of 1.2×10¹⁰ Msun, R_d = 7 kpc, z_d = 0.085 kpc
  (the central holes of McMillan's gas discs are ignored);
- bulge: McMillan's r^−1.8 exp(−(r/2.1 kpc)²) bulge made spherical, 9.23×10⁹ Msun
  (:class:`PowerLawCutoff`; the 75 pc core and the q = 0.5 flattening are dropped).

At the GD-1 radii (12–16 kpc) the force is dominated by the halo and the discs' monopole, so
the differences from the exact McMillan model are a few per cent (not measured here).
"""

from __future__ import annotations

import numpy as np

from ..potentials import (
    NFW,
    CompositePotential,
    FlattenedNFW,
    MiyamotoNagai,
    MN3ExponentialDisc,
    MWPotential2014,
    PowerLawCutoff,
    TriaxialNFW,
)

__all__ = ["mcmillan_like", "mw2014_baryons", "flattened_halo_model", "triaxial_halo_model"]


def mcmillan_like() -> CompositePotential:
    """A McMillan (2017)-like Milky Way (module docstring; an approximation)."""
    rho0 = 0.00854e9  # Msun/kpc^3
    rs = 19.6
    thin = 2 * np.pi * 896e6 * 2.5**2
    thick = 2 * np.pi * 183e6 * 3.02**2
    return CompositePotential(
        (
            NFW(4 * np.pi * rho0 * rs**3, rs),
            MN3ExponentialDisc(thin, 2.5, 0.3, sech2_z=False),
            MN3ExponentialDisc(thick, 3.02, 0.9, sech2_z=False),
            MN3ExponentialDisc(1.2e10, 7.0, 0.085, sech2_z=False),
            PowerLawCutoff(9.23e9, 1.8, 2.1),
        ),
        ("halo", "thin_disc", "thick_disc", "gas", "bulge"),
    )


def mw2014_baryons(disc_scale=1.0):
    """(bulge, disc) of MWPotential2014, the disc mass multiplied by ``disc_scale``."""
    mw = MWPotential2014()
    d = mw["disc"]
    return mw["bulge"], MiyamotoNagai(d.mass * disc_scale, d.a, d.b)


def flattened_halo_model(log10_m_s, r_s, q_z, disc_scale=1.0, n_nodes: int = 24) -> CompositePotential:
    """MWPotential2014 bulge and disc (mass × ``disc_scale``) + density-flattened NFW."""
    bulge, disc = mw2014_baryons(disc_scale)
    return CompositePotential((bulge, disc, FlattenedNFW(10.0**log10_m_s, r_s, q_z, n_nodes=n_nodes)),
                              ("bulge", "disc", "halo"))


def triaxial_halo_model(log10_m_s, r_s, q_y, q_z, pitch, yaw, roll=0.0, n_nodes: int = 24,
                        disc_scale=1.0) -> CompositePotential:
    """MWPotential2014 bulge and disc (mass × ``disc_scale``) + triaxial NFW rotated by pitch,
    yaw (and roll) [deg]."""
    bulge, disc = mw2014_baryons(disc_scale)
    halo = TriaxialNFW(10.0**log10_m_s, r_s, q_y, q_z, pitch, yaw, roll, n_nodes=n_nodes)
    return CompositePotential((bulge, disc, halo), ("bulge", "disc", "halo"))
