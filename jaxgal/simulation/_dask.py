"""Suites on a Dask ``distributed`` cluster: each chunk is one task.

:func:`run_suite_dask` (also ``run_suite(..., client=client)``) submits one task per missing
chunk to a user-supplied ``dask.distributed.Client``; each task runs
:func:`jaxgal.simulation.run_chunk`, which simulates the chunk on its worker's devices and
writes the chunk's files into the suite folder itself (so the folder must be on a file
system that the workers and the client share, as on a cluster's home or scratch space).
The files are those of the local runner byte for byte: θ and keys depend only on the seed
and the simulation index, and each file is written atomically.

Fault tolerance comes from the engine and from the storage:

- a worker that dies mid-task loses only its running chunk: the scheduler re-runs the task
  elsewhere (up to Dask's ``distributed.scheduler.allowed-failures`` deaths per task), and
  a task that raises is retried `retries` times;
- a chunk file is complete or absent, and a task finding its chunk present returns at once,
  so re-running the same call after any failure (even of the client) resumes the suite.

The client updates ``manifest.json`` as tasks complete, with each worker's environment.
On SLURM or PBS, create the client from a ``dask_jobqueue`` cluster (``docs/suites.md``).
jaxgal writes no scheduler of its own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ._config import SimulationConfig, SimulationModel
from ._manifest import update_manifest
from ._suite_gpu import CPU_CHUNK

__all__ = ["run_suite_dask"]


def _chunk_task(out_dir, c, args, keep_particles):
    """What one Dask task runs: one chunk, plus the worker's environment for the manifest."""
    from ._manifest import environment
    from ._chunk import run_chunk

    rec = run_chunk(out_dir, c, *args, keep_particles=keep_particles)
    if not rec.get("skipped"):
        rec["environment"] = environment()
        try:
            from distributed import get_worker

            rec["worker"] = get_worker().address
        except (ImportError, ValueError):  # pragma: no cover - run outside a worker
            rec["worker"] = None
    return rec


def run_suite_dask(
    client,
    out_dir: str,
    n_sims,
    seed,
    n_particles=20_000,
    chunk_size=CPU_CHUNK,
    *,
    config: SimulationConfig | None = None,
    model: SimulationModel | None = None,
    summary_config=None,
    chunks: Sequence[int] | None = None,
    progress: bool = True,
    keep_particles: bool = False,
    retries: int = 2,
) -> list[str]:
    """:func:`run_suite` with each missing chunk run as a task on a Dask cluster.

    **Arguments:** `client`, a ``dask.distributed.Client`` (e.g. on a ``LocalCluster``,
    or a ``dask_jobqueue.SLURMCluster``); `retries`, re-runs of a task that raised; the
    others as :func:`run_suite` (the same settings check, chunk selection and files).

    **Returns:** the paths of the chunks written by this call's tasks, in chunk order.
    """
    try:
        from distributed import as_completed
    except ImportError as e:  # pragma: no cover - exercised only without dask
        raise ImportError(
            "run_suite(client=...) needs dask.distributed: pip install 'jaxgal[dask]'"
        ) from e
    from ._chunk import _check_args, _check_settings, _chunks_todo, _settings_of

    args = _check_args(n_sims, seed, n_particles, chunk_size, config, model, summary_config)
    n_sims, seed, n_particles, chunk_size = args[:4]
    out_dir = os.path.abspath(out_dir)
    _check_settings(out_dir, _settings_of(*args))
    todo = _chunks_todo(out_dir, n_sims, chunk_size, chunks)
    update_manifest(out_dir)
    if not todo:
        return []
    futures = [
        client.submit(_chunk_task, out_dir, c, args, keep_particles, key=f"jaxgal-suite-{seed}-{c}-{os.getpid()}",
                      retries=retries, pure=False)
        for c in todo
    ]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = sum(min((c + 1) * chunk_size, n_sims) - c * chunk_size for c in todo)
        bar = tqdm(total=total, desc=f"suite {os.path.basename(out_dir)} (dask)", unit="sim")
    written, seen_env = {}, set()  # workers seen
    try:
        for fut in as_completed(futures):
            rec = fut.result()
            if rec.get("skipped"):
                continue
            env = rec.pop("environment")
            worker = rec.pop("worker")
            rec["quality"]["includes_compilation"] = worker not in seen_env  # first chunk per worker
            seen_env.add(worker)
            update_manifest(out_dir, {rec["chunk"]: rec}, env=env)
            written[rec["chunk"]] = rec["path"]
            if bar is not None:
                bar.update(rec["quality"]["n_sims"])
    finally:
        if bar is not None:
            bar.close()
    return [written[c] for c in sorted(written)]
