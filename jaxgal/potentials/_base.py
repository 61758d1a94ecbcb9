"""The abstract potential (one method to implement, everything else derived) and sums of
potentials.

Three levels (``docs/conventions.md``):

- **hooks** a subclass implements, for one position ``x`` (3,) [kpc] at time ``t`` [Myr] in
  internal units: ``_potential`` (required, Φ in kpc²/Myr²); optionally ``_gradient``,
  ``_density`` and ``_mass_enclosed`` with analytic forms, tested against autodiff of
  ``_potential`` by the potential registry (``tests/potentials/``);
- the **engine interface** other packages call inside jit, one point, internal units:
  :meth:`~AbstractPotential.phi`, :meth:`~AbstractPotential.grad_phi`,
  :meth:`~AbstractPotential.hess_phi`, :meth:`~AbstractPotential.rho`,
  :meth:`~AbstractPotential.m_enc`, :meth:`~AbstractPotential.thin_discs`;
- the **public methods** (``potential``, ``gradient``, ``acceleration``, ``hessian``,
  ``density``, ``circular_velocity``, ``mass_enclosed``) for positions of any leading batch
  shape (..., 3) in kpc (or astropy Quantities), vectorised with ``jax.vmap``, in public
  units: Φ in (km/s)², accelerations in km/s/Myr, densities in Msun/kpc³, speeds in km/s,
  masses in Msun. They check their inputs and then run as one compiled program per
  potential structure, method and input shape (``_evaluate``), so an eager call in a
  notebook costs what a jitted one does.

The maths (Poisson's equation, Gauss's theorem for M(<r)) is in ``docs/potentials.md``.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import units as U
from .._custom_types import RealScalarLike
from .._validation import as_float_array, check_range

__all__ = ["AbstractPotential", "AbstractSphericalPotential", "CompositePotential", "safe_norm"]


def squared_norm(x: Float[Array, "3"]) -> Float[Array, ""]:
    """|x|² of one point as x₀² + x₁² + x₂²: elementwise arithmetic, which XLA fuses with the
    force around it, where ``jnp.sum(x * x)`` is a reduction that ends a fused kernel (under
    the integrators' vmap every reduction of a force became a kernel of its own)."""
    return x[0] * x[0] + x[1] * x[1] + x[2] * x[2]


def safe_norm(x: Float[Array, "3"]) -> Float[Array, ""]:
    """|x| with a finite (zero) gradient at the origin instead of NaN."""
    r2 = squared_norm(x)
    safe = r2 > 0
    return jnp.where(safe, jnp.sqrt(jnp.where(safe, r2, 1.0)), 0.0)


def _as_positions(x) -> Array:
    x = as_float_array(x, "x (positions)", "kpc")
    if x.ndim == 0 or x.shape[-1] != 3:
        raise ValueError(f"positions x must have shape (..., 3) in kpc; got shape {x.shape}")
    return x


def _as_radii(r) -> Array:
    """Radii [kpc]: finite and ≥ 0 (concrete values are checked)."""
    r = as_float_array(r, "r (radius)", "kpc")
    return check_range(r, "r (radius)", 0.0, unit="kpc")


def _times_for(batch: tuple[int, ...], dtype, t) -> Array:
    """Times [Myr] checked (finite), in ``dtype``, broadcast to the batch shape of the
    positions or radii."""
    t = check_range(as_float_array(t, "t (time)", "Myr"), "t (time)", unit="Myr").astype(dtype)
    try:
        return jnp.broadcast_to(t, batch)
    except ValueError as err:
        raise ValueError(
            f"t of shape {t.shape} does not broadcast to the positions' batch shape {batch}"
        ) from err


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces: tests assert one program per structure
def _evaluate(pot: "AbstractPotential", hook: str, points: Array, t: Array, scale: float) -> Array:
    """The single-point ``pot.<hook>(point, t)`` over every index of the times ``t``'s
    shape (positions ``points`` (*t.shape, 3) or radii (*t.shape)), with vmap, divided by
    ``scale``: **one compiled program** per potential structure, hook and input shape.

    The public methods validate their inputs (concrete values) and then call this. Run
    eagerly, the vmapped hook would dispatch, and the first time compile, every primitive
    on its own: a Milky Way's force at 100 points took 2.8–2.9 s the first time and 88–103
    ms every time after, against 0.6 s and 0.9 ms compiled whole
    (``benchmarks/compile_cost.py``). Inside a user's ``jit``, ``grad`` or ``vmap`` it is inlined like any nested
    jit."""
    batch = t.shape
    out = jax.vmap(getattr(pot, hook))(points.reshape((-1,) + points.shape[t.ndim:]), t.reshape(-1))
    return (out / scale).reshape(batch + out.shape[1:])


# Nodes for the spherical average used by ``mass_enclosed``: Gauss–Legendre in t ∈ [−1, 1]
# with cos θ = sinh(k t)/sinh(k), which packs nodes 15× closer near the plane (θ = 90°),
# where a thin disc's force varies on the scale b/r, times the trapezoid rule in φ (exact
# for azimuthal harmonics below n_phi). Relative error < 1e-9 for a Miyamoto–Nagai disc with
# b = 0.28 kpc at r = 0.5–100 kpc (checked against 800 plain Gauss–Legendre nodes).
_N_MU, _N_PHI, _K_MU = 48, 12, 6.0
_T, _W_T = np.polynomial.legendre.leggauss(_N_MU)
_MU = np.sinh(_K_MU * _T) / np.sinh(_K_MU)
_W_MU = _W_T * _K_MU * np.cosh(_K_MU * _T) / np.sinh(_K_MU)
_PHI = (np.arange(_N_PHI) + 0.5) * (2 * np.pi / _N_PHI)
_SPHERE_DIRS = np.stack(
    [
        np.sqrt(1 - _MU[:, None] ** 2) * np.cos(_PHI[None, :]),
        np.sqrt(1 - _MU[:, None] ** 2) * np.sin(_PHI[None, :]),
        np.broadcast_to(_MU[:, None], (_N_MU, _N_PHI)),
    ],
    axis=-1,
).reshape(-1, 3)
_SPHERE_W = (np.broadcast_to(_W_MU[:, None], (_N_MU, _N_PHI)) / (2.0 * _N_PHI)).reshape(-1)


class AbstractPotential(eqx.Module):
    """A gravitational potential Φ(x, t): the base of every jaxgal potential.

    Subclasses implement ``_potential(x, t)`` for one position (kpc, shape (3,)) and one
    time (Myr) and return Φ in kpc²/Myr². Every parameter is an array leaf, so
    ``jax.grad`` with respect to a mass or a scale radius works through any method.
    """

    # ---- implementation hooks: one point, internal units ------------------------------
    @abc.abstractmethod
    def _potential(self, x: Float[Array, "3"], t: RealScalarLike) -> Float[Array, ""]:
        """Φ(x, t) in kpc²/Myr² for one position x (kpc) at time t (Myr)."""

    def _gradient(self, x: Float[Array, "3"], t: RealScalarLike) -> Float[Array, "3"]:
        """∇Φ in kpc/Myr² (autodiff unless overridden by an analytic form)."""
        return jax.grad(self._potential)(x, t)

    def _hessian(self, x: Float[Array, "3"], t: RealScalarLike) -> Float[Array, "3 3"]:
        """∂²Φ/∂xᵢ∂xⱼ in Myr⁻² (forward-over-reverse autodiff of the gradient)."""
        return jax.jacfwd(self._gradient)(x, t)

    def _density(self, x: Float[Array, "3"], t: RealScalarLike) -> Float[Array, ""]:
        """ρ = ∇²Φ / (4πG) in Msun/kpc³ (Poisson's equation, autodiff unless overridden)."""
        return jnp.trace(self._hessian(x, t)) / (4.0 * jnp.pi * U.G)

    def _mass_enclosed(self, r: Float[ArrayLike, ""], t: RealScalarLike) -> Float[Array, ""]:
        """M(<r) = r² ⟨∂Φ/∂r⟩ / G by Gauss's theorem, the mean over the sphere of radius r.

        The spherical average uses 48 nodes in cos θ (clustered towards the plane) × 12 in
        φ; spherical potentials override it with the closed form.
        """
        dirs = jnp.asarray(_SPHERE_DIRS, dtype=jnp.result_type(r, float))
        w = jnp.asarray(_SPHERE_W, dtype=dirs.dtype)
        grads = jax.vmap(lambda n: self._gradient(r * n, t))(dirs)
        radial = jnp.sum(grads * dirs, axis=-1)
        return r * r * jnp.sum(w * radial) / U.G

    def _circular_speed(self, r: Float[ArrayLike, ""], t: RealScalarLike) -> Float[Array, ""]:
        """v_c = √(R ∂Φ/∂R) in kpc/Myr at (r, 0, 0) (not a hook: derived from ``_gradient``)."""
        return jnp.sqrt(r * self._gradient(jnp.stack([r, jnp.zeros_like(r), jnp.zeros_like(r)]), t)[0])

    # ---- the engine interface: one point, internal units ----------------------------
    # What integrators, distribution functions and other jaxgal packages call inside jit
    # (they vmap it themselves). Final methods: subclasses implement the hooks above.
    def phi(self, x: Float[Array, "3"], t: RealScalarLike) -> Float[Array, ""]:
        """Φ(x, t) [kpc²/Myr²] for one position x (3,) [kpc] at time t [Myr]."""
        return self._potential(x, t)

    def grad_phi(self, x: Float[Array, "3"], t: RealScalarLike) -> Float[Array, "3"]:
        """∇Φ(x, t) [kpc/Myr²] for one position: the force evaluation every integrator
        uses (minus the acceleration); each potential's fastest exact form."""
        return self._gradient(x, t)

    def hess_phi(self, x: Float[Array, "3"], t: RealScalarLike) -> Float[Array, "3 3"]:
        """∂²Φ/∂xᵢ∂xⱼ [Myr⁻²] for one position."""
        return self._hessian(x, t)

    def rho(self, x: Float[Array, "3"], t: RealScalarLike) -> Float[Array, ""]:
        """Mass density ρ(x, t) [Msun/kpc³] for one position."""
        return self._density(x, t)

    def m_enc(self, r: Float[ArrayLike, ""], t: RealScalarLike) -> Float[Array, ""]:
        """M(<r) [Msun] within the sphere of radius r [kpc] (one radius): the closed form
        for spherical potentials, Gauss's theorem on the spherically averaged radial force
        otherwise."""
        return self._mass_enclosed(r, t)

    def thin_discs(self) -> tuple[tuple[Array, Array, Array], ...]:
        """The Miyamoto–Nagai discs this potential contains, as groups ``(masses (k,) [Msun],
        a (k,) [kpc], b [kpc])`` sharing one b. Used only to choose adaptive step sizes
        (a thin disc is crossed much faster than an orbit turns); () for potentials without
        one."""
        return ()

    # ---- public, any batch shape, public units ----------------------------------------
    def _at_positions(self, hook: str, x, t, scale: float) -> Array:
        """A public method's evaluation: positions ``x`` (..., 3) [kpc] and times ``t`` [Myr]
        checked, then the single-point ``hook`` compiled over them, divided by ``scale``."""
        x = _as_positions(x)
        return _evaluate(self, hook, x, _times_for(x.shape[:-1], x.dtype, t), scale)

    def _at_radii(self, hook: str, r, t, scale: float) -> Array:
        """:meth:`_at_positions` for radii ``r`` (...) [kpc] (finite, ≥ 0)."""
        r = _as_radii(r)
        return _evaluate(self, hook, r, _times_for(r.shape, r.dtype, t), scale)

    def potential(self, x, t=0.0) -> Float[Array, "..."]:
        """Φ at positions ``x`` (..., 3) [kpc] and time ``t`` [Myr] → (..., ) [(km/s)²]."""
        return self._at_positions("_potential", x, t, U.KMS2_TO_KPC2_MYR2)

    def gradient(self, x, t=0.0) -> Float[Array, "... 3"]:
        """∇Φ at ``x`` (..., 3) [kpc] → (..., 3) [km/s/Myr]."""
        return self._at_positions("_gradient", x, t, U.KMS_TO_KPC_MYR)

    def acceleration(self, x, t=0.0) -> Float[Array, "... 3"]:
        """−∇Φ at ``x`` (..., 3) [kpc] and ``t`` [Myr] → (..., 3) [km/s/Myr]."""
        return self._at_positions("_gradient", x, t, -U.KMS_TO_KPC_MYR)

    def hessian(self, x, t=0.0) -> Float[Array, "... 3 3"]:
        """∂²Φ/∂xᵢ∂xⱼ at ``x`` (..., 3) [kpc] → (..., 3, 3) [(km/s)²/kpc²]."""
        return self._at_positions("_hessian", x, t, U.KMS2_TO_KPC2_MYR2)

    def density(self, x, t=0.0) -> Float[Array, "..."]:
        """Mass density ρ = ∇²Φ/4πG at ``x`` (..., 3) [kpc] → (...,) [Msun/kpc³]."""
        return self._at_positions("_density", x, t, 1.0)

    def circular_velocity(self, r, t=0.0) -> Float[Array, "..."]:
        """Circular speed v_c = √(R ∂Φ/∂R) in the plane z = 0 along the x axis.

        **Arguments:** ``r``: cylindrical radius [kpc] (finite, ≥ 0), any shape; ``t`` [Myr].

        **Returns:** v_c [km/s], the shape of ``r``. Where the potential is not
        axisymmetric this is the value on the x axis. Where ∂Φ/∂R < 0 (no circular orbit)
        the result is NaN.
        """
        return self._at_radii("_circular_speed", r, t, U.KMS_TO_KPC_MYR)

    def mass_enclosed(self, r, t=0.0) -> Float[Array, "..."]:
        """Mass within the sphere of radius ``r`` [kpc], from the spherically averaged
        radial force (Gauss's theorem) → [Msun], the shape of ``r`` (finite, ≥ 0)."""
        return self._at_radii("_mass_enclosed", r, t, 1.0)

    def __add__(self, other: "AbstractPotential") -> "CompositePotential":
        """``a + b``: a flat :class:`CompositePotential` of both."""
        return CompositePotential.of(self, other)


class AbstractSphericalPotential(AbstractPotential):
    """A spherical potential Φ(r): subclasses implement ``_potential_r(r)`` [kpc → kpc²/Myr²]
    and ``_mass_r(r)`` [kpc → Msun], the mass inside r (used for the exact ``mass_enclosed``)."""

    @abc.abstractmethod
    def _potential_r(self, r: Float[ArrayLike, ""]) -> Float[Array, ""]:
        """Φ(r) in kpc²/Myr²."""

    @abc.abstractmethod
    def _mass_r(self, r: Float[ArrayLike, ""]) -> Float[Array, ""]:
        """M(<r) in Msun."""

    def _potential(self, x, t):
        return self._potential_r(safe_norm(x))

    def _gradient(self, x, t):
        # ∇Φ = G M(<r) x / r³; finite (zero) at the origin. 1/r³ as rsqrt(r²)³: its tangent
        # never forms r⁶ (the quotient rule's denominator), which underflows in float32
        # for r < 1e-6 kpc and made forward-mode tangents of float32 forces infinite.
        # r for M(<r) is its own √ rather than r² · (1/r): each of the two then has a single
        # user, and XLA:CPU fuses the force into one kernel (a costly value with two users is
        # left a kernel of its own, as the profile of the lane loop showed).
        r2 = squared_norm(x)
        safe = r2 > 0
        r2s = jnp.where(safe, r2, 1.0)
        inv_r = jax.lax.rsqrt(r2s)
        return jnp.where(safe, U.G * self._mass_r(jnp.sqrt(r2s)) * (inv_r * inv_r * inv_r), 0.0) * x

    def _mass_enclosed(self, r, t):
        return self._mass_r(r)


class CompositePotential(AbstractPotential):
    """Φ = Σᵢ Φᵢ: a sum of potentials, each keeping its own (analytic or autodiff) forces.

    **Arguments:**

    - `components`: a tuple of potentials.
    - `names`: optional tuple of names, one per component (static), so that
      ``pot["halo"]`` returns a component.

    ``a + b`` on two potentials builds a flat composite.
    """

    components: tuple[AbstractPotential, ...]
    names: tuple[str, ...] = eqx.field(static=True)

    def __init__(self, components, names=None):
        components = tuple(components)
        if not components:
            raise ValueError("CompositePotential needs at least one component")
        for c in components:
            if not isinstance(c, AbstractPotential):
                raise TypeError(f"CompositePotential components must be potentials; got {type(c)}")
        if names is None:
            names = tuple(f"c{i}" for i in range(len(components)))
        names = tuple(names)
        if len(names) != len(components) or len(set(names)) != len(names):
            raise ValueError(f"names must be unique, one per component; got {names}")
        self.components = components
        self.names = names

    @classmethod
    def of(cls, *pots: AbstractPotential) -> "CompositePotential":
        """A flat composite of ``pots`` (nested composites are unpacked)."""
        comps, names = [], []
        for p in pots:
            if isinstance(p, CompositePotential):
                comps.extend(p.components)
                names.extend(p.names)
            else:
                comps.append(p)
                names.append(type(p).__name__.lower())
        seen: dict[str, int] = {}
        unique = []
        for n in names:
            k = seen.get(n, 0)
            seen[n] = k + 1
            unique.append(n if k == 0 else f"{n}{k}")
        return cls(comps, unique)

    def __getitem__(self, name: str) -> AbstractPotential:
        try:
            return self.components[self.names.index(name)]
        except ValueError:
            raise KeyError(f"no component named {name!r}; have {self.names}") from None

    def _potential(self, x, t):
        return sum(c._potential(x, t) for c in self.components)

    def _gradient(self, x, t):
        return sum(c._gradient(x, t) for c in self.components)

    def _density(self, x, t):
        return sum(c._density(x, t) for c in self.components)

    def _mass_enclosed(self, r, t):
        return sum(c._mass_enclosed(r, t) for c in self.components)

    def thin_discs(self):
        return tuple(d for c in self.components for d in c.thin_discs())
