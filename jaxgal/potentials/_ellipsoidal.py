r"""NFW haloes whose **density** is stratified on ellipsoids: the axisymmetric
:class:`FlattenedNFW` and the triaxial, arbitrarily oriented :class:`TriaxialNFW`.

Density (in the halo's principal frame x′ = (x′, y′, z′)):

    ρ(x′) = ρ_s / [(m/r_s)(1 + m/r_s)²],   m² = x′² + y′²/q_y² + z′²/q_z²,
    ρ_s = M_s / (4π r_s³),

so the profile along the x′ axis is exactly the spherical :class:`~jaxgal.potentials.NFW` with
the same ``m_s`` and ``r_s`` (axis lengths 1 : q_y : q_z, not normalised to constant volume),
and the mass inside the ellipsoid m < M is q_y q_z M_s [ln(1 + M/r_s) − (M/r_s)/(1 + M/r_s)].
This is galpy's ``TriaxialNFWPotential`` convention (b = q_y, c = q_z, a = r_s,
amp = M_s). It flattens the *density*, not the potential: a potential-flattened model
Φ(x, y, z/q) is a different (and, for small q, unphysical) model; see ``docs/potentials.md``.

Potential: the ellipsoidal (Chandrasekhar) integral, Binney & Tremaine (2008) eq. 2.140
with axes a_i = (1, q_y, q_z):

    Φ(x′) = −π G q_y q_z ∫₀^∞ [ψ(∞) − ψ(m(τ))] / Δ(τ) dτ,
    Δ(τ)² = Π_i (a_i² + τ),   m²(τ) = Σ_i x′_i² / (a_i² + τ),
    ψ(m) = ∫₀^{m²} ρ dm′² = 2 ρ_s r_s² (m/r_s)/(1 + m/r_s),
    ψ(∞) − ψ(m) = 2 ρ_s r_s² / (1 + m/r_s)             (finite for NFW).

Forces (differentiating under the integral; BT08 eq. 2.141):

    ∂Φ/∂x′_i = 2π G q_y q_z x′_i ∫₀^∞ ρ(m(τ)) / [(a_i² + τ) Δ(τ)] dτ.

Quadrature. With c² = min_i a_i² (the shortest axis) substitute u = c/√(c² + τ) ∈ (0, 1]:
a_i² + τ = E_i(u)/u² with E_i = c² + (a_i² − c²) u² ≥ c², dτ/Δ = 2c² du/√(E₁E₂E₃) and
m(u) = u √(Σ x′_i²/E_i). Then

    Φ = −(G M_s/r_s) q_y q_z c² ∫₀¹ du / [(1 + m/r_s) √(E₁E₂E₃)],
    ∂Φ/∂x′_i = (G M_s/r_s³) q_y q_z c² x′_i ∫₀¹ u² du / [(m/r_s)(1 + m/r_s)² E_i √(E₁E₂E₃)].

Far from the centre the factor 1/(1 + m/r_s) ≈ 1/(1 + A u), A = |x′|/(c r_s), has a pole just
outside the interval at u = −1/A. A second substitution u = [(1 + A)^w − 1]/A, w ∈ [0, 1]
(so du/(1 + A u) = ln(1 + A)/A dw) removes it: the spherical case becomes exact for any
node count, and the remaining integrand is smooth in w. The w integral uses an n-node
Gauss–Legendre rule (default n = 32). The substitution parameters (c, A) are held fixed
under differentiation (``lax.stop_gradient``): the exact integral does not depend on them,
so derivatives are the same quadrature applied to the differentiated integrand (autodiff of
Φ equals the analytic force integral to round-off).

Accuracy (max relative error of Φ / |∇Φ| against adaptive quadrature, points at
0.01–2000 kpc in random directions, r_s = 2–15 kpc):

    ====================  ==============  ==============  ==============
    axis ratios            n = 24          n = 32          n = 48
    ====================  ==============  ==============  ==============
    q ≥ 0.5 (any mix)      5e-14 / 2e-13   7e-16 / 1e-15   round-off
    q_y = q_z = 0.3        5e-12 / 3e-11   2e-15 / 2e-14   round-off
    q_y = q_z = 0.2        7e-11 / 2e-10   4e-14 / 3e-13   round-off
    q_y = 0.9, q_z = 0.1   2e-9 / 2e-8     1e-11 / 3e-11   1e-14 / 4e-15
    q_y, q_z = 2, 1.5      3e-14 / 1e-13   round-off       round-off
    ====================  ==============  ==============  ==============

(n = 16 gives ≤ 1e-8 for q ≥ 0.5 over the same range; the cost is about linear in n.) The slow test
``test_node_table_wide_sweep`` re-checks the n = 32 column.

Orientation (:class:`TriaxialNFW`): the principal axes are rotated by intrinsic
yaw–pitch–roll (Tait–Bryan z–y′–x″) angles,

    x = R x′,   R = R_z(yaw) · R_y(−pitch) · R_x(roll),

so the x′ axis (the major axis when q_y, q_z ≤ 1) points along (cos pitch cos yaw, cos pitch sin yaw, sin pitch):
``pitch`` is the elevation of the major axis above the Galactocentric x–y plane (positive
towards +z; the "tilt" of the GD-1 paper), ``yaw`` its azimuth measured from +x towards +y,
and ``roll`` a right-handed rotation of the (y′, z′) axes about the major axis (with roll = 0
the intermediate axis y′ lies in the Galactic plane, at azimuth yaw + 90°). Angles are in
degrees and stored in degrees (so ``jax.grad`` with respect to ``pitch`` is per degree).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import units as U
from ._base import AbstractPotential
from ._spherical import NFW
from ._validation import as_param, check_positive, check_range

__all__ = ["FlattenedNFW", "TriaxialNFW", "rotation_matrix_pitch_yaw_roll"]

#: Default number of Gauss–Legendre nodes of the ellipsoidal integral (see the module table).
DEFAULT_N_NODES = 32


@functools.lru_cache(maxsize=None)
def _gl_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [0, 1]."""
    t, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (t + 1.0), 0.5 * w


