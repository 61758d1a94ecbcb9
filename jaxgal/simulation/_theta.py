"""The 12 simulation parameters of Brooks et al. (Table 1), their priors and conversions.

Order (the columns of every ``theta`` array jaxgal writes or reads):

====  =================  ================================  ==========
 #    name               prior (Table 1)                   unit
====  =================  ================================  ==========
 0    log10_m200         U(10.5, 12.5)                     log10 Msun
 1    m_lmc              U(2.5e10, 5e11)                   Msun
 2    log10_lambda_df    U(−3, 1)                          —
 3    ra_lmc             U(72.5, 87.5)                     deg
 4    dec_lmc            U(−75, −65)                       deg
 5    d_lmc              N(49.6, 2)                        kpc
 6    vlos_lmc           N(262.2, 5)                       km/s
 7    pmra_lmc           N(1.9, 0.25)                      mas/yr
 8    pmdec_lmc          N(0.33, 0.25)                     mas/yr
 9    beta0              U(0, 0.85)                        —
10    r_dens             U(10, 20)                         kpc
11    gamma              U(3, 5)                           —
====  =================  ================================  ==========
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._validation import as_float_array, check_range

__all__ = [
    "Theta",
    "THETA_NAMES",
    "THETA_RANGES",
    "PRIOR",
    "FIDUCIAL_THETA",
    "FIDUCIAL_LMC_ICRS",
    "as_theta",
    "check_theta",
    "sample_prior",
    "log_prior",
]


class Theta(NamedTuple):
    """The 12 Table 1 parameters (a pytree: vmap over a batch of them). Units in the
    module docstring."""

    log10_m200: Float[Array, "..."]
    m_lmc: Float[Array, "..."]
    log10_lambda_df: Float[Array, "..."]
    ra_lmc: Float[Array, "..."]
    dec_lmc: Float[Array, "..."]
    d_lmc: Float[Array, "..."]
    vlos_lmc: Float[Array, "..."]
    pmra_lmc: Float[Array, "..."]
    pmdec_lmc: Float[Array, "..."]
    beta0: Float[Array, "..."]
    r_dens: Float[Array, "..."]
    gamma: Float[Array, "..."]

    def to_array(self) -> Float[Array, "... 12"]:
        """Stack into (..., 12) in Table 1 order."""
        return jnp.stack([jnp.asarray(v) for v in self], axis=-1)


THETA_NAMES: tuple[str, ...] = Theta._fields

#: Table 1 priors: ("uniform", lo, hi) or ("normal", mean, sd).
PRIOR: dict[str, tuple[str, float, float]] = {
    "log10_m200": ("uniform", 10.5, 12.5),
    "m_lmc": ("uniform", 2.5e10, 5e11),
    "log10_lambda_df": ("uniform", -3.0, 1.0),
    "ra_lmc": ("uniform", 72.5, 87.5),
    "dec_lmc": ("uniform", -75.0, -65.0),
    "d_lmc": ("normal", 49.6, 2.0),
    "vlos_lmc": ("normal", 262.2, 5.0),
    "pmra_lmc": ("normal", 1.9, 0.25),
    "pmdec_lmc": ("normal", 0.33, 0.25),
    "beta0": ("uniform", 0.0, 0.85),
    "r_dens": ("uniform", 10.0, 20.0),
    "gamma": ("uniform", 3.0, 5.0),
}

#: The present-day LMC (ICRS) whose astropy-default Galactocentric phase space is the
#: paper's fiducial x = (−0.6, −41.3, −27.1) kpc, v = (−63.9, −213.8, 206.6) km/s
#: (Brooks et al. §5, after Vasiliev et al. 2021): the inverse transform of those vectors,
#: rounded; it reproduces them to < 0.01 kpc and < 0.05 km/s.
FIDUCIAL_LMC_ICRS: dict[str, float] = {
    "ra_lmc": 81.059,
    "dec_lmc": -69.724,
    "d_lmc": 49.978,
    "vlos_lmc": 260.18,
    "pmra_lmc": 1.7999,
    "pmdec_lmc": 0.3516,
}

#: A fiducial θ near the paper's results: M200 = 10^12 Msun, M_LMC = 1.5×10¹¹ Msun,
#: λ_DF = 1, the fiducial LMC, β0 = 0.61, r_dens = 15 kpc, γ = 4.55 (Amarante et al. 2024).
FIDUCIAL_THETA: dict[str, float] = {
    "log10_m200": 12.0,
    "m_lmc": 1.5e11,
    "log10_lambda_df": 0.0,
    **FIDUCIAL_LMC_ICRS,
    "beta0": 0.61,
    "r_dens": 15.0,
    "gamma": 4.55,
}


def as_theta(theta) -> Theta:
    """A :class:`Theta` from a mapping with the 12 names, a (..., 12) array in Table 1
    order, or a :class:`Theta`. Raises naming missing or unknown keys, or a wrong shape.

    The fields are strongly typed arrays of the input's float dtype, whatever the form: a
    mapping of Python floats (weakly typed in JAX) and a NumPy row of the same values give
    the same abstract values, so a jitted consumer (``simulate``) traces and compiles once
    for both."""
    if isinstance(theta, Theta):
        return Theta(*(_strong(jnp.asarray(v)) for v in theta))
    if isinstance(theta, Mapping):
        missing = [k for k in THETA_NAMES if k not in theta]
        extra = [k for k in theta if k not in THETA_NAMES]
        if missing or extra:
            raise ValueError(
                f"theta needs exactly the Table 1 names {list(THETA_NAMES)}; missing {missing}, unknown {extra}"
            )
        return Theta(*(_strong(as_float_array(theta[k], f"theta[{k!r}]")) for k in THETA_NAMES))
    arr = as_float_array(theta, "theta")
    if arr.ndim == 0 or arr.shape[-1] != len(THETA_NAMES):
        raise ValueError(
            f"theta as an array needs a last axis of length 12 in the order {list(THETA_NAMES)}; got shape {arr.shape}"
        )
    arr = _strong(arr)
    return Theta(*(arr[..., i] for i in range(len(THETA_NAMES))))


def _strong(v):
    """``v`` without JAX's weak type (Python scalars are weak; the dtype is kept)."""
    return jnp.asarray(v, dtype=v.dtype)


