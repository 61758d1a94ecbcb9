"""The manifest of a suite: ``manifest.json``, what made it and what is in it.

:func:`update_manifest` (called by :func:`jaxgal.simulation.run_suite` after every chunk,
and usable on any suite folder, including one written before manifests existed) writes

- ``suite``: the settings of ``suite.json`` (n_sims, seed, n_particles, chunk_size, the
  simulation configuration with every field's value, the summary configuration's
  ``repr``, θ names);
- ``writers``: each distinct software environment that wrote chunks (jaxgal, jax, jaxlib,
  equinox, numpy and Python versions, the git commit of the jaxgal checkout when it is one,
  with ``-dirty`` for uncommitted changes, the JAX platform and device count);
- ``chunks``: per chunk, its quality counts (simulations, clipped c200, flagged bins,
  simulations with a flagged bin, failed integrations = simulations with a non-finite
  present-day particle, non-finite stored values) and, for chunks timed by a runner, the
  seconds it took and which writer ran it;
- ``summary``: the totals of those counts and the mean seconds per simulation;
- ``observations``: the observation models the suite was observed with
  (``observations.json``; :func:`jaxgal.simulation.observe_suite`).

The file is rewritten atomically (temporary name + rename) under an advisory lock
(``manifest.json.lock``, ``fcntl.flock``), so several processes writing chunks of one suite
(e.g. one per cluster task) merge their entries. The manifest is bookkeeping: timings differ
between runs; the chunk files themselves are identical for the same seed and settings.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import subprocess
from collections.abc import Mapping

import numpy as np

__all__ = ["update_manifest", "chunk_quality", "environment", "read_manifest"]

MANIFEST = "manifest.json"
_VERSION = 1


@functools.lru_cache(maxsize=1)
def _environment() -> tuple:
    return tuple(_environment_now().items())


def environment() -> dict:
    """The software environment of this process (versions, git commit, JAX devices), taken
    once per process, at the first call: the code a process runs is the code it imported,
    even if the checkout changes later."""
    return dict(_environment())


def _environment_now() -> dict:
    import importlib.metadata as md

    env = {"python": platform.python_version()}
    for pkg in ("jaxgal", "jax", "jaxlib", "equinox", "numpy"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            env[pkg] = None
    import jaxgal

    env["jaxgal"] = getattr(jaxgal, "__version__", env["jaxgal"])
    env["git_commit"] = _git_commit(os.path.dirname(os.path.dirname(os.path.abspath(jaxgal.__file__))))
    try:
        import jax

        devs = jax.devices()
        env["platform"], env["devices"] = devs[0].platform, len(devs)
    except Exception:  # noqa: BLE001 - a manifest never fails a run
        env["platform"], env["devices"] = None, None
    return env


def _git_commit(root: str) -> str | None:
    if not os.path.exists(os.path.join(root, ".git")):
        return None
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "jaxgal"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("-dirty" if dirty else "")


def chunk_quality(arrays: Mapping[str, np.ndarray], particles: np.ndarray | None = None) -> dict:
    """Quality counts of one chunk (its stored arrays; `particles` (n, N, 6) if known).

    **Returns:** a dict with ``n_sims``, ``c200_clipped`` (simulations whose c200 hit the
    solver's bounds), ``flagged_bins`` (summary entries of bins with fewer than the minimum
    count), ``sims_with_flagged_bins``, ``failed_integrations`` (simulations with a
    non-finite present-day particle; None when the particles are not available) and
    ``nonfinite_values`` (non-finite numbers in the stored arrays, by field; empty when
    none).
    """
    n = int(np.shape(arrays["index"])[0])
    flags = np.asarray(arrays["flags"], dtype=bool)
    nonfinite = {}
    for k, v in arrays.items():
        v = np.asarray(v)
        if v.dtype.kind in "fc":
            bad = int(np.size(v) - np.count_nonzero(np.isfinite(v)))
            if bad:
                nonfinite[k] = bad
    failed = None
    if particles is not None:
        p = np.asarray(particles)
        failed = int(np.count_nonzero(~np.all(np.isfinite(p.reshape(p.shape[0], -1)), axis=1)))
    return dict(
        n_sims=n,
        c200_clipped=int(np.count_nonzero(arrays["derived_c200_clipped"])) if "derived_c200_clipped" in arrays else None,
        flagged_bins=int(np.count_nonzero(flags)),
        sims_with_flagged_bins=int(np.count_nonzero(flags.any(axis=1))),
        failed_integrations=failed,
        nonfinite_values=nonfinite,
    )


@contextlib.contextmanager
def _locked(path: str):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: no lock
        yield
        return
    with open(path + ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_manifest(out_dir: str) -> dict | None:
    """The manifest of a suite folder, or None if it has none."""
    path = os.path.join(out_dir, MANIFEST)
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def update_manifest(
    out_dir: str,
    timed: Mapping[int, dict] | None = None,
    *,
    env: dict | None = None,
) -> dict:
    """Create or update ``manifest.json`` of a suite folder (module docstring).

    **Arguments:**

    - `out_dir`: the suite folder (with ``suite.json``).
    - `timed`: chunk index -> ``{"seconds": s, "quality": chunk_quality(...)}`` for chunks
      this process has just written (their quality is then taken as given, e.g. with the
      failed-integration count from the particles in memory; ``quality["includes_compilation"]``
      marks a chunk whose time includes compiling, left out of the steady seconds per
      simulation); other chunks present are
      scanned from their files once.
    - `env`: the writer's environment (default :func:`environment`).

    **Returns:** the manifest written.
    """
    path = os.path.join(out_dir, MANIFEST)
    with open(os.path.join(out_dir, "suite.json")) as fh:
        settings = json.load(fh)
    n_chunks = -(-int(settings["n_sims"]) // int(settings["chunk_size"]))
    with _locked(path):
        man = read_manifest(out_dir) or {}
        man["format"], man["version"], man["suite"] = "jaxgal-suite-manifest", _VERSION, settings
        writers = man.setdefault("writers", [])
        chunks = {int(k): v for k, v in man.get("chunks", {}).items()}
        if timed:
            e = environment() if env is None else env
            if e not in writers:
                writers.append(e)
            w = writers.index(e)
            for c, rec in timed.items():
                chunks[int(c)] = dict(rec["quality"], seconds=float(rec["seconds"]), writer=w)
        for c in range(n_chunks):
            p = os.path.join(out_dir, f"chunk_{c:05d}.npz")
            if c in chunks or not os.path.exists(p):
                continue
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            pp = os.path.join(out_dir, f"particles_{c:05d}.npy")
            parts = np.load(pp, mmap_mode="r") if os.path.exists(pp) else None
            chunks[c] = chunk_quality(arrays, parts)
        man["chunks"] = {str(c): chunks[c] for c in sorted(chunks)}
        man["summary"] = _summary(chunks, n_chunks, int(settings["n_sims"]))
        obs = os.path.join(out_dir, "observations.json")
        if os.path.exists(obs):
            with open(obs) as fh:
                rec = json.load(fh)
            man["observations"] = {
                k: dict(seed=v.get("seed"), model_file=v.get("model_file"),
                        summary_config=v.get("summary_config"), reflex_options=v.get("reflex_options"),
                        chunks_observed=len([f for f in os.listdir(out_dir)
                                             if f.startswith(f"observed_{k}_") and f.endswith(".npz")]),
                        seconds_per_simulation=v.get("seconds_per_simulation"))
                for k, v in sorted(rec.items())
            }
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump(man, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    return man


def _summary(chunks: dict, n_chunks: int, n_sims: int) -> dict:
    vals = list(chunks.values())
    tot = lambda k: sum(v[k] for v in vals if v.get(k) is not None)  # noqa: E731
    known_failed = [v for v in vals if v.get("failed_integrations") is not None]
    timed_all = [v for v in vals if "seconds" in v]
    timed = [v for v in timed_all if not v.get("includes_compilation")]
    nonfinite: dict[str, int] = {}
    for v in vals:
        for k, m in v.get("nonfinite_values", {}).items():
            nonfinite[k] = nonfinite.get(k, 0) + m
    return dict(
        n_chunks=n_chunks,
        chunks_done=len(vals),
        n_sims=n_sims,
        sims_done=tot("n_sims"),
        c200_clipped=tot("c200_clipped"),
        flagged_bins=tot("flagged_bins"),
        sims_with_flagged_bins=tot("sims_with_flagged_bins"),
        failed_integrations=sum(v["failed_integrations"] for v in known_failed),
        failed_integrations_checked_sims=sum(v["n_sims"] for v in known_failed),
        nonfinite_values=nonfinite,
        timed_chunks=len(timed_all),
        seconds=sum(v["seconds"] for v in timed_all),
        steady_chunks=len(timed),
        seconds_per_simulation=(sum(v["seconds"] for v in timed) / sum(v["n_sims"] for v in timed))
        if timed else None,
    )
