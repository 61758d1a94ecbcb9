"""Sums of potentials."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ._base import AbstractPotential

__all__ = ["CompositePotential"]


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
