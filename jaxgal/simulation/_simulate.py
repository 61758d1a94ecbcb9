r"""One MW–LMC simulation, ``simulate(theta, key)``, and batches of them (Brooks et al. §3;
``docs/simulation.md``).

:func:`simulate` runs the stages of ``_stages.py`` in a row inside one jit-compiled
function (vmappable over θ and keys); :func:`simulate_batch` splits a batch of them over
the local devices.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._sharding import map_over_devices
from .._validation import check_int
from ..satellites import TwoBodyOrbit
from ._config import SimulationConfig, SimulationModel
from ._stages import (
    build_models,
    derived_quantities,
    evolve_tracers,
    initial_halo,
    lmc_orbit,
    present_day_lmc,
    tracer_step_budgets,
    tracer_tolerances,
)
from ._theta import Theta, as_theta, check_theta

__all__ = ["SimulationResult", "simulate", "simulate_batch"]


class SimulationResult(eqx.Module):
    """The output of :func:`simulate`.

    **Fields:**

    - `particles`: (N, 6) stellar halo today (t = 0), Galactocentric x [kpc], v [km/s].
    - `initial_particles`: (N, 6) the same stars at −t_infall in the MW-centred frame.
    - `orbit`: the :class:`~jaxgal.satellites.TwoBodyOrbit` of the MW centre (``x_host``)
      and the LMC (``x_sat``) from −t_infall to 0 (inertial frame in which the MW centre
      is at rest at the origin today; velocities in kpc/Myr, ``*_kms`` properties in km/s).
    - `derived`: dict of scalars (:func:`~jaxgal.simulation.derived_quantities`):
      ``m_mw_50``, ``m_lmc_50`` [Msun], ``m200`` [Msun], ``c200``, ``c200_clipped``,
      ``a_lmc`` [kpc], ``ln_coulomb``, ``lambda_df``, ``mass_ratio``, ``lmc_pericentre``
      [kpc], ``lmc_pericentre_time`` [Myr], ``max_tracer_steps``, ``n_parked``,
      ``n_parked_stopped`` (``docs/simulation.md``, Throughput).
    - `theta`: the :class:`~jaxgal.simulation.Theta` simulated.
    """

    particles: Float[Array, "n 6"]
    initial_particles: Float[Array, "n 6"]
    orbit: TwoBodyOrbit
    derived: dict
    theta: Theta


def _front(theta: Theta, key, n_particles: int, model: SimulationModel, config: SimulationConfig):
    """Stages 1–4 and the per-star tolerances and budgets: everything before the tracers.
    Returns arrays only (so that ``lax.map`` can stack them)."""
    models = build_models(theta, model)
    w_lmc = present_day_lmc(theta, model)
    orbit, ln_coulomb = lmc_orbit(models, theta, w_lmc, model, config)
    df, w0 = initial_halo(models.mw, theta, key, n_particles, model, config)
    return orbit, ln_coulomb, w0, tracer_tolerances(df, w0, config), tracer_step_budgets(df, w0, config)


def _back(theta: Theta, front, model: SimulationModel, config: SimulationConfig, devices) -> SimulationResult:
    """Stages 5–6: the tracers and the derived quantities (the models are rebuilt from θ:
    a few scalar operations, identical to the front's)."""
    orbit, ln_coulomb, w0, rtol, budgets = front
    models = build_models(theta, model)
    w1, n_steps = evolve_tracers(models, orbit, w0, rtol, model, config, devices, max_steps=budgets)
    derived = derived_quantities(models, theta, orbit, ln_coulomb, n_steps, max_steps=budgets)
    return SimulationResult(particles=w1, initial_particles=w0, orbit=orbit, derived=derived, theta=theta)


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces: tests assert no silent recompiles
def _simulate(theta: Theta, key, n_particles: int, model: SimulationModel, config: SimulationConfig, devices):
    return _back(theta, _front(theta, key, n_particles, model, config), model, config, devices)


def _check_options(model, config):
    model = SimulationModel() if model is None else model
    config = SimulationConfig() if config is None else config
    if not isinstance(model, SimulationModel):
        raise TypeError(f"model must be a SimulationModel; got {type(model).__name__}")
    if not isinstance(config, SimulationConfig):
        raise TypeError(f"config must be a SimulationConfig; got {type(config).__name__}")
    return model, config


def simulate(
    theta, key, n_particles=20_000, *, model: SimulationModel | None = None, config: SimulationConfig | None = None
) -> SimulationResult:
    """Run one MW–LMC simulation (module docstring; ``docs/simulation.md``).

    **Arguments:**

    - `theta`: the 12 Table 1 parameters — a mapping with the names of
      :data:`~jaxgal.simulation.THETA_NAMES`, a (12,) array in that order, or a
      :class:`~jaxgal.simulation.Theta` (log10 Msun, Msun, —, deg, deg, kpc, km/s, mas/yr,
      mas/yr, —, kpc, —); concrete values are checked against
      :data:`~jaxgal.simulation.THETA_RANGES`.
    - `key`: a ``jax.random`` key (the stellar halo's draw; same key, same halo).
    - `n_particles`: stars in the halo (static; default 20,000 as in the paper).
    - `model`: a :class:`SimulationModel` (the fixed physical constants).
    - `config`: a :class:`SimulationConfig` (solvers, steps, grids, tolerances, devices).

    **Returns:** a :class:`SimulationResult`; ``.particles`` is the (N, 6) Galactocentric
    halo today (kpc, km/s), ``.derived`` the derived quantities.

    Jit-able; to run many θ at once use :func:`simulate_batch`. Differentiable with respect
    to θ (and the model's constants) in forward mode (``jax.jvp`` / ``jax.jacfwd``) with the
    default error-controlled tracer solver, and in both modes with a fixed-step
    ``tracer_method``. The tangent of a single tightly bound orbit grows exponentially over
    2.2 Gyr (its Lyapunov time is tens of Myr), so differentiate statistics of the outer
    halo with weights of compact support; ``docs/simulation.md`` explains why and what the
    gradient test checks.
    """
    model, config = _check_options(model, config)
    n_particles = check_int(n_particles, "n_particles")
    th = as_theta(theta)
    check_theta(th)
    shapes = {jnp.shape(v) for v in th}
    if shapes != {()}:
        raise ValueError(
            "simulate runs one θ (scalar parameters); for a batch use simulate_batch(thetas, keys) "
            f"or jax.vmap; got parameter shapes {sorted(shapes)}"
        )
    devices = None if config.devices is None else tuple(config.devices)
    return _simulate(th, key, n_particles, model, config, devices)


def simulate_batch(
    thetas,
    keys,
    n_particles=20_000,
    *,
    model: SimulationModel | None = None,
    config: SimulationConfig | None = None,
    vmap_size=None,
) -> SimulationResult:
    """Many simulations in one call, the batch split over the local devices.

    **Arguments:** `thetas`: (B, 12) array, mapping of (B,) arrays or a batched
    :class:`~jaxgal.simulation.Theta`; `keys`: (B,) keys (``jax.random.split(key, B)``);
    `n_particles`, `model`, `config` as in :func:`simulate` (``config.devices`` is ignored:
    each simulation runs on one device); `vmap_size`: simulations vectorised together
    (``jax.lax.map`` with this ``batch_size`` over each device's share). Default: 1 on a
    CPU — the lane-scheduled solver already fills a CPU core with one simulation's orbits —
    and the whole share on a GPU. With `vmap_size` > 1 each group of simulations runs its
    front stages (DF build and sample, LMC orbit) one after the other and vectorises the
    tracer stage, so that the DF sampler's large temporaries exist once per device, not
    once per simulation (``benchmarks/suite.py`` prints XLA's bytes per simulation;
    :func:`jaxgal.simulation.plan_batches` sizes `vmap_size` to a GPU's memory).

    **Returns:** a :class:`SimulationResult` whose leaves have a leading batch axis B.
    """
    model, config = _check_options(model, config)
    n_particles = check_int(n_particles, "n_particles")
    th = as_theta(thetas)
    check_theta(th)
    batch = {jnp.shape(v) for v in th}
    if len(batch) != 1 or len(next(iter(batch))) != 1:
        raise ValueError(f"thetas must be a batch of shape (B,) per parameter; got shapes {sorted(batch)}")
    n_batch = next(iter(batch))[0]
    keys = jnp.asarray(keys)
    if keys.ndim == 0 or keys.shape[0] != n_batch:
        raise ValueError(f"need one key per simulation: {n_batch} thetas, keys of shape {keys.shape}")
    devices = tuple(jax.devices())
    if vmap_size is None:
        vmap_size = 1 if devices[0].platform == "cpu" else n_batch
    vmap_size = check_int(vmap_size, "vmap_size")
    if len(devices) > 1 and n_batch % len(devices) != 0:
        devices = devices[:1]
    return _simulate_batch(th, keys, n_particles, model, config, vmap_size, devices)


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)  # counts traces: tests assert no silent recompiles
def _simulate_batch(
    th: Theta, keys, n_particles: int, model: SimulationModel, config: SimulationConfig, vmap_size: int, devices: tuple
):
    """One compiled program per (shapes, n_particles, config, vmap_size, devices): the batch
    split over ``devices``, each mapping over its share ``vmap_size`` at a time."""
    one = devices[:1]

    def run(th_, keys_, model_):
        size = min(vmap_size, keys_.shape[0])
        if size == 1:  # one simulation after the other (the CPU default)
            return jax.lax.map(
                lambda a: _simulate(a[0], a[1], n_particles, model_, config, one), (th_, keys_), batch_size=1
            )

        def group(a):
            th_g, keys_g = a
            # The front stages one simulation at a time: their large temporaries (the DF
            # sampler's (n, n_speed) speed grid, ~40 MB at 20,000 stars) then exist once,
            # not once per simulation of the group; the tracers, where the time goes, are
            # vmapped over the group.
            fronts = jax.lax.map(lambda b: _front(b[0], b[1], n_particles, model_, config), (th_g, keys_g))
            return jax.vmap(lambda t, f: _back(t, f, model_, config, one))(th_g, fronts)

        return _map_in_groups(group, (th_, keys_), size)

    if len(devices) == 1:
        return run(th, keys, model)

    dyn, static = eqx.partition(model, eqx.is_array)

    def shard_fn(*arrays):
        return run(Theta(*arrays[:-2]), arrays[-2], eqx.combine(arrays[-1], static))

    sharded = tuple(th) + (keys,)
    out_axes = jax.tree.map(lambda _: 0, jax.eval_shape(shard_fn, *sharded, dyn))
    return map_over_devices(shard_fn, sharded, (dyn,), out_axes=out_axes, devices=devices)


def _map_in_groups(fn, xs, size: int):
    """``fn`` over consecutive groups of ``size`` rows of ``xs`` (a remainder group last):
    ``jax.lax.map`` over the groups, ``fn`` seeing a leading axis of ``size``."""
    n = jax.tree_util.tree_leaves(xs)[0].shape[0]
    n_full, rest = divmod(n, size)
    outs = []
    if n_full:
        full = jax.tree.map(lambda a: a[: n_full * size].reshape((n_full, size) + a.shape[1:]), xs)
        y = jax.lax.map(fn, full)
        outs.append(jax.tree.map(lambda a: a.reshape((n_full * size,) + a.shape[2:]), y))
    if rest:
        outs.append(fn(jax.tree.map(lambda a: a[n_full * size :], xs)))
    return outs[0] if len(outs) == 1 else jax.tree.map(lambda *a: jnp.concatenate(a, axis=0), *outs)
