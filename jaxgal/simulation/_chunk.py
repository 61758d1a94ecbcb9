"""One chunk of a suite: its settings checks and ``run_chunk``, the unit of work that the
local runner (``_suite.run_suite``) and the Dask backend (``_dask``) both schedule; the
file layout is described in ``_suite``."""

from __future__ import annotations

import dataclasses
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from ..observables import SummaryConfig, summaries
from .._validation import check_int
from ._config import SimulationConfig, SimulationModel
from ._manifest import chunk_quality
from ._simulate import simulate_batch
from ._theta import THETA_NAMES, sample_prior

__all__ = ["run_chunk"]


_SETTINGS = "suite.json"


def _chunk_path(out_dir: str, i: int) -> str:
    return os.path.join(out_dir, f"chunk_{i:05d}.npz")


def _check_settings(out_dir: str, settings: dict) -> None:
    path = os.path.join(out_dir, _SETTINGS)
    if os.path.exists(path):
        with open(path) as fh:
            old = json.load(fh)
        diff = {k: (old.get(k), v) for k, v in settings.items() if old.get(k) != v}
        if diff:
            legacy = "config" in diff and not _records_every_field(str(old.get("config", "")))
            raise ValueError(
                f"{out_dir} holds a suite with different settings {diff} (existing, requested); "
                "use another folder or the same settings to resume"
                + ("; this suite was written by a jaxgal that recorded only the non-default "
                   "SimulationConfig fields, or whose SimulationConfig had fewer fields (such as "
                   "table_cells_per_octave, 2026-11-27), and the defaults have changed since "
                   "(docs/simulation.md, Throughput): resume it with the version that started it" if legacy else "")
            )
    else:
        os.makedirs(out_dir, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(settings, fh, indent=1)
        os.replace(tmp, path)


def _is_default(model: SimulationModel) -> bool:
    """True for the default constants (kept out of the settings file, so that suites written
    before the constants could be changed still resume)."""
    return model.as_dict() == SimulationModel().as_dict()


def config_record(config: SimulationConfig) -> str:
    """Every field of ``config`` with its value, defaults included: what a suite's settings
    record, so that a change of the defaults between versions cannot resume a suite with
    other numerics (``repr`` shows only the fields that differ from the defaults)."""
    fields = ", ".join(f"{f.name}={getattr(config, f.name)!r}" for f in dataclasses.fields(config))
    return f"{type(config).__name__}({fields})"


def _records_every_field(recorded: str) -> bool:
    """Whether a stored configuration string names every SimulationConfig field, as
    :func:`config_record` writes it (older suites stored ``repr``, which hides defaults)."""
    return all(f"{f.name}=" in recorded for f in dataclasses.fields(SimulationConfig))


def _settings_of(n_sims, seed, n_particles, chunk_size, config, model, summary_config) -> dict:
    return dict(
        n_sims=n_sims, seed=int(seed), n_particles=n_particles, chunk_size=chunk_size,
        config=config_record(config), summary_config=repr(summary_config), theta_names=list(THETA_NAMES),
        **({} if _is_default(model) else {"model": model.as_dict()}),
    )


def _check_args(n_sims, seed, n_particles, chunk_size, config, model, summary_config):
    n_sims = check_int(n_sims, "n_sims")
    chunk_size = check_int(chunk_size, "chunk_size")
    n_particles = check_int(n_particles, "n_particles")
    seed = check_int(seed, "seed", lo=0)
    config = SimulationConfig() if config is None else config
    model = SimulationModel() if model is None else model
    summary_config = SummaryConfig() if summary_config is None else summary_config
    return n_sims, seed, n_particles, chunk_size, config, model, summary_config


def _chunks_todo(out_dir, n_sims, chunk_size, chunks) -> list[int]:
    n_chunks = -(-n_sims // chunk_size)
    todo = range(n_chunks) if chunks is None else [int(c) for c in chunks]
    bad = [c for c in todo if not 0 <= c < n_chunks]
    if bad:
        raise ValueError(f"chunk indices {bad} outside 0..{n_chunks - 1}")
    return [c for c in todo if not os.path.exists(_chunk_path(out_dir, c))]


def run_chunk(
    out_dir: str,
    c: int,
    n_sims: int,
    seed: int,
    n_particles: int,
    chunk_size: int,
    config: SimulationConfig,
    model: SimulationModel,
    summary_config: SummaryConfig,
    keep_particles: bool = False,
    vmap_size: int | None = None,
) -> dict:
    """Simulate and store chunk `c` of a suite whose ``suite.json`` exists (the unit of work of
    :func:`run_suite` and of its Dask backend). Writes ``particles_XXXXX.npy`` (if
    `keep_particles`) then ``chunk_XXXXX.npz``, each atomically; an existing chunk file is
    left untouched. `vmap_size`: simulations vectorised together per device
    (:func:`~jaxgal.simulation.simulate_batch`; None: its default).

    **Returns:** ``{"chunk": c, "path": ..., "seconds": wall time, "quality":
    chunk_quality(...)}`` (``jaxgal.simulation._manifest.chunk_quality``), or
    ``{"chunk": c, "path": ..., "skipped": True}`` if the chunk was already there.
    """
    path = _chunk_path(out_dir, c)
    if os.path.exists(path):
        return {"chunk": c, "path": path, "skipped": True}
    t0 = time.perf_counter()
    lo, hi = c * chunk_size, min((c + 1) * chunk_size, n_sims)
    idx = np.arange(lo, hi)
    thetas = np.asarray(sample_prior(jax.random.PRNGKey(seed), n_sims))
    base_key = jax.random.PRNGKey(seed + 1)
    # pad the last chunk to the chunk size (one compiled program), then trim
    pad = chunk_size - len(idx)
    idx_p = np.concatenate([idx, np.repeat(idx[-1:], pad)])
    keys = jax.vmap(lambda i: jax.random.fold_in(base_key, i))(jnp.asarray(idx_p))
    res = simulate_batch(jnp.asarray(thetas[idx_p]), keys, n_particles, config=config, model=model, vmap_size=vmap_size)
    s = summaries(res.particles, summary_config)
    particles = np.asarray(res.particles)[: len(idx)]
    if keep_particles:  # written first: a chunk file implies its particles
        ppath = os.path.join(out_dir, f"particles_{c:05d}.npy")
        tmp = ppath[:-4] + f".tmp{os.getpid()}.npy"
        np.save(tmp, particles.astype(np.float32))
        os.replace(tmp, ppath)
    arrays = dict(
        index=idx,
        theta=thetas[idx],
        summaries=np.asarray(s.values)[: len(idx)],
        counts=np.asarray(s.counts)[: len(idx)],
        flags=np.asarray(s.flags)[: len(idx)],
        **{f"derived_{k}": np.asarray(v)[: len(idx)] for k, v in res.derived.items()},
    )
    tmp = path[:-4] + f".tmp{os.getpid()}.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return {"chunk": c, "path": path, "seconds": time.perf_counter() - t0,
            "quality": chunk_quality(arrays, particles)}
