r"""Reflex-motion targets of one simulation: the linear reflex fit of its stars between 40 and
120 kpc, observed like the data (Brooks et al. §3.2.1: the reflex motion at 40, 100 and
120 kpc is a target of the inference).

:func:`reflex_targets` takes the particles of one simulation, observes them through an
observation model (:mod:`jaxgal.observables._observe`; None = exact observables, no errors),
keeps the stars that pass the model's quality cuts with *observed* r_gal in `r_range`
(40–120 kpc), draws `n_stars` of them uniformly without replacement (fixed shape; all of them
if fewer), and fits the 18-parameter linear reflex model (:func:`fit_reflex`,
``model="linear"``, anchors 40 and 120 kpc) by maximum likelihood. Pure JAX and jit-compiled
once per option set: vmap it over keys and particle sets of a suite.

The returned :class:`ReflexTargets` holds v_travel, l_apex, b_apex, v_x, v_y, v_z and their
1σ (Hessian) errors at `radii` (40, 100, 120 kpc), the fit's status (``converged``: a
positive-definite Hessian, the Newton iteration stopped before its cap, and at least twice
as many stars as parameters) and the number of stars fitted; :meth:`ReflexTargets.as_dict`
flattens them to the names of :func:`reflex_target_names` (``v_travel_100``,
``l_apex_40``, ..., ``reflex_converged``, ``reflex_n_stars``).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from .. import frames as F
from ._catalogue import Catalogue
from ._observe import AbstractObservationModel
from ._reflex import _check_options, _fit_one
from ._summaries import star_velocities

__all__ = ["ReflexTargets", "reflex_targets", "reflex_target_names"]

_QUANTITIES = ("v_travel", "l_apex", "b_apex", "vx", "vy", "vz")


class ReflexTargets(eqx.Module):
    """Reflex fit of one simulation (leaves gain a leading axis when vmapped).

    - `radii` (n_r,) [kpc]; `v_travel`, `l_apex`, `b_apex` [km/s, deg, deg], `vx`, `vy`,
      `vz` [km/s], each (n_r,) with its ``*_err`` (1σ from the Hessian), at `radii`.
    - `params` (18,) the fitted parameters (:func:`fit_reflex` order), `nll` −ln L.
    - `converged`: the fit's status (module docstring); `n_stars`: stars fitted.
    """

    radii: Float[Array, "*b n_r"]
    v_travel: Float[Array, "*b n_r"]
    v_travel_err: Float[Array, "*b n_r"]
    l_apex: Float[Array, "*b n_r"]
    l_apex_err: Float[Array, "*b n_r"]
    b_apex: Float[Array, "*b n_r"]
    b_apex_err: Float[Array, "*b n_r"]
    vx: Float[Array, "*b n_r"]
    vx_err: Float[Array, "*b n_r"]
    vy: Float[Array, "*b n_r"]
    vy_err: Float[Array, "*b n_r"]
    vz: Float[Array, "*b n_r"]
    vz_err: Float[Array, "*b n_r"]
    params: Float[Array, "*b n_p"]
    nll: Float[Array, "*b"]
    converged: Bool[Array, "*b"]
    n_stars: Float[Array, "*b"]

    def as_dict(self) -> dict[str, Array]:
        """Flat mapping name → array (names of :func:`reflex_target_names` for these radii;
        a batch keeps its leading axis)."""
        radii = np.asarray(self.radii).reshape(-1, np.shape(self.radii)[-1])[0]
        out = {}
        for q in _QUANTITIES:
            for j, r in enumerate(radii):
                out[f"{q}_{r:g}"] = getattr(self, q)[..., j]
                out[f"{q}_{r:g}_err"] = getattr(self, q + "_err")[..., j]
        out["reflex_converged"] = self.converged
        out["reflex_n_stars"] = self.n_stars
        return out


def reflex_target_names(radii=(40.0, 100.0, 120.0)) -> tuple[str, ...]:
    """Names of :meth:`ReflexTargets.as_dict`, e.g. ``v_travel_100``, ``l_apex_40_err``,
    ``reflex_converged``, ``reflex_n_stars``."""
    names = []
    for q in _QUANTITIES:
        for r in radii:
            names += [f"{q}_{float(r):g}", f"{q}_{float(r):g}_err"]
    return tuple(names) + ("reflex_converged", "reflex_n_stars")


def _exact(particles, frame) -> tuple[Catalogue, Array]:
    from ._mocks import catalogue_from_particles

    cat = catalogue_from_particles(particles, frame)
    return cat, jnp.all(jnp.isfinite(particles), axis=-1)


@functools.partial(
    jax.jit,
    static_argnames=(
        "n_stars", "r_range", "model", "dispersion", "distance_error", "n_starts",
        "max_steps", "anchors",
    ),
)
def _targets(
    key, particles, obs_model, frame, radii, n_stars, r_range, model, dispersion,
    distance_error, n_starts, max_steps, anchors,
):
    k_obs, k_sel = jax.random.split(key)
    if obs_model is None:
        cat, selected = _exact(particles, frame)
    else:
        o = obs_model.observe(k_obs, particles, frame=frame)
        cat, selected = o.catalogue, o.selected
    r = star_velocities(cat, frame)[0]
    eligible = selected & jnp.isfinite(r) & (r >= r_range[0]) & (r <= r_range[1])
    n = r.shape[0]
    if n_stars is not None and n_stars < n:
        g = jax.random.gumbel(k_sel, (n,), dtype=r.dtype)
        _, idx = jax.lax.top_k(jnp.where(eligible, g, -jnp.inf), n_stars)
        cat = jax.tree_util.tree_map(lambda a: a[idx], cat)
        eligible = eligible[idx]
    nan = jnp.asarray(jnp.nan, cat.distance.dtype)
    cat = eqx.tree_at(lambda c: c.distance, cat, jnp.where(eligible, cat.distance, nan))
    th, cov, nll, _, n_used, _, conv, at = _fit_one(
        cat, frame, radii, model, dispersion, anchors, None, n_starts, max_steps, distance_error
    )
    n_p = 9 if model == "constant" else 18
    conv = conv & (n_used >= 2 * n_p) & jnp.all(jnp.isfinite(th))
    return ReflexTargets(
        radii, at.v_travel, at.v_travel_err, at.l_apex, at.l_apex_err, at.b_apex,
        at.b_apex_err, at.vx, at.vx_err, at.vy, at.vy_err, at.vz, at.vz_err, th, nll, conv,
        n_used,
    )


def reflex_targets(
    key: PRNGKeyArray,
    particles: Float[Array, "n 6"],
    observation_model: AbstractObservationModel | None = None,
    *,
    n_stars: int | None = 2000,
    r_range: tuple[float, float] = (40.0, 120.0),
    model: str = "linear",
    dispersion: str = "galactocentric",
    distance_error: str = "observed",
    radii=(40.0, 100.0, 120.0),
    anchors: tuple[float, float] = (40.0, 120.0),
    n_starts: int = 4,
    max_steps: int = 100,
    frame: F.GalactocentricFrame | None = None,
) -> ReflexTargets:
    """The reflex-motion targets of one simulation (module docstring).

    **Arguments:**

    - `key`: PRNG key (observation noise and the subsample).
    - `particles`: (N, 6) Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s] at t = 0
      (``simulate(...).particles``).
    - `observation_model`: an observation model (e.g.
      ``CatalogueErrorModel.from_catalogue(cat)`` or :class:`ErrorModel`); None = exact
      observables without errors.
    - `n_stars`: stars fitted, drawn uniformly among those eligible (2000; None = all N
      particles, masked to the eligible ones). docs/observables.md gives the cost and the
      precision against the full set.
    - `r_range`: observed r_gal range [kpc] of the fitted stars (40, 120).
    - `model`, `dispersion`, `distance_error`, `anchors`, `n_starts`, `max_steps`: as
      :func:`fit_reflex` (linear model, Galactocentric dispersions, the published
      distance-error convention, 4 starts, at most 100 Newton steps).
    - `radii`: radii [kpc] of the reported values (40, 100, 120).
    - `frame`: the Galactocentric frame (default astropy's).

    **Returns:** :class:`ReflexTargets`. Pure JAX (no eager checks): ``jax.vmap`` over keys
    and a (B, N, 6) batch of particles works; a failed fit is reported by ``converged``
    (False) rather than an exception.
    """
    _check_options(model, dispersion, distance_error)
    w = jnp.asarray(particles)
    if w.ndim != 2 or w.shape[-1] != 6:
        raise ValueError(f"reflex_targets: particles must have shape (N, 6); got {w.shape}")
    if n_stars is not None and n_stars < 1:
        raise ValueError(f"reflex_targets: n_stars must be >= 1 or None; got {n_stars}")
    if not r_range[1] > r_range[0]:
        raise ValueError(f"reflex_targets: r_range must be increasing; got {r_range}")
    if observation_model is not None and not isinstance(observation_model, AbstractObservationModel):
        raise TypeError(
            f"reflex_targets: observation_model must be an observation model or None; got "
            f"{type(observation_model)}"
        )
    fr = F.GalactocentricFrame() if frame is None else frame
    rad = jnp.atleast_1d(jnp.asarray(radii, dtype=w.dtype))
    return _targets(
        key, w, observation_model, fr, rad,
        n_stars=None if n_stars is None else int(n_stars),
        r_range=(float(r_range[0]), float(r_range[1])),
        model=model, dispersion=dispersion, distance_error=distance_error,
        n_starts=int(n_starts), max_steps=int(max_steps),
        anchors=(float(anchors[0]), float(anchors[1])),
    )
