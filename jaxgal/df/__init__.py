"""Equilibrium initial conditions for spherical tracers.

- :class:`ConstantBetaDF` (:func:`cuddeford_df`): the constant-anisotropy DF
  f(E, L) = f̂(E) L^(−2β) of Cuddeford (1991), inverted on a log-r grid in the monopole of
  any jaxgal potential (AGAMA's ``QuasiSpherical`` with r_a = ∞), with ``.sample``,
  ``.f``, ``.fhat``, ``.density``, ``.dispersions``;
- :func:`sample_stellar_halo`: the Brooks et al. stellar halo in one call;
- :func:`jeans_dispersions`: constant-β spherical Jeans σ_r, σ_t;
- tracer profiles: :class:`DoublePowerLaw`, :func:`stellar_halo_density`,
  :func:`hernquist_density`, and :class:`AbstractTracerDensity` to write new ones.

Units at the boundary: kpc, km/s, Msun; all of it is pure JAX (jit, vmap). The maths is in
``docs/df.md``.
"""

from ._cuddeford import ConstantBetaDF, DFConfig, cuddeford_df
from ._jeans import jeans_dispersions
from ._sampling import sample_df
from ._stellar_halo import sample_stellar_halo
from ._tracers import AbstractTracerDensity, DoublePowerLaw, hernquist_density, stellar_halo_density

__all__ = [
    "AbstractTracerDensity",
    "ConstantBetaDF",
    "DFConfig",
    "DoublePowerLaw",
    "cuddeford_df",
    "hernquist_density",
    "jeans_dispersions",
    "sample_df",
    "sample_stellar_halo",
    "stellar_halo_density",
]