#: The range :func:`check_theta` accepts for each parameter (unit; open/closed ends), wider
#: than the Table 1 prior but physical, and narrow enough that nothing overflows (a mass put
#: in the log field, 10**1e12, would): (lo, hi, unit, closed).
THETA_RANGES: dict[str, tuple[float, float, str, tuple[bool, bool]]] = {
    "log10_m200": (8.0, 15.0, "log10 Msun", (True, True)),
    "m_lmc": (0.0, 1e13, "Msun", (False, True)),
    "log10_lambda_df": (-10.0, 3.0, "(log10)", (True, True)),
    "ra_lmc": (-360.0, 720.0, "deg", (True, True)),
    "dec_lmc": (-90.0, 90.0, "deg", (True, True)),
    "d_lmc": (0.0, 1000.0, "kpc", (False, True)),
    "vlos_lmc": (-3000.0, 3000.0, "km/s", (True, True)),
    "pmra_lmc": (-100.0, 100.0, "mas/yr", (True, True)),
    "pmdec_lmc": (-100.0, 100.0, "mas/yr", (True, True)),
    "beta0": (0.0, 1.0, "", (True, False)),
    "r_dens": (0.0, 1000.0, "kpc", (False, True)),
    "gamma": (3.0, 20.0, "(finite tracer mass needs > 3)", (False, True)),
}


def check_theta(theta: Theta) -> None:
    """Raise ``ValueError`` naming the parameter, its accepted range (:data:`THETA_RANGES`)
    and the value for concrete parameters that are non-finite or out of range. Traced
    values are not checked (check them where they are concrete)."""
    for name, v in zip(THETA_NAMES, theta):
        lo, hi, unit, closed = THETA_RANGES[name]
        check_range(v, f"theta[{name!r}]", lo, hi, unit=unit, closed=closed)


def sample_prior(key, n: int) -> Float[Array, "n 12"]:
    """n draws from the Table 1 prior, (n, 12) in Table 1 order."""
    keys = jax.random.split(key, len(THETA_NAMES))
    cols = []
    for k, name in zip(keys, THETA_NAMES):
        kind, a, b = PRIOR[name]
        if kind == "uniform":
            cols.append(jax.random.uniform(k, (n,), minval=a, maxval=b))
        else:
            cols.append(a + b * jax.random.normal(k, (n,)))
    return jnp.stack(cols, axis=-1)


def log_prior(theta) -> Float[Array, "..."]:
    """log p(θ) under Table 1 (−inf outside the uniform ranges), for (..., 12) arrays or
    mappings."""
    th = as_theta(theta)
    total = 0.0
    for name, v in zip(THETA_NAMES, th):
        kind, a, b = PRIOR[name]
        if kind == "uniform":
            total = total + jnp.where((v >= a) & (v <= b), -jnp.log(b - a), -jnp.inf)
        else:
            total = total + jax.scipy.stats.norm.logpdf(v, a, b)
    return total
