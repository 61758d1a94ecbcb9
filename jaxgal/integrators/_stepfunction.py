"""The step-size function Ω(x; E) of the per-orbit adaptive integrator.

The adaptive integrator (``_adaptive.py``) takes steps Δt = σ / Ω at the midpoint of each
step, with σ a fixed fictitious step. Ω [1/Myr] is a function of the position and of the
orbit's initial energy E only (a constant per orbit), never of the current velocity, so
that the step is time-symmetric. It has two parts:

- **spherical**: Ω²_sph = (v_c²(r) + v_E²(r)) / (r² + r_soft²), with v_c² = r dΦ₀/dr and
  v_E² = max(2(E − Φ₀(r)), 0) the speed an orbit of energy E has at radius r, for the
  monopole Φ₀(r) of the potential (its spherical average at t₀). For a circular orbit
  Ω = √2 v_c/r (one step per ~π√2·σ radians); on a plunging orbit v_E/r, the inverse
  crossing time of the pericentre, which is what limits the step near a cusp.
- **discs**: a thin disc is crossed in ζ/v_z (ζ = √(z² + b²)), far faster than the orbital
  time, but its potential well is shallow, so its share of the energy error is
  ~(Δt v/ζ)⁴ · ν²ζ²/v² with ν² = ∂Φ_disc/∂z / z. Equating that to the spherical error
  gives Ω²_disc = w · (v_E/ζ)² · √(ν²ζ² / (v_c² + v_E²)), summed over the Miyamoto–Nagai
  discs the potential reports (:meth:`~jaxgal.potentials.AbstractPotential.thin_discs`)
  with weight w.

The monopole is a Chebyshev series in u = ln r on [ln 10⁻³, ln 10⁴] kpc (``n_cheb`` terms,
fitted once per integration from a 16 × 8 quadrature of Φ over the sphere), so one Ω costs
two short Clenshaw sums plus the disc terms — a fraction of a force evaluation. A floor
Ω_floor = |σ|/Δt_max caps the step at Δt_max.

The function only sets step sizes: any smooth positive Ω gives a correct integrator, so its
approximations (monopole of a flattened potential, discs centred at the origin, energy at
t₀ for a time-dependent potential) affect efficiency, never correctness.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import units as U
from ..potentials import AbstractPotential

__all__ = ["StepFunction"]

_U_LO, _U_HI = float(np.log(1e-3)), float(np.log(1e4))
_R_SOFT2 = 1e-6  # (1 pc)² softening of 1/r² [kpc²]

# Sphere quadrature for the monopole: Gauss–Legendre in cos θ × midpoint rule in φ.
_MU, _W_MU = np.polynomial.legendre.leggauss(16)
_PH = (np.arange(8) + 0.5) * (2 * np.pi / 8)
_DIRS = np.stack(
    [
        np.sqrt(1 - _MU[:, None] ** 2) * np.cos(_PH[None, :]),
        np.sqrt(1 - _MU[:, None] ** 2) * np.sin(_PH[None, :]),
        np.broadcast_to(_MU[:, None], (16, 8)),
    ],
    axis=-1,
).reshape(-1, 3)
_W_DIRS = np.broadcast_to(_W_MU[:, None] / 16.0, (16, 8)).reshape(-1)


def _cheb_derivative(c: np.ndarray, scale: float) -> np.ndarray:
    """Coefficients of d/du of a Chebyshev series on an interval of half-width 1/scale."""
    n = len(c)
    d = np.zeros(n)
    for j in range(n - 2, -1, -1):
        d[j] = (d[j + 2] if j + 2 < n else 0.0) + 2 * (j + 1) * c[j + 1]
    d[0] *= 0.5
    return d * scale


def _clenshaw(c: Array, s: Array) -> Array:
    b1 = jnp.zeros_like(s)
    b2 = jnp.zeros_like(s)
    for j in range(c.shape[0] - 1, 0, -1):
        b1, b2 = 2.0 * s * b1 - b2 + c[j], b1
    return s * b1 - b2 + c[0]


class StepFunction(eqx.Module):
    """Ω(x; E) [1/Myr] for the adaptive integrator; build with :meth:`from_potential`.

    Fields are arrays (leaves), so rebuilding it for a new potential does not recompile.
    """

    cheb: Float[Array, " n"]
    cheb_du: Float[Array, " n"]
    discs: tuple[tuple[Array, Array, Array], ...]
    disc_weight: Float[Array, ""]
    omega_floor2: Float[Array, ""]

    @classmethod
    def from_potential(
        cls,
        pot: AbstractPotential,
        t0=0.0,
        *,
        disc_weight=1.0,
        omega_floor=0.0,
        n_cheb: int = 16,
        dtype=None,
    ) -> "StepFunction":
        """Fit the monopole of ``pot`` at time ``t0`` and collect its discs.

        **Arguments:** `pot`; `t0` [Myr]; `disc_weight` w (0 switches the disc term off);
        `omega_floor` [1/Myr] (the step cap is |σ|/omega_floor); `n_cheb` terms; `dtype`.
        """
        dtype = dtype or jnp.result_type(float)
        k = np.arange(n_cheb)
        nodes = np.cos(np.pi * (k + 0.5) / n_cheb)
        u = 0.5 * (_U_HI - _U_LO) * nodes + 0.5 * (_U_HI + _U_LO)
        pts = jnp.asarray(np.exp(u)[:, None, None] * _DIRS[None], dtype=dtype).reshape(-1, 3)
        t = jnp.asarray(t0, dtype)
        phi = jax.vmap(lambda x: pot.phi(x, t))(pts).reshape(n_cheb, -1)
        phi0 = phi @ jnp.asarray(_W_DIRS, dtype=dtype)
        T = np.cos(np.outer(k, np.pi * (k + 0.5) / n_cheb)) * (2.0 / n_cheb)
        T[0] *= 0.5
        c = jnp.asarray(T, dtype=dtype) @ phi0
        # d/du through a fixed linear map, so the fit stays differentiable in pot's leaves.
        D = np.stack([_cheb_derivative(e, 2.0 / (_U_HI - _U_LO)) for e in np.eye(n_cheb)], axis=1)
        c_du = jnp.asarray(D, dtype=dtype) @ c
        discs = tuple(
            tuple(jnp.asarray(p, dtype=dtype) for p in group) for group in pot.thin_discs()
        )
        return cls(
            cheb=jax.lax.stop_gradient(c),
            cheb_du=jax.lax.stop_gradient(c_du),
            discs=jax.tree.map(jax.lax.stop_gradient, discs),
            disc_weight=jnp.asarray(disc_weight, dtype),
            omega_floor2=jnp.asarray(omega_floor, dtype) ** 2,
        )

    def monopole(self, r: Float[ArrayLike, ""]) -> tuple[Array, Array]:
        """(Φ₀(r) [kpc²/Myr²], v_c²(r) = dΦ₀/d ln r) from the Chebyshev fit."""
        u = jnp.clip(jnp.log(r), _U_LO, _U_HI)
        s = (2.0 * u - _U_LO - _U_HI) / (_U_HI - _U_LO)
        return _clenshaw(self.cheb, s), _clenshaw(self.cheb_du, s)

    def omega(self, x: Float[Array, "3"], energy: Float[ArrayLike, ""]) -> Float[Array, ""]:
        """Ω(x; E) [1/Myr] for one position x [kpc] and orbit energy E [kpc²/Myr²]."""
        r2 = jnp.sum(x * x) + _R_SOFT2
        phi0, vc2 = self.monopole(jnp.sqrt(r2))
        vc2 = jnp.maximum(vc2, 0.0)
        ve2 = jnp.maximum(2.0 * (energy - phi0), 0.0)
        speed2 = vc2 + ve2
        om2 = speed2 / r2 + self.omega_floor2
        if self.discs:
            R2 = x[0] * x[0] + x[1] * x[1]
            disc2 = 0.0
            for m, a, b in self.discs:
                zeta2 = x[2] * x[2] + b * b
                zeta = jnp.sqrt(zeta2)
                az = a + zeta
                D = R2 + az * az
                nu2 = jnp.maximum(jnp.sum(U.G * m * az / (D * jnp.sqrt(D))) / zeta, 0.0)
                disc2 = disc2 + (ve2 / zeta2) * jnp.sqrt(nu2 * zeta2 / (speed2 + 1e-30))
            om2 = om2 + self.disc_weight * disc2
        return jnp.sqrt(om2)
