"""Re-observing a stored suite through an observation model: ``observe_suite``.

A suite run with ``run_suite(..., keep_particles=True)`` keeps each chunk's present-day
stars (``particles_XXXXX.npy``, float32, Galactocentric kpc and km/s). :func:`observe_suite`
observes them as a survey would (:mod:`jaxgal.observables` observation models: per-star
errors drawn from a catalogue, the survey's quality cuts) and stores, per simulation,

- the *observed* summaries: the same 3σ-clipped 52 statistics as the data, over the
  observed stars that pass the cuts, binned by their observed r_gal
  (:func:`jaxgal.observables.observed_summaries`), with their counts and flags;
- the reflex-motion targets: the 18-parameter linear reflex fit of the observed stars with
  40 ≤ r_gal ≤ 120 kpc, v_travel, apex and (v_x, v_y, v_z) at 40, 100 and 120 kpc with
  their errors, the fit's status and the number of stars fitted
  (:func:`jaxgal.observables.reflex_targets`, :func:`~jaxgal.observables.reflex_target_names`).

Files written beside the suite's own (nothing of the suite is rewritten):

- ``observation_<identifier>.npz``: the model (``model.save``; reload it with
  :func:`jaxgal.observables.load_observation_model`), so the suite documents what observed it;
- ``observations.json``: per identifier, the seed, summary settings, reflex options, and the
  time spent;
- ``observed_<identifier>_XXXXX.npz``: one per chunk, written to a temporary name and
  renamed (complete or absent), with ``index``, ``observed_summaries``, ``observed_counts``,
  ``observed_n_kept``, ``observed_flags`` and ``reflex_<name>`` columns.

**Keys.** Simulation i (its index in the suite) is observed with
``k_i = fold_in(PRNGKey(seed), i)``, ``k_summaries, k_reflex = split(k_i)``: the result does
not depend on how the suite is chunked, interrupted or resumed.

**Missing bins.** As in the noise-free chunks, a bin with fewer than ``min_count`` (5)
observed stars holds the summary configuration's fill value (0.0) and is flagged; the stored
files hold no NaN for it. :func:`jaxgal.simulation.load_suite` returns NaN in flagged bins
(the convention of :mod:`jaxgal.inference`, which reads NaN as a missing input with an
indicator feature).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..observables import (
    AbstractObservationModel,
    CatalogueErrorModel,
    SummaryConfig,
    default_observation,
    load_observation_model,
    observed_summaries,
    reflex_target_names,
    reflex_targets,
)
from .._validation import check_int

__all__ = ["observe_suite", "default_observation_model", "observation_identifiers"]

_SETTINGS = "suite.json"
_RECORD = "observations.json"


def default_observation_model() -> CatalogueErrorModel:
    """The default observation model of a suite: the errors, missing observables and sky
    distribution of the embedded mock catalogue
    (:func:`jaxgal.observables.default_observation`), as
    ``CatalogueErrorModel.from_catalogue(default_observation().catalogue)`` with its
    defaults (the four quadrants, 8 nearest stars in distance, no quality cuts)."""
    return CatalogueErrorModel.from_catalogue(default_observation().catalogue)


def _particles_path(out_dir: str, c: int) -> str:
    return os.path.join(out_dir, f"particles_{c:05d}.npy")


def _observed_path(out_dir: str, identifier: str, c: int) -> str:
    return os.path.join(out_dir, f"observed_{identifier}_{c:05d}.npz")


def _model_path(out_dir: str, identifier: str) -> str:
    return os.path.join(out_dir, f"observation_{identifier}.npz")


def _read_json(path: str) -> dict:
    with open(path) as fh:
        return json.load(fh)


def _write_json(path: str, obj) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _suite_settings(out_dir: str) -> dict:
    path = os.path.join(out_dir, _SETTINGS)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{out_dir} is not a jaxgal suite (no {_SETTINGS})")
    return _read_json(path)


def observation_identifiers(out_dir: str) -> tuple[str, ...]:
    """Identifiers of the observation models a suite has been observed with
    (``observations.json``)."""
    path = os.path.join(out_dir, _RECORD)
    return tuple(sorted(_read_json(path))) if os.path.exists(path) else ()


def _resolve_model(out_dir: str, observation) -> tuple[str, AbstractObservationModel | None]:
    if observation is None or (isinstance(observation, str) and observation == "default"):
        m = default_observation_model()
        return m.identifier, m
    if isinstance(observation, AbstractObservationModel):
        return observation.identifier, observation
    if isinstance(observation, str):
        return observation, None
    raise TypeError(
        f"observation must be None, 'default', an identifier string or an observation model; "
        f"got {type(observation)}"
    )


@eqx.filter_jit
def _observe_batch(model, keys, particles, summary_config, n_stars):
    """One chunk's observation, vmapped over simulations: keys (B,), particles (B, N, 6)
    -> (Summaries, ReflexTargets). Module-level, so that every call with the same model
    structure and shapes reuses one compiled program."""

    def one(k, w):
        k_sum, k_ref = jax.random.split(k)
        s = observed_summaries(k_sum, w, model, summary_config)
        t = reflex_targets(k_ref, w, observation_model=model, n_stars=n_stars)
        return s, t

    return jax.vmap(one)(keys, particles)


def observe_suite(
    suite_dir: str,
    observation_model: AbstractObservationModel | None = None,
    *,
    seed=0,
    chunks: Sequence[int] | None = None,
    summary_config: SummaryConfig | None = None,
    reflex_stars: int = 2000,
    progress: bool = True,
) -> list[str]:
    """Observe every stored chunk of a suite that kept its particles (module docstring).

    **Arguments:**

    - `suite_dir`: a suite folder written by :func:`run_suite` with ``keep_particles=True``
      (chunks without a ``particles_XXXXX.npy`` file are skipped; the suite may still be
      running).
    - `observation_model`: an observation model (e.g.
      ``CatalogueErrorModel.from_catalogue(cat)`` for a survey's catalogue, or
      :class:`jaxgal.observables.ErrorModel`); None = :func:`default_observation_model`.
    - `seed`: integer ≥ 0; simulation i uses ``fold_in(PRNGKey(seed), i)``.
    - `chunks`: only these chunk indices (default: all with particles).
    - `summary_config`: the :class:`~jaxgal.observables.SummaryConfig` of the observed
      summaries (default: the paper's).
    - `reflex_stars`: stars drawn for each reflex fit (2000, as
      :func:`~jaxgal.observables.reflex_targets`).
    - `progress`: a tqdm progress bar over chunks.

    Resumable: chunks already observed with this model are skipped; a second call with the
    same model and a different `seed` or settings raises ``ValueError``.

    **Returns:** the paths of the ``observed_<identifier>_XXXXX.npz`` files written.
    """
    seed = check_int(seed, "seed", lo=0)
    reflex_stars = check_int(reflex_stars, "reflex_stars")
    settings = _suite_settings(suite_dir)
    model = default_observation_model() if observation_model is None else observation_model
    if not isinstance(model, AbstractObservationModel):
        raise TypeError(
            f"observe_suite: observation_model must be an observation model or None; got {type(model)}"
        )
    summary_config = SummaryConfig() if summary_config is None else summary_config
    ident = model.identifier
    reflex_options = dict(n_stars=reflex_stars)
    record = dict(
        seed=int(seed), summary_config=repr(summary_config), reflex_options=reflex_options,
        model_file=os.path.basename(_model_path(suite_dir, ident)), model_kind=model.kind,
        keys="k_i = fold_in(PRNGKey(seed), i); k_summaries, k_reflex = split(k_i)",
    )
    rec_path = os.path.join(suite_dir, _RECORD)
    records = _read_json(rec_path) if os.path.exists(rec_path) else {}
    old = records.get(ident)
    if old is not None:
        diff = {k: (old.get(k), v) for k, v in record.items() if old.get(k) != v}
        if diff:
            raise ValueError(
                f"observe_suite: {suite_dir} was observed with model {ident} and other settings "
                f"{diff} (existing, requested); delete its observed_{ident}_*.npz files to redo it"
            )
    if not os.path.exists(_model_path(suite_dir, ident)):
        model.save(_model_path(suite_dir, ident))

    n_sims, chunk_size = int(settings["n_sims"]), int(settings["chunk_size"])
    n_chunks = -(-n_sims // chunk_size)
    todo = range(n_chunks) if chunks is None else [int(c) for c in chunks]
    bad = [c for c in todo if not 0 <= c < n_chunks]
    if bad:
        raise ValueError(f"observe_suite: chunk indices {bad} outside 0..{n_chunks - 1}")
    todo = [
        c for c in todo
        if os.path.exists(_particles_path(suite_dir, c))
        and not os.path.exists(_observed_path(suite_dir, ident, c))
    ]
    if old is None:
        records[ident] = dict(record, n_observed=0, seconds=0.0)
        _write_json(rec_path, records)
    if not todo:
        return []

    base = jax.random.PRNGKey(seed)
    names = reflex_target_names()
    it = todo
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(todo, desc=f"observe {os.path.basename(os.path.abspath(suite_dir))}", unit="chunk")
    written, n_done, t_all, t_steady, n_steady = [], 0, 0.0, 0.0, 0
    for j, c in enumerate(it):
        t0 = time.perf_counter()
        lo, hi = c * chunk_size, min((c + 1) * chunk_size, n_sims)
        idx = np.arange(lo, hi)
        w = np.load(_particles_path(suite_dir, c), allow_pickle=False)
        if w.ndim != 3 or w.shape[0] != len(idx) or w.shape[-1] != 6:
            raise ValueError(
                f"observe_suite: {_particles_path(suite_dir, c)} has shape {w.shape}; expected "
                f"({len(idx)}, n_particles, 6)"
            )
        pad = chunk_size - len(idx)  # pad the last chunk: one compiled program
        idx_p = np.concatenate([idx, np.repeat(idx[-1:], pad)])
        w_p = np.concatenate([w, np.repeat(w[-1:], pad, axis=0)]) if pad else w
        keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(idx_p))
        with jax.numpy_dtype_promotion("standard"):  # the observables layer's convention
            s, t = _observe_batch(
                model, keys, jnp.asarray(w_p, dtype=jnp.float64), summary_config, reflex_stars
            )
        td = t.as_dict()
        arrays = dict(
            index=idx,
            observed_summaries=np.asarray(s.values)[: len(idx)],
            observed_counts=np.asarray(s.counts)[: len(idx)],
            observed_n_kept=np.asarray(s.n_kept)[: len(idx)],
            observed_flags=np.asarray(s.flags)[: len(idx)],
        )
        for nm in names:
            arrays[nm if nm.startswith("reflex_") else f"reflex_{nm}"] = np.asarray(td[nm])[: len(idx)]
        path = _observed_path(suite_dir, ident, c)
        tmp = path[:-4] + f".tmp{os.getpid()}.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
        written.append(path)
        dt = time.perf_counter() - t0
        t_all += dt
        n_done += len(idx)
        if j > 0:  # the first chunk of a call includes compilation
            t_steady += dt
            n_steady += len(idx)
        if progress:
            it.set_postfix_str(f"{dt / len(idx):.2f} s/sim")
    records = _read_json(rec_path)
    r = records.setdefault(ident, dict(record, n_observed=0, seconds=0.0))
    r["n_observed"] = int(r.get("n_observed", 0)) + n_done
    r["seconds"] = float(r.get("seconds", 0.0)) + t_all
    r["steady_simulations"] = int(r.get("steady_simulations", 0)) + n_steady
    r["steady_seconds"] = float(r.get("steady_seconds", 0.0)) + t_steady
    if r["steady_simulations"]:
        r["seconds_per_simulation"] = r["steady_seconds"] / r["steady_simulations"]
    _write_json(rec_path, records)
    return written


def observed_columns(
    out_dir: str, observation, chunks: Sequence[int], *, allow_partial: bool = False
) -> tuple[dict[str, np.ndarray], list[int]]:
    """The observed columns of the given chunks, for :func:`load_suite`: (mapping, chunks
    present). Raises ``ValueError`` naming the missing chunks unless `allow_partial`."""
    ident, _ = _resolve_model(out_dir, observation)
    known = observation_identifiers(out_dir)
    if ident not in known:
        raise ValueError(
            f"suite {out_dir} was not observed with {ident!r}; observed with: {list(known) or 'none'} "
            "(run jaxgal.simulation.observe_suite)"
        )
    present = [c for c in chunks if os.path.exists(_observed_path(out_dir, ident, c))]
    missing = sorted(set(chunks) - set(present))
    if missing and not allow_partial:
        raise ValueError(
            f"suite {out_dir}: chunks {missing[:10]}{'…' if len(missing) > 10 else ''} are not "
            f"observed with {ident} (run observe_suite, or allow_partial=True)"
        )
    parts: dict[str, list] = {}
    for c in present:
        with np.load(_observed_path(out_dir, ident, c), allow_pickle=False) as z:
            for k in z.files:
                parts.setdefault(k, []).append(z[k])
    return {k: np.concatenate(v, axis=0) for k, v in parts.items()}, present


def load_suite_observation_model(out_dir: str, identifier: str) -> AbstractObservationModel:
    """The observation model saved in a suite folder under `identifier`."""
    return load_observation_model(_model_path(out_dir, identifier))