def rotation_matrix_pitch_yaw_roll(pitch, yaw, roll) -> Float[Array, "3 3"]:
    """R = R_z(yaw) R_y(−pitch) R_x(roll), angles in degrees; x_gal = R x_principal.

    The columns of R are the halo's principal axes x′, y′, z′ (major, intermediate, minor
    when 1 ≥ q_y ≥ q_z) in the Galactocentric frame; the first is
    (cos p cos y, cos p sin y, sin p).
    """
    p, y, r = (jnp.deg2rad(jnp.asarray(a)) for a in (pitch, yaw, roll))
    cp, sp = jnp.cos(p), jnp.sin(p)
    cy, sy = jnp.cos(y), jnp.sin(y)
    cr, sr = jnp.cos(r), jnp.sin(r)
    one, zero = jnp.ones_like(cp), jnp.zeros_like(cp)
    rz = jnp.array([[cy, -sy, zero], [sy, cy, zero], [zero, zero, one]])
    ry = jnp.array([[cp, zero, -sp], [zero, one, zero], [sp, zero, cp]])  # R_y(−pitch)
    rx = jnp.array([[one, zero, zero], [zero, cr, -sr], [zero, sr, cr]])
    return rz @ ry @ rx


def _safe_sqrt(x2):
    """√x for x ≥ 0 with a finite (zero) derivative at 0."""
    pos = x2 > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x2, 1.0)), 0.0)


def _nodes(xi2, q_y2, q_z2, n: int):
    """Quadrature nodes for one point, ``xi2`` = (x′/r_s)² (3,): returns c², u, w·du/dw and
    E_x, E_y, E_z at the nodes (each (n,)).

    ``c2`` and the map parameter A are constants under differentiation (the exact integral
    does not depend on them). The three axes are kept as separate arrays rather than one
    (3, n) array: XLA fuses that about twice as fast on CPU.
    """
    s, w = _gl_nodes(n)
    dtype = jnp.result_type(xi2, q_y2, q_z2)
    s = jnp.asarray(s, dtype)
    w = jnp.asarray(w, dtype)
    c2 = jax.lax.stop_gradient(jnp.minimum(1.0, jnp.minimum(q_y2, q_z2)))
    big_a = jax.lax.stop_gradient(jnp.sqrt((xi2[0] + xi2[1] + xi2[2]) / c2))
    # Below A ~ 1e-8 the map is the identity to double precision; keep A > 0 to avoid 0/0.
    big_a = jnp.maximum(big_a, 1e-8)
    log1pa = jnp.log1p(big_a)
    u = jnp.expm1(s * log1pa) / big_a
    wdu = w * (log1pa / big_a) * (1.0 + big_a * u)
    u2 = u * u
    e_x = c2 + (1.0 - c2) * u2
    e_y = c2 + (q_y2 - c2) * u2
    e_z = c2 + (q_z2 - c2) * u2
    return c2, u, wdu, e_x, e_y, e_z


def _ell_nfw_potential(xp, m_s, r_s, q_y, q_z, n: int):
    """Φ at one principal-frame point xp (kpc) → kpc²/Myr²."""
    xi2 = (xp / r_s) ** 2
    c2, u, wdu, e_x, e_y, e_z = _nodes(xi2, q_y * q_y, q_z * q_z, n)
    mm = u * _safe_sqrt(xi2[0] / e_x + xi2[1] / e_y + xi2[2] / e_z)  # m(u)/r_s
    integrand = wdu / ((1.0 + mm) * jnp.sqrt(e_x * e_y * e_z))
    return -U.G * m_s / r_s * q_y * q_z * c2 * jnp.sum(integrand)


