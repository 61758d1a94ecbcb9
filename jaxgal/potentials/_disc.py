"""Axisymmetric disc potentials: Miyamoto & Nagai (1975) and the three-disc approximation of an
exponential disc (Smith et al. 2015)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import units as U
from ._base import AbstractPotential
from ._validation import as_param, check_positive, check_range

__all__ = ["FittedExponentialDisc", "MiyamotoNagai", "MN3ExponentialDisc"]


class MiyamotoNagai(AbstractPotential):
    r"""Miyamoto & Nagai (1975) disc.

    Φ(R, z) = −G M / √(R² + (a + √(z² + b²))²).

    **Arguments:** `mass`: total mass M [Msun] (may be negative inside a sum of discs, as in
    the three-disc exponential approximation); `a`: radial scale [kpc] (≥ 0); `b`: vertical
    scale [kpc] (> 0).
    """

    mass: Float[Array, ""]
    a: Float[Array, ""]
    b: Float[Array, ""]

    def __init__(self, mass, a, b):
        self.mass = as_param(mass, "Msun", name="MiyamotoNagai: mass")
        self.a = as_param(a, "kpc", name="MiyamotoNagai: a")
        self.b = as_param(b, "kpc", name="MiyamotoNagai: b")
        check_positive("MiyamotoNagai", b=self.b)
        # a < 0 gives a negative density at large R (ρ ∝ a R² + ...): documented a ≥ 0.
        check_range("MiyamotoNagai", "a", self.a, 0.0, float("inf"))

    def _potential(self, x, t):
        return _mn_potential(self.mass, self.a, self.b, x)

    def _gradient(self, x, t):
        return _mn_sum_gradient(jnp.reshape(self.mass, (1,)), jnp.reshape(self.a, (1,)), self.b, x)

    def thin_discs(self):
        return ((jnp.atleast_1d(self.mass), jnp.atleast_1d(self.a), jnp.asarray(self.b)),)

    def _density(self, x, t):
        return _mn_density(self.mass, self.a, self.b, x)


def _mn_potential(mass, a, b, x):
    zb = jnp.sqrt(x[2] ** 2 + b**2)
    return -U.G * mass / jnp.sqrt(x[0] ** 2 + x[1] ** 2 + (a + zb) ** 2)


def _mn_sum_gradient(masses, a, b, x):
    """∇Φ of Σᵢ Miyamoto–Nagai(Mᵢ, aᵢ, b) with a common b, fused: one √(z² + b²) for all
    discs and, per disc, one √ and one division, D·√D instead of the fractional power
    D^{3/2} (which cost exp(1.5 log D) and made the three-disc exponential the most
    expensive component of a Milky Way force).

    ∂Φ/∂R = Σ G Mᵢ R / Dᵢ^{3/2},  ∂Φ/∂z = Σ G Mᵢ (aᵢ + ζ) z / (ζ Dᵢ^{3/2}),
    ζ = √(z² + b²), Dᵢ = R² + (aᵢ + ζ)².
    """
    R2 = x[0] * x[0] + x[1] * x[1]
    zb = jnp.sqrt(x[2] * x[2] + b * b)
    f_R = 0.0
    f_z = 0.0
    for i in range(masses.shape[0]):
        az = a[i] + zb
        D = R2 + az * az
        gm = (U.G * masses[i]) / (D * jnp.sqrt(D))
        f_R = f_R + gm
        f_z = f_z + gm * az
    return jnp.stack([f_R * x[0], f_R * x[1], f_z * x[2] / zb])


def _mn_density(mass, a, b, x):
    R2 = x[0] ** 2 + x[1] ** 2
    zb2 = x[2] ** 2 + b**2
    zb = jnp.sqrt(zb2)
    az2 = (a + zb) ** 2
    num = a * R2 + (a + 3.0 * zb) * az2
    return b**2 * mass / (4.0 * jnp.pi) * num / ((R2 + az2) ** 2.5 * zb2**1.5)


# Smith et al. (2015, MNRAS 448, 2934): the fit whose density is positive everywhere (good
# within ~5 h_R; galpy's ``posdens=True``, its "Table 2") and the fit that allows negative
# density (good to ~7–8 h_R): each row gives a quartic in b/h_R, highest power first, for
# (M1, M2, M3)/M and (a1, a2, a3)/h_R. Identical to gala's and galpy's coefficients (tested).
# Note the masses need not sum to M: at h_z/h_R = 0.12 they sum to 1.12 M (positive fit)
# and 0.90 M (negative fit), which sets the far-field error.
_MN3_K_POSITIVE = (
    (0.0036, -0.0330, 0.1117, -0.1335, 0.1749),
    (-0.0131, 0.1090, -0.3035, 0.2921, -5.7976),
    (-0.0048, 0.0454, -0.1425, 0.1012, 6.7120),
    (-0.0158, 0.0993, -0.2070, -0.7089, 0.6445),
    (-0.0319, 0.1514, -0.1279, -0.9325, 2.6836),
    (-0.0326, 0.1816, -0.2943, -0.6329, 2.3193),
)
_MN3_K_NEGATIVE = (
    (-0.0090, 0.0640, -0.1653, 0.1164, 1.9487),
    (0.0173, -0.0903, 0.0877, 0.2029, -1.3077),
    (-0.0051, 0.0287, -0.0361, -0.0544, 0.2242),
    (-0.0358, 0.2610, -0.6987, -0.1193, 2.0074),
    (-0.0830, 0.4992, -0.7967, -1.2966, 4.4441),
    (-0.0247, 0.1718, -0.4124, -0.5944, 0.7333),
)


class _ThreeMiyamotoNagai(AbstractPotential):
    """Three Miyamoto–Nagai discs with a common b, given by ``parameters()`` → (masses (3,),
    a (3,), b): potential, force (one fused kernel), density and thin-disc view shared by
    :class:`MN3ExponentialDisc` and :class:`FittedExponentialDisc`."""

    def _potential(self, x, t):
        m, a, b = self.parameters()
        return sum(_mn_potential(m[i], a[i], b, x) for i in range(3))

    def _gradient(self, x, t):
        m, a, b = self.parameters()
        return _mn_sum_gradient(m.astype(x.dtype), a.astype(x.dtype), b.astype(x.dtype), x)

    def thin_discs(self):
        m, a, b = self.parameters()
        return ((jnp.asarray(m), jnp.asarray(a), jnp.asarray(b)),)

    def _density(self, x, t):
        m, a, b = self.parameters()
        return sum(_mn_density(m[i], a[i], b, x) for i in range(3))


class MN3ExponentialDisc(_ThreeMiyamotoNagai):
    r"""Three Miyamoto–Nagai discs fitted to a double-exponential disc (Smith et al. 2015).

    Approximates ρ(R, z) ∝ exp(−R/h_R) · Z(z), with Z = exp(−|z|/h_z) (``sech2_z=False``)
    or sech²(z/(2 h_z)) (``sech2_z=True``, as gala's ``MN3ExponentialDiskPotential``). The
    common b and the three (Mᵢ, aᵢ) are Smith et al.'s polynomial fits in h_z/h_R, evaluated
    inside ``_potential`` so that gradients flow to `mass`, `h_R` and `h_z`.

    Its force error against the exact double-exponential disc is measured in
    ``tests/test_exponential_disc.py`` (h_R = 2.5, exponential h_z = 0.3 kpc, |z| ≤ 3 kpc):
    the ``positive_density`` fit is within 4 % for R ≤ 5 h_R (2 % for 2–10 kpc, |z| ≤ 1),
    but its three masses sum to 1.12 M, so beyond ~5 h_R the force is too strong by up to
    12 % (at 12 h_R); the negative-density fit stays within 5 % out to 12 h_R.

    **Arguments:** `mass`: total disc mass [Msun]; `h_R`: radial scale length [kpc];
    `h_z`: scale height [kpc]; `positive_density` (static): the fit with a positive density
    everywhere (default, as gala's ``positive_density=True`` and galpy's ``posdens=True``)
    or the one that allows negative density; `sech2_z` (static): vertical profile.
    """

    mass: Float[Array, ""]
    h_R: Float[Array, ""]
    h_z: Float[Array, ""]
    positive_density: bool = eqx.field(static=True)
    sech2_z: bool = eqx.field(static=True)

    def __init__(self, mass, h_R, h_z, *, positive_density: bool = True, sech2_z: bool = True):
        self.mass = as_param(mass, "Msun", name="MN3ExponentialDisc: mass")
        self.h_R = as_param(h_R, "kpc", name="MN3ExponentialDisc: h_R")
        self.h_z = as_param(h_z, "kpc", name="MN3ExponentialDisc: h_z")
        check_positive("MN3ExponentialDisc", mass=self.mass, h_R=self.h_R, h_z=self.h_z)
        self.positive_density = bool(positive_density)
        self.sech2_z = bool(sech2_z)

    def parameters(self):
        """The three Miyamoto–Nagai discs' (masses [Msun], a [kpc], b [kpc]); masses may be
        negative."""
        s = self.h_z / self.h_R
        if self.sech2_z:
            b_hR = -0.033 * s**3 + 0.262 * s**2 + 0.659 * s
        else:
            b_hR = -0.269 * s**3 + 1.08 * s**2 + 1.092 * s
        K = jnp.asarray(_MN3_K_POSITIVE if self.positive_density else _MN3_K_NEGATIVE, dtype=jnp.result_type(b_hR))
        p = K @ jnp.stack([b_hR**4, b_hR**3, b_hR**2, b_hR, jnp.ones_like(b_hR)])
        return p[:3] * self.mass, p[3:] * self.h_R, b_hR * self.h_R



#: Three Miyamoto–Nagai discs with a common b fitted to the exact exponential disc of
#: aspect z_d / r_d = 0.12 (exponential vertical profile; the Milky Way disc of Brooks et al.,
#: McMillan 2017's scales) with masses summing to M: (Mᵢ/M, aᵢ/r_d, b/r_d). Made by
#: ``scripts/fit_mw_disc.py`` (minimax force error relative to the Milky Way's total force).
_FIT_ASPECT = 0.12
_FIT_FRACTIONS = (-0.9978951441612055, 1.898092777215067, 0.09980236694613831)
_FIT_A = (3.9286380918408255, 1.7592713038909167, 0.46693369747172264)
_FIT_B = 0.14755100403915922


class FittedExponentialDisc(_ThreeMiyamotoNagai):
    r"""The exponential disc ρ = M/(4π r_d² z_d) e^{−R/r_d − |z|/z_d} of z_d / r_d = 0.12 as
    three Miyamoto–Nagai discs with a common b whose masses sum to M (so the far field and
    M(<r) at large r are right), fitted once to the exact disc's force
    (``docs/potentials.md``, "The fitted exponential disc").

    Same functional form, and so the same cost per force evaluation, as
    :class:`MN3ExponentialDisc`; unlike Smith et al. (2015)'s fit, whose masses sum to
    1.12 M at this aspect ratio, it has the right total mass, and its force is within 1.3 %
    of the exact disc's measured against the Milky Way's total force inside 100 kpc (see
    the doc for the map and for the error relative to the disc's own force).

    Differentiable in ``mass`` and in ``r_d`` (at fixed z_d / r_d: every length scales with
    r_d). Only the fitted shape is available: for any other aspect ratio or vertical
    profile use :class:`~jaxgal.potentials.ExponentialDisc` (the tabulated exact disc).

    **Arguments:** `mass`: total mass M [Msun]; `r_d`: scale length [kpc]; `z_d`: scale
    height [kpc] (concrete), z_d / r_d = 0.12 (to 1e-6 relative; default 0.12 · r_d).
    """

    mass: Float[Array, ""]
    r_d: Float[Array, ""]

    def __init__(self, mass, r_d, z_d=None):
        self.mass = as_param(mass, "Msun", name="FittedExponentialDisc: mass")
        self.r_d = as_param(r_d, "kpc", name="FittedExponentialDisc: r_d")
        check_positive("FittedExponentialDisc", mass=self.mass, r_d=self.r_d)
        if z_d is not None:
            z_d = U.to_value(z_d, "kpc")
            r_d = U.to_value(r_d, "kpc")
            try:
                aspect = float(z_d) / float(r_d)
            except Exception as err:  # traced values
                raise ValueError(
                    "FittedExponentialDisc: z_d must be concrete (the fit is for z_d / r_d = 0.12); "
                    "omit it to use 0.12 r_d"
                ) from err
            if not abs(aspect / _FIT_ASPECT - 1.0) < 1e-6:
                raise ValueError(
                    f"FittedExponentialDisc: z_d / r_d must be {_FIT_ASPECT} (the fitted shape); got "
                    f"{aspect:.6g}. Use jaxgal.potentials.ExponentialDisc for other shapes"
                )

    @property
    def z_d(self) -> Float[Array, ""]:
        """Scale height [kpc] = 0.12 r_d."""
        return _FIT_ASPECT * self.r_d

    def parameters(self):
        """The three Miyamoto–Nagai discs' (masses [Msun], a [kpc], b [kpc]); the masses
        sum to ``mass`` (one is negative)."""
        m = jnp.asarray(_FIT_FRACTIONS, dtype=self.mass.dtype) * self.mass
        a = jnp.asarray(_FIT_A, dtype=self.r_d.dtype) * self.r_d
        return m, a, _FIT_B * self.r_d

