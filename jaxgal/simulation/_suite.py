"""Resumable suites of MW–LMC simulations: ``run_suite``, ``run_chunk`` and ``load_suite``.

A suite is a folder of chunk files ``chunk_00000.npz``, … plus ``suite.json`` (its
settings) and ``manifest.json`` (versions, quality counts, timing: ``_manifest``).
Simulation i uses θ_i = row i of ``sample_prior(PRNGKey(seed), n_sims)`` and the key
``fold_in(PRNGKey(seed + 1), i)``, so the suite is the same however it is chunked,
interrupted or resumed — byte for byte: the same seed and settings give identical chunk
files. Each chunk is written to a temporary name and renamed when complete (an atomic step
on POSIX file systems): a chunk file is either whole or absent, and a re-run skips the
chunks present. Chunks hold plain arrays (``numpy.savez``, no pickle): θ, the noise-free
summaries and their counts/flags, the derived quantities; with ``keep_particles`` the
present-day stars too (``particles_XXXXX.npy``), which :func:`observe_suite` observes
through a survey's error model.

A bin with fewer than ``min_count`` stars is stored with the summary configuration's fill
value (0.0) and its flag, so that stored files hold only finite numbers; :func:`load_suite`
returns NaN there by default (the missing-input convention of :mod:`jaxgal.inference`).

Chunks are independent tasks (:func:`run_chunk`): ``run_suite(..., client=...)`` runs them
on a Dask ``distributed`` cluster (``_dask``); or run ``run_suite`` with the same
``out_dir``/``seed`` and disjoint ``chunks=`` ranges, one per scheduler task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np

from ..observables import SummaryConfig
from ._chunk import (
    _SETTINGS,
    _check_args,
    _check_settings,
    _chunk_path,
    _chunks_todo,
    _settings_of,
    run_chunk,
)
from ._config import SimulationConfig, SimulationModel
from ._manifest import environment, update_manifest
from ._suite_gpu import CPU_CHUNK

__all__ = ["run_suite", "load_suite", "run_chunk"]


def run_suite(
    out_dir: str,
    n_sims,
    seed,
    n_particles=20_000,
    chunk_size=CPU_CHUNK,
    *,
    config: SimulationConfig | None = None,
    model: SimulationModel | None = None,
    summary_config: SummaryConfig | None = None,
    chunks: Sequence[int] | None = None,
    progress: bool = True,
    keep_particles: bool = False,
    client=None,
    vmap_size: int | None = None,
) -> list[str]:
    """Run (or resume) ``n_sims`` simulations drawn from the Table 1 prior, in chunks.

    **Arguments:**

    - `out_dir`: folder of the suite (created; an existing suite must have the same
      settings).
    - `n_sims`, `seed`: the suite's size and seed (module docstring).
    - `n_particles`: stars per simulation.
    - `chunk_size`: simulations per chunk, run as one :func:`simulate_batch` call (split
      over the local devices; a multiple of the device count is best).
    - `config`, `model`, `summary_config`: simulation numerics, model constants and
      summary settings.
    - `chunks`: only these chunk indices (default all) — for spreading a suite over tasks.
    - `progress`: a tqdm progress bar over simulations (rate and time left).
    - `keep_particles`: also write each chunk's present-day stars as float32
      ``particles_XXXXX.npy`` (n, n_particles, 6) [kpc, km/s], so that the suite can be
      re-observed through another error model without re-simulating
      (:func:`observe_suite`; ~0.5 MB per 20,000-star simulation; keep them local, never
      commit them).
    - `client`: a ``dask.distributed.Client``: run the chunks as tasks on its workers
      (:func:`jaxgal.simulation.run_suite_dask`; the files are the same byte for byte);
      None runs them here.
    - `vmap_size`: simulations vectorised together per device in the local runner
      (:func:`simulate_batch`; None: its default, one at a time on a CPU). The results do
      not depend on it beyond rounding (the vmapped programs round differently); ``jaxgal
      suite`` sizes it to a GPU's memory (``_suite_gpu.plan_batches``).

    Writes ``manifest.json`` (``jaxgal.simulation._manifest``) after every chunk: versions,
    git commit, clipped c200, flagged bins, failed integrations, timing.

    **Returns:** the paths of the chunks written in this call.
    """
    args = _check_args(n_sims, seed, n_particles, chunk_size, config, model, summary_config)
    n_sims, seed, n_particles, chunk_size, config, model, summary_config = args
    if client is not None:
        from ._dask import run_suite_dask

        return run_suite_dask(
            client, out_dir, n_sims, seed, n_particles, chunk_size, config=config, model=model,
            summary_config=summary_config, chunks=chunks, progress=progress,
            keep_particles=keep_particles,
        )
    settings = _settings_of(n_sims, seed, n_particles, chunk_size, config, model, summary_config)
    _check_settings(out_dir, settings)
    todo = _chunks_todo(out_dir, n_sims, chunk_size, chunks)
    environment()  # recorded now, as the code this run imported (the checkout may change later)
    update_manifest(out_dir)
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        total = sum(min((c + 1) * chunk_size, n_sims) - c * chunk_size for c in todo)
        bar = tqdm(total=total, desc=f"suite {os.path.basename(os.path.abspath(out_dir))}", unit="sim")
    written = []
    for j, c in enumerate(todo):
        rec = run_chunk(out_dir, c, *args, keep_particles=keep_particles, vmap_size=vmap_size)
        if rec.get("skipped"):
            continue
        rec["quality"]["includes_compilation"] = j == 0
        update_manifest(out_dir, {c: rec})
        written.append(rec["path"])
        if bar is not None:
            bar.update(rec["quality"]["n_sims"])
    if bar is not None:
        bar.close()
    return written


def load_suite(
    out_dir: str,
    *,
    allow_partial: bool = False,
    observation=None,
    missing: str = "nan",
) -> dict[str, np.ndarray]:
    """The chunks of a suite as one mapping of arrays, one row per simulation in simulation
    order.

    **Arguments:**

    - `out_dir`: the suite folder.
    - `allow_partial`: return the rows present instead of raising for missing chunks.
    - `observation`: None (only the noise-free columns), ``"default"`` (the columns
      observed through :func:`default_observation_model`), an observation model or its
      ``identifier``: adds the columns written by :func:`observe_suite` for that model.
    - `missing`: ``"nan"`` (default): summaries of flagged bins (fewer than ``min_count``
      stars, 5) are NaN, the convention of :mod:`jaxgal.inference` (a missing input with an
      indicator feature); ``"fill"``: the stored fill value (0.0). The flags are returned in
      both cases.

    **Returns:** a mapping with ``"index"``, ``"theta"`` (n, 12) in Table 1 order
    (``"theta_names"``), ``"summaries"`` (n, 52) noise-free, ``"counts"``, ``"flags"``,
    ``"derived_*"`` (``m_mw_50``, ``m_lmc_50``, ``c200``, …), ``"summary_names"``; with an
    `observation`, also ``"observed_summaries"`` (n, 52), ``"observed_counts"``,
    ``"observed_n_kept"``, ``"observed_flags"`` and ``"reflex_<name>"`` (n,) for the names
    of :func:`jaxgal.observables.reflex_target_names` (``reflex_v_travel_100``, …,
    ``reflex_converged``, ``reflex_n_stars``).

    Raises ``FileNotFoundError`` if the folder is not a suite, and ``ValueError`` naming the
    missing chunks (or unobserved chunks) unless ``allow_partial`` (then the rows present in
    both are returned).
    """
    from ..observables import summary_names

    if missing not in ("nan", "fill"):
        raise ValueError(f"load_suite: missing must be 'nan' or 'fill'; got {missing!r}")
    path = os.path.join(out_dir, _SETTINGS)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{out_dir} is not a jaxgal suite (no {_SETTINGS})")
    with open(path) as fh:
        settings = json.load(fh)
    n_chunks = -(-settings["n_sims"] // settings["chunk_size"])
    present = [c for c in range(n_chunks) if os.path.exists(_chunk_path(out_dir, c))]
    missing_chunks = sorted(set(range(n_chunks)) - set(present))
    if missing_chunks and not allow_partial:
        raise ValueError(
            f"suite {out_dir} is incomplete: chunks {missing_chunks[:10]}"
            f"{'…' if len(missing_chunks) > 10 else ''} missing"
        )
    observed = None
    if observation is not None:
        from ._observe_suite import observed_columns

        observed, present = observed_columns(out_dir, observation, present, allow_partial=allow_partial)
    parts: dict[str, list] = {}
    for c in present:
        with np.load(_chunk_path(out_dir, c), allow_pickle=False) as z:
            for k in z.files:
                parts.setdefault(k, []).append(z[k])
    out = {k: np.concatenate(v, axis=0) for k, v in parts.items()}
    if observed is not None and present:
        if not np.array_equal(observed.pop("index"), out["index"]):
            raise ValueError(f"suite {out_dir}: observed files do not match the chunks' simulation indices")
        out.update(observed)
    out["theta_names"] = np.asarray(settings["theta_names"])
    if settings.get("summary_config", "SummaryConfig()") == "SummaryConfig()":
        out["summary_names"] = np.asarray(summary_names())
    if missing == "nan":
        for v, f in (("summaries", "flags"), ("observed_summaries", "observed_flags")):
            if v in out:
                out[v] = np.where(out[f], np.nan, out[v])
    return out