def _ell_nfw_gradient(xp, m_s, r_s, q_y, q_z, n: int):
    """∇′Φ at one principal-frame point xp (kpc) → kpc/Myr² (principal-frame components)."""
    xi2 = (xp / r_s) ** 2
    c2, u, wdu, e_x, e_y, e_z = _nodes(xi2, q_y * q_y, q_z * q_z, n)
    rho2 = xi2[0] / e_x + xi2[1] / e_y + xi2[2] / e_z  # (m/(u r_s))²
    pos = rho2 > 0
    rho = jnp.sqrt(jnp.where(pos, rho2, 1.0))
    mm = u * rho
    # u² / [(m/r_s)(1 + m/r_s)²] = u / [ϱ (1 + u ϱ)²]; multiplied by x′_i, which is 0 where ϱ = 0.
    base = jnp.where(pos, wdu * u / (rho * (1.0 + mm) ** 2 * jnp.sqrt(e_x * e_y * e_z)), 0.0)
    ints = jnp.stack([jnp.sum(base / e_x), jnp.sum(base / e_y), jnp.sum(base / e_z)])
    return U.G * m_s / r_s**3 * q_y * q_z * c2 * xp * ints


def _ell_nfw_density(xp, m_s, r_s, q_y, q_z):
    """ρ(m) at one principal-frame point → Msun/kpc³ (∞ at the centre, like NFW)."""
    m = jnp.sqrt(xp[0] ** 2 + (xp[1] / q_y) ** 2 + (xp[2] / q_z) ** 2)
    s = m / r_s
    return m_s / (4.0 * jnp.pi * r_s**3) / (s * (1.0 + s) ** 2)


def _check_n_nodes(cls_name: str, n_nodes) -> int:
    if not isinstance(n_nodes, (int, np.integer)) or isinstance(n_nodes, bool) or n_nodes < 2:
        raise ValueError(f"{cls_name}: n_nodes must be an integer ≥ 2; got {n_nodes!r}")
    return int(n_nodes)


class FlattenedNFW(AbstractPotential):
    r"""Axisymmetric NFW halo with its **density** flattened along the Galactocentric z axis.

    ρ(R, z) = M_s / (4π r_s³) / [(m/r_s)(1 + m/r_s)²],  m² = R² + z²/q_z².

    The potential is the ellipsoidal integral of the module docstring (Gauss–Legendre with
    ``n_nodes`` nodes; relative error < 1e-13 for q_z ≥ 0.3 at the default 32). In the plane
    z = 0 the density equals the spherical NFW's with the same ``m_s`` and ``r_s``; the total
    mass inside the spheroid m < M is q_z M_s μ(M/r_s). q_z < 1 is oblate, q_z > 1 prolate.

    **Arguments:**

    - `m_s`: scale mass M_s = 4π ρ_s r_s³ [Msun] (as for :class:`NFW`).
    - `r_s`: scale radius [kpc].
    - `q_z`: density axis ratio z/R (> 0).
    - `n_nodes`: Gauss–Legendre nodes (static; default 32).
    """

    m_s: Float[Array, ""]
    r_s: Float[Array, ""]
    q_z: Float[Array, ""]
    n_nodes: int = eqx.field(static=True)

    def __init__(self, m_s, r_s, q_z=1.0, *, n_nodes: int = DEFAULT_N_NODES):
        self.m_s = as_param(m_s, "Msun", name="FlattenedNFW: m_s")
        self.r_s = as_param(r_s, "kpc", name="FlattenedNFW: r_s")
        self.q_z = as_param(q_z, name="FlattenedNFW: q_z")
        check_positive("FlattenedNFW", m_s=self.m_s, r_s=self.r_s, q_z=self.q_z)
        self.n_nodes = _check_n_nodes("FlattenedNFW", n_nodes)

    @classmethod
    def from_m200_c200(cls, m200, c200, q_z=1.0, h0: float = U.H0_DEFAULT, **kwargs) -> "FlattenedNFW":
        """``m_s`` and ``r_s`` of the spherical :meth:`NFW.from_m200_c200` (so the mass inside
        the spheroid m < r200 is q_z M200), flattened by ``q_z``."""
        sph = NFW.from_m200_c200(m200, c200, h0)
        return cls(sph.m_s, sph.r_s, q_z, **kwargs)

    def _potential(self, x, t):
        return _ell_nfw_potential(x, self.m_s, self.r_s, jnp.ones_like(self.q_z), self.q_z, self.n_nodes)

    def _gradient(self, x, t):
        return _ell_nfw_gradient(x, self.m_s, self.r_s, jnp.ones_like(self.q_z), self.q_z, self.n_nodes)

    def _density(self, x, t):
        return _ell_nfw_density(x, self.m_s, self.r_s, jnp.ones_like(self.q_z), self.q_z)


