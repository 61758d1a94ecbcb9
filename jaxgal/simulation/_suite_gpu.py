"""Sizing a suite's batches to an accelerator's memory (``jaxgal suite`` on a GPU).

On a GPU one simulation's 20,000 orbits do not fill the device, so ``simulate_batch``
vectorises several simulations per device (``vmap_size``). How many fit is read from
XLA's memory analysis of the compiled batch program (arguments + outputs + temporaries)
at two batch sizes on one device: the difference is the memory of one more simulation,
the rest is shared (``benchmarks/suite.py`` prints both; ``benchmarks/README.md``, Suite
throughput). On a CPU nothing changes: one simulation at a time per device, chunks of 16.
"""

from __future__ import annotations

import jax

from .._validation import check_int
from ._config import SimulationConfig, SimulationModel
from ._theta import as_theta, sample_prior

__all__ = ["simulation_bytes", "batch_per_device", "device_memory_bytes", "plan_batches"]

#: chunk size of a suite on a CPU (the default of ``run_suite`` and ``run_suite_dask``)
CPU_CHUNK = 16


def _program_bytes(n_particles: int, model: SimulationModel, config: SimulationConfig, b: int, device) -> int:
    from ._simulate import _simulate_batch

    th = as_theta(sample_prior(jax.random.PRNGKey(0), b))
    keys = jax.random.split(jax.random.PRNGKey(1), b)
    fn = jax.jit(lambda t, k: _simulate_batch(t, k, n_particles, model, config, b, (device,)))
    ma = fn.lower(th, keys).compile().memory_analysis()
    return int(ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes)


def simulation_bytes(
    n_particles: int, model: SimulationModel, config: SimulationConfig, *, device=None, sizes=(2, 4)
) -> tuple[float, float]:
    """Memory of a vmapped batch of simulations on one device, from XLA's analysis of the
    compiled program at two batch sizes ``sizes`` (two compilations).

    **Arguments:** `n_particles`: stars per simulation; `model`, `config`: as in
    :func:`~jaxgal.simulation.simulate`; `device`: the device compiled for (default the
    first); `sizes`: the two batch sizes b₁ < b₂ (≥ 2: the vmapped path).

    **Returns:** ``(per_simulation, fixed)`` [bytes]: bytes(b) ≈ fixed + b · per_simulation.
    """
    device = jax.devices()[0] if device is None else device
    b1, b2 = (check_int(s, "simulation_bytes: sizes", lo=2) for s in sizes)
    if not b2 > b1:
        raise ValueError(f"simulation_bytes: sizes must be increasing; got {sizes}")
    m1 = _program_bytes(n_particles, model, config, b1, device)
    m2 = _program_bytes(n_particles, model, config, b2, device)
    per = (m2 - m1) / (b2 - b1)
    return float(per), float(m1 - b1 * per)


def device_memory_bytes(device) -> float | None:
    """The memory an accelerator lets XLA allocate [bytes] (``bytes_limit`` of
    ``device.memory_stats()``), or None where it is not reported (CPUs)."""
    try:
        stats = device.memory_stats()
    except Exception:  # noqa: BLE001 - backends without memory stats
        return None
    if not stats:
        return None
    limit = stats.get("bytes_limit")
    return None if limit is None else float(limit)


def batch_per_device(per_simulation: float, fixed: float, memory_bytes: float | None, *, usable: float = 0.8) -> int | None:
    """Simulations vectorised per device: the largest b with fixed + b · per_simulation ≤
    usable · memory_bytes (at least 1); None when the memory is unknown.

    **Arguments:** `per_simulation`, `fixed` [bytes] (:func:`simulation_bytes`);
    `memory_bytes` [bytes] (:func:`device_memory_bytes`); `usable`: fraction of the memory
    the batch may take (0.8 leaves room for XLA's own buffers and fragmentation).
    """
    if memory_bytes is None:
        return None
    if not 0 < usable <= 1:
        raise ValueError(f"batch_per_device: usable must be in (0, 1]; got {usable}")
    if not per_simulation > 0:
        raise ValueError(f"batch_per_device: per_simulation must be positive bytes; got {per_simulation}")
    return max(1, int((usable * memory_bytes - fixed) // per_simulation))


def plan_batches(
    n_particles: int,
    model: SimulationModel | None = None,
    config: SimulationConfig | None = None,
    *,
    backend: str | None = None,
    memory_bytes: float | None = None,
    usable: float = 0.8,
) -> dict:
    """How a suite batches its simulations on this machine's devices.

    **Arguments:** `n_particles`; `model`, `config` (defaults as in ``simulate``); `backend`:
    default ``jax.default_backend()``; `memory_bytes`: the memory per device (default
    :func:`device_memory_bytes` of the first device); `usable`: as in
    :func:`batch_per_device`.

    **Returns:** ``{"backend", "devices", "vmap_size", "chunk_size", "per_simulation_bytes",
    "fixed_bytes"}``. On a CPU (and wherever the memory is not known): ``vmap_size`` None
    (``simulate_batch``'s default: one simulation at a time per device) and chunks of 16, as
    before. On a GPU/TPU: ``vmap_size`` = the simulations that fit one device's memory and
    ``chunk_size`` = that times the device count, so that one chunk fills every device once.
    """
    model = SimulationModel() if model is None else model
    config = SimulationConfig() if config is None else config
    backend = jax.default_backend() if backend is None else backend
    devices = jax.devices()
    plan = dict(backend=backend, devices=len(devices), vmap_size=None, chunk_size=CPU_CHUNK,
                per_simulation_bytes=None, fixed_bytes=None)
    if backend == "cpu":
        return plan
    memory_bytes = device_memory_bytes(devices[0]) if memory_bytes is None else memory_bytes
    if memory_bytes is None:
        return plan
    per, fixed = simulation_bytes(n_particles, model, config, device=devices[0])
    b = batch_per_device(per, fixed, memory_bytes, usable=usable)
    plan.update(vmap_size=b, chunk_size=b * len(devices), per_simulation_bytes=per, fixed_bytes=fixed)
    return plan