class TriaxialNFW(AbstractPotential):
    r"""Triaxial NFW halo with **density** stratified on rotated ellipsoids.

    ρ = M_s / (4π r_s³) / [(m/r_s)(1 + m/r_s)²],  m² = x′² + y′²/q_y² + z′²/q_z²,
    x′ = Rᵀ x,  R = R_z(yaw) R_y(−pitch) R_x(roll)

    (see the module docstring for the potential integral and the angle convention: the
    x′ axis, of length 1 in units of the ellipsoid, points along
    (cos pitch cos yaw, cos pitch sin yaw, sin pitch)). Nothing forces x′ to be the longest
    axis: q_y, q_z > 1 are allowed. With q_y = q_z = 1 this is :class:`NFW` for any angles.

    **Arguments:**

    - `m_s`: scale mass M_s = 4π ρ_s r_s³ [Msun] (as for :class:`NFW`).
    - `r_s`: scale radius [kpc] (along x′).
    - `q_y`, `q_z`: density axis ratios y′/x′ and z′/x′ (> 0).
    - `pitch`, `yaw`, `roll`: orientation [deg] (floats or angle Quantities), stored in degrees.
    - `n_nodes`: Gauss–Legendre nodes (static; default 32; < 1e-13 relative error for
      q ≥ 0.3).
    """

    m_s: Float[Array, ""]
    r_s: Float[Array, ""]
    q_y: Float[Array, ""]
    q_z: Float[Array, ""]
    pitch: Float[Array, ""]
    yaw: Float[Array, ""]
    roll: Float[Array, ""]
    n_nodes: int = eqx.field(static=True)

    def __init__(
        self,
        m_s,
        r_s,
        q_y=1.0,
        q_z=1.0,
        pitch=0.0,
        yaw=0.0,
        roll=0.0,
        *,
        n_nodes: int = DEFAULT_N_NODES,
    ):
        self.m_s = as_param(m_s, "Msun", name="TriaxialNFW: m_s")
        self.r_s = as_param(r_s, "kpc", name="TriaxialNFW: r_s")
        self.q_y = as_param(q_y, name="TriaxialNFW: q_y")
        self.q_z = as_param(q_z, name="TriaxialNFW: q_z")
        self.pitch = as_param(pitch, "deg", name="TriaxialNFW: pitch")
        self.yaw = as_param(yaw, "deg", name="TriaxialNFW: yaw")
        self.roll = as_param(roll, "deg", name="TriaxialNFW: roll")
        check_positive("TriaxialNFW", m_s=self.m_s, r_s=self.r_s, q_y=self.q_y, q_z=self.q_z)
        for name in ("pitch", "yaw", "roll"):
            check_range("TriaxialNFW", name, getattr(self, name), -np.inf, np.inf)
        self.n_nodes = _check_n_nodes("TriaxialNFW", n_nodes)

    @classmethod
    def from_m200_c200(
        cls, m200, c200, q_y=1.0, q_z=1.0, pitch=0.0, yaw=0.0, roll=0.0, h0: float = U.H0_DEFAULT, **kwargs
    ) -> "TriaxialNFW":
        """``m_s`` and ``r_s`` of the spherical :meth:`NFW.from_m200_c200` (so the mass inside
        the ellipsoid m < r200 is q_y q_z M200), with the given shape and orientation."""
        sph = NFW.from_m200_c200(m200, c200, h0)
        return cls(sph.m_s, sph.r_s, q_y, q_z, pitch, yaw, roll, **kwargs)

    def rotation_matrix(self) -> Float[Array, "3 3"]:
        """R with x_Galactocentric = R x_principal; its columns are the principal axes."""
        return rotation_matrix_pitch_yaw_roll(self.pitch, self.yaw, self.roll)

    def to_principal(self, x) -> Float[Array, "... 3"]:
        """Galactocentric positions (..., 3) [kpc] → the halo's principal frame, x′ = Rᵀ x."""
        return jnp.asarray(U.to_value(x, "kpc")) @ self.rotation_matrix()

    def _potential(self, x, t):
        xp = self.rotation_matrix().T @ x
        return _ell_nfw_potential(xp, self.m_s, self.r_s, self.q_y, self.q_z, self.n_nodes)

    def _gradient(self, x, t):
        rot = self.rotation_matrix()
        gp = _ell_nfw_gradient(rot.T @ x, self.m_s, self.r_s, self.q_y, self.q_z, self.n_nodes)
        return rot @ gp

    def _density(self, x, t):
        xp = self.rotation_matrix().T @ x
        return _ell_nfw_density(xp, self.m_s, self.r_s, self.q_y, self.q_z)
