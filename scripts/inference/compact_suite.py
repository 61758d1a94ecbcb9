"""Build the compact training suite shipped in ``jaxgal/data/suite/`` from suite folders.

    python scripts/inference/compact_suite.py /work/suites/train /work/suites/train2 jaxgal/data/suite/train_suite.npz --mocks 4

(several folders: their rows are concatenated in the order given, with a ``suite_id`` column;
each must be a draw from the same prior, i.e. a prefix of a seeded suite, with distinct seeds.)

A suite folder (``jaxgal.simulation.run_suite(..., keep_particles=True)``) holds, per chunk,
θ, the noise-free summaries, counts, flags and derived quantities, and the stars
(``particles_XXXXX.npy``). The estimator is trained on summaries *observed like the data*
(docs/inference.md, "The shipped estimator"):

1. every simulated star observed through the catalogue error model of the embedded
   observation (``CatalogueErrorModel.from_catalogue(default_observation().catalogue)``) and
   the 52 3σ-clipped summaries of those stars (``observed_summaries``), plus the 38 reflex
   targets (``reflex_targets``: the 18-parameter linear fit at 40–120 kpc, 2,000 stars).
   When the suite already holds them (``load_suite(dir, observation="default")``, written
   by ``observe_suite``) they are read; otherwise (``--observe``) they are computed here with
   the same public functions and keys ``fold_in(PRNGKey(OBS_SEED), index)``;
2. the finite-sample noise of a 1,296-star catalogue added to them
   (``finite_sample_sigma`` with the embedded observation's bootstrap errors and counts:
   the simulated bins hold ~10× more stars than the catalogue's), with the key
   ``PRNGKey(--noise-seed)``: column ``summaries_train``; bins with fewer than 5 observed
   stars are ``flags_train`` (NaN inputs);
3. (``--mocks R``; what the shipped estimator is trained on) R selection-matched mocks of the
   embedded catalogue (or of ``--catalogue FILE``, another survey's) per simulation (``selection_matched_mock``: for each of its 1,296
   stars the nearest simulated star in (l, b, d), observed with that star's errors; the R
   mocks share the nearest stars and differ in their errors), then the same ``summaries``
   as the data: column ``summaries_mock`` (n, R, 52), NaN where a bin has fewer than 5 mock
   stars (``flags_mock``), and ``counts_mock``. Keys ``fold_in(fold_in(PRNGKey(MOCK_SEED),
   index), r)``; each chunk's mocks are kept in the suite folder
   (``mocks_<model>_R<R>_XXXXX.npz``), so a rebuild after the suite grows only mocks the new
   chunks. This replaces step 2's Gaussian stand-in for the finite-sample scatter by the real
   scatter of a catalogue-sized sample (docs/inference.md, "The shipped estimator").

Output: one ``.npz`` (no pickle) with ``theta`` (n, 12), ``theta_names``, ``index``, ``suite_id``,
``summaries``/``counts``/``flags`` (noise-free), ``summaries_observed``/``counts_observed``/
``flags_observed``, ``summaries_train``/``flags_train``, ``sigma_add``, with ``--mocks``
``summaries_mock``/``counts_mock``/``flags_mock``, ``derived_*``,
``reflex_*``, ``summary_names`` and ``manifest`` (JSON text: sources, rows per suite, seeds, the code that wrote each suite, the
observation model's identifier, the jaxgal commit).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

OBS_SEED = 7919
MOCK_SEED = 104729


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except Exception:  # pragma: no cover
        return ""


def training_summaries(values, counts, flags, key, obs=None):
    """Observed summaries -> the summaries the estimator is trained on (module docstring, step 2).

    **Arguments:** `values`, `counts`, `flags`: (n, 52) observed summaries (flagged entries may
    be NaN), their star counts and flags; `key`: the ``jax.random`` key of the noise; `obs`: the
    observation whose finite-sample scatter is matched (default ``default_observation()``).

    **Returns:** ``(sim, sigma_add, train)``: the observed summaries as ``Summaries`` (flagged
    entries filled with 0.0), σ_add (n, 52) [km/s] and the noisy summaries, NaN where flagged.
    """
    import jax

    from jaxgal import observables as O

    obs = O.default_observation() if obs is None else obs
    flags = np.asarray(flags, bool)
    vals = np.where(flags, 0.0, np.asarray(values, float))  # NaN (flagged) -> fill value
    sim = O.Summaries(vals, np.asarray(counts, float), np.asarray(counts, float), flags, O.summary_names())
    sig = np.asarray(O.finite_sample_sigma(sim, obs.errors, obs.counts, obs.values))
    eps = np.asarray(jax.random.normal(key, sig.shape, dtype=float))
    return sim, sig, np.where(flags, np.nan, vals + sig * eps)


def _writers(suite_dir: str):
    """The code that wrote a suite (its manifest's ``writers``: commit, versions, devices), or
    None for a suite written before suites had manifests."""
    from jaxgal.simulation import read_manifest

    m = read_manifest(suite_dir)
    return None if m is None else m.get("writers")


_FN = {}


def _observe_fn(model):
    """The jitted per-chunk observation (built once per model)."""
    import jax

    from jaxgal import observables as O

    if model.identifier in _FN:
        return _FN[model.identifier]
    base = jax.random.PRNGKey(OBS_SEED)

    @jax.jit
    def one_chunk(idx, w):
        keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(idx)
        k_s = jax.vmap(lambda k: jax.random.fold_in(k, 0))(keys)
        k_r = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
        s = jax.vmap(lambda k, p: O.observed_summaries(k, p, model))(k_s, w)
        r = jax.vmap(lambda k, p: O.reflex_targets(k, p, model))(k_r, w)
        return s, r

    _FN[model.identifier] = one_chunk
    return one_chunk


def _observe_here(suite_dir: str, data: dict, model, *, n_rows: int, progress: bool = True,
                  cache: str | None = None) -> dict:
    """Observed summaries and reflex targets of the first ``n_rows`` rows, from the stored stars
    (each chunk's result kept in ``cache/observed_XXXXX.npz`` when `cache` is given)."""
    settings = json.load(open(os.path.join(suite_dir, "suite.json")))
    cs = settings["chunk_size"]
    n_chunks = -(-n_rows // cs)
    one_chunk = _observe_fn(model)
    out: dict[str, list] = {}
    t0 = time.time()
    for c in range(n_chunks):
        cpath = os.path.join(cache, f"observed_{c:05d}.npz") if cache else None
        if cpath and os.path.exists(cpath):
            with np.load(cpath, allow_pickle=False) as z:
                res = {k: z[k] for k in z.files}
        else:
            w = np.load(os.path.join(suite_dir, f"particles_{c:05d}.npy")).astype(np.float64)
            idx = np.asarray(data["index"][c * cs:(c + 1) * cs])
            s, r = one_chunk(idx, w)
            r = r.as_dict()
            res = {"observed_summaries": np.asarray(s.values), "observed_counts": np.asarray(s.counts),
                   "observed_flags": np.asarray(s.flags), **{(k if k.startswith("reflex_") else f"reflex_{k}"): np.asarray(v) for k, v in r.items()}}
            if cpath:
                os.makedirs(cache, exist_ok=True)
                np.savez(cpath + ".tmp.npz", **res)
                os.replace(cpath + ".tmp.npz", cpath)
        for k, v in res.items():
            out.setdefault(k, []).append(v)
        if progress:
            print(f"\r[compact_suite] observed chunk {c + 1}/{n_chunks} ({time.time() - t0:.0f} s)", end="",
                  file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return {k: np.concatenate(v, axis=0)[:n_rows] for k, v in out.items()}


_MOCK_FN = {}


def _mock_fn(catalogue, n_mocks: int):
    """The jitted per-chunk selection-matched mocks: (idx (c,), stars (c, N, 6)) -> the
    summaries of `n_mocks` mocks per simulation, each (c, n_mocks, 52)."""
    import jax

    from jaxgal import observables as O

    if (id(catalogue), n_mocks) in _MOCK_FN:
        return _MOCK_FN[(id(catalogue), n_mocks)]
    base = jax.random.PRNGKey(MOCK_SEED)

    def one(i, w):
        def mock(r):
            m = O.selection_matched_mock(jax.random.fold_in(jax.random.fold_in(base, i), r), w, catalogue)
            s = O.summaries(m)
            return s.values_or_nan(), s.counts, s.flags

        return jax.lax.map(mock, jax.numpy.arange(n_mocks))

    fn = jax.jit(jax.vmap(one))
    _MOCK_FN[(id(catalogue), n_mocks)] = fn
    return fn


def _mock_summaries(suite_dir: str, index, *, n_mocks: int, catalogue, tag: str, progress: bool = True) -> dict:
    """Summaries of `n_mocks` selection-matched mocks (``selection_matched_mock`` against
    `catalogue`, then ``summaries``) of each of the first ``len(index)`` simulations, from the
    stored stars; key of mock r of simulation i: ``fold_in(fold_in(PRNGKey(MOCK_SEED), i), r)``.
    Each chunk's result is kept in ``<suite_dir>/mocks_<tag>_R<n_mocks>_XXXXX.npz`` (resumable)."""
    cs = json.load(open(os.path.join(suite_dir, "suite.json")))["chunk_size"]
    n_rows = len(index)
    n_chunks = -(-n_rows // cs)
    fn = _mock_fn(catalogue, n_mocks)
    out: dict[str, list] = {}
    t0 = time.time()
    for c in range(n_chunks):
        cpath = os.path.join(suite_dir, f"mocks_{tag}_R{n_mocks}_{c:05d}.npz")
        if os.path.exists(cpath):
            with np.load(cpath, allow_pickle=False) as z:
                res = {k: z[k] for k in z.files}
        else:
            w = np.load(os.path.join(suite_dir, f"particles_{c:05d}.npy")).astype(np.float64)
            v, n, f = fn(np.asarray(index[c * cs:(c + 1) * cs]), w[: min(cs, n_rows - c * cs)])
            res = {"mock_summaries": np.asarray(v, np.float32), "mock_counts": np.asarray(n, np.int16),
                   "mock_flags": np.asarray(f, bool)}
            np.savez(cpath + ".tmp.npz", **res)
            os.replace(cpath + ".tmp.npz", cpath)
        for k, v in res.items():
            out.setdefault(k, []).append(v)
        if progress:
            el = time.time() - t0
            print(f"\r[compact_suite] {suite_dir}: mocks of chunk {c + 1}/{n_chunks} ({el:.0f} s, "
                  f"ETA {el / (c + 1) * (n_chunks - c - 1):.0f} s)", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return {k: np.concatenate(v, axis=0)[:n_rows] for k, v in out.items()}


def _observed_rows(suite_dir: str, model, *, observe: str, max_rows: int | None, progress: bool,
                   cache: str | None) -> tuple[dict | None, str | None]:
    """One suite folder's rows with their observed summaries and reflex targets: (data, source);
    data None when only observing into `cache` (``out`` None)."""
    from jaxgal.simulation import load_suite

    source = None
    data = None
    base = load_suite(suite_dir, allow_partial=True)
    n_base = base["theta"].shape[0] if max_rows is None else min(base["theta"].shape[0], int(max_rows))
    if observe in ("auto", "suite"):
        try:
            data = load_suite(suite_dir, allow_partial=True, observation="default")
            source = "observe_suite (jaxgal.simulation; observed_<identifier>_XXXXX.npz in the suite)"
            if data["theta"].shape[0] == 0:
                raise ValueError("no observed chunks yet")
            if data["theta"].shape[0] < n_base:
                print(f"[compact_suite] {suite_dir}: observe_suite covers the first {data['theta'].shape[0]} of "
                      f"{n_base} simulations; using those", file=sys.stderr)
        except (TypeError, ValueError, FileNotFoundError) as e:
            if observe == "suite":
                raise
            print(f"[compact_suite] no observed files in {suite_dir} ({e}); observing here", file=sys.stderr)
            data, source = None, None
    if data is None:
        data = base
    n = data["theta"].shape[0]
    if max_rows is not None:
        n = min(n, int(max_rows))
    if source is None:
        # observed summaries for the rows whose stars are stored
        n_part = 0
        cs = json.load(open(os.path.join(suite_dir, "suite.json")))["chunk_size"]
        while os.path.exists(os.path.join(suite_dir, f"particles_{n_part // cs:05d}.npy")) and n_part < n:
            n_part += cs
        n = min(n, n_part)
        data = {k: (v[:n] if np.ndim(v) and k not in ("theta_names", "summary_names") else v)
                for k, v in data.items()}
        data.update(_observe_here(suite_dir, data, model, n_rows=n, progress=progress, cache=cache))
        source = f"computed by scripts/inference/compact_suite.py (keys fold_in(PRNGKey({OBS_SEED}), index))"
    else:
        data = {k: (v[:n] if np.ndim(v) and k not in ("theta_names", "summary_names") else v)
                for k, v in data.items()}
    return data, source


def _concatenate(parts: list[dict]) -> dict:
    """Rows of several suites, one after the other: the columns every suite has (a suite made
    with other code may store more derived columns), plus ``suite_id`` (the suite's position
    in the list)."""
    keys = set(parts[0])
    for p in parts[1:]:
        keys &= set(p)
    out = {}
    for k in keys:
        if k in ("theta_names", "summary_names"):
            vals = [tuple(str(s) for s in p[k]) for p in parts]
            if any(v != vals[0] for v in vals):
                raise ValueError(f"compact_suite: the suites disagree on {k}")
            out[k] = parts[0][k]
        elif np.ndim(parts[0][k]):
            out[k] = np.concatenate([np.asarray(p[k]) for p in parts], axis=0)
        else:
            out[k] = parts[0][k]
    out["suite_id"] = np.concatenate([np.full(p["theta"].shape[0], i, np.int32) for i, p in enumerate(parts)])
    return out


def build(suite_dirs, out: str | None, *, noise_seed: int = 11, observe: str = "auto",
          max_rows: int | None = None, progress: bool = True, cache: str | None = None,
          n_mocks: int = 0, mock_catalogue: str | None = None) -> dict:
    """Write the compact suite (module docstring) of one suite folder or several (their rows
    concatenated in the order given; `max_rows` applies to each); returns its manifest."""
    import jax

    from jaxgal import observables as O

    jax.config.update("jax_enable_x64", True)
    suite_dirs = [suite_dirs] if isinstance(suite_dirs, str) else list(suite_dirs)
    if cache is not None and len(suite_dirs) > 1:
        raise ValueError("compact_suite: --cache works with one suite folder")
    obs = O.default_observation()
    model = O.CatalogueErrorModel.from_catalogue(obs.catalogue, source="jaxgal default observation (mock)")
    if mock_catalogue is None:
        mock_cat, mock_tag = obs.catalogue, model.identifier
    else:  # the mocks of another survey's catalogue (the other columns keep the embedded observation)
        mock_cat = O.read_catalogue(mock_catalogue)
        mock_tag = O.CatalogueErrorModel.from_catalogue(mock_cat, source=os.path.basename(mock_catalogue)).identifier
    parts, sources = [], []
    for d in suite_dirs:
        data, source = _observed_rows(d, model, observe=observe, max_rows=max_rows, progress=progress, cache=cache)
        if n_mocks and data is not None:
            data.update(_mock_summaries(d, np.asarray(data["index"]), n_mocks=n_mocks, catalogue=mock_cat,
                                        tag=mock_tag, progress=progress))
        parts.append(data)
        sources.append(source)
    if out is None:
        return {}
    data = _concatenate(parts)
    n = data["theta"].shape[0]

    names = O.summary_names()
    sim, sig, train = training_summaries(data["observed_summaries"], data["observed_counts"], data["observed_flags"],
                                         jax.random.PRNGKey(noise_seed), obs)

    arrays = {
        "index": np.asarray(data["index"]),
        "suite_id": np.asarray(data["suite_id"]),
        "theta": np.asarray(data["theta"], float),
        "theta_names": np.asarray([str(s) for s in data["theta_names"]]),
        "summary_names": np.asarray(names),
        "summaries": np.where(np.asarray(data["flags"], bool), np.nan, np.asarray(data["summaries"], float)),
        "counts": np.asarray(data["counts"], np.float32),
        "flags": np.asarray(data["flags"], bool),
        "summaries_observed": np.asarray(sim.values, float),
        "counts_observed": np.asarray(sim.counts, np.float32),
        "flags_observed": np.asarray(sim.flags, bool),
        "summaries_train": train,
        "flags_train": np.asarray(sim.flags, bool),
        "sigma_add": sig.astype(np.float32),
        "observation_counts": np.asarray(obs.counts, float),
    }
    if n_mocks:
        arrays["summaries_mock"] = data["mock_summaries"]  # (n, n_mocks, 52) float32, NaN where flagged
        arrays["counts_mock"] = data["mock_counts"]
        arrays["flags_mock"] = data["mock_flags"]
    for k, v in data.items():
        if k.startswith("derived_") or k.startswith("reflex_"):
            arrays[k] = np.asarray(v)
    manifest = {
        "source_suites": [os.path.abspath(d) for d in suite_dirs],
        "rows_per_suite": [int(p["theta"].shape[0]) for p in parts],
        "n_rows": int(n),
        "observed": sources,
        "observation_model": model.identifier,
        "finite_sample_noise": {"seed": int(noise_seed), "obs_counts": "default_observation().counts",
                                "obs_errors": "default_observation().errors (1,000 bootstrap resamples)"},
        "mocks": ({"n_per_simulation": int(n_mocks), "seed": MOCK_SEED,
                   "catalogue": os.path.abspath(mock_catalogue) if mock_catalogue else "default_observation().catalogue",
                   "catalogue_identifier": mock_tag,
                   "function": "selection_matched_mock(fold_in(fold_in(PRNGKey(seed), index), r), stars, catalogue) "
                               "then summaries(...)"} if n_mocks else None),
        "suite_settings": [json.load(open(os.path.join(d, "suite.json"))) for d in suite_dirs],
        "suite_writers": [_writers(d) for d in suite_dirs],
        "jaxgal_commit": _git_commit(),
        "command": "python scripts/inference/compact_suite.py " + " ".join(sys.argv[1:]),
    }
    arrays["manifest"] = np.asarray(json.dumps(manifest))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, out)
    print(f"[compact_suite] wrote {out}: {n} simulations ({os.path.getsize(out) / 1e6:.2f} MB)", file=sys.stderr)
    return manifest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("suite_dir", nargs="+", help="suite folder(s); rows concatenated in this order")
    p.add_argument("out")
    p.add_argument("--noise-seed", type=int, default=11)
    p.add_argument("--observe", choices=["auto", "suite", "here"], default="auto",
                   help="read observed summaries from the suite (suite), compute them (here), or either (auto)")
    p.add_argument("--max-rows", type=int, default=None)
    p.add_argument("--mocks", type=int, default=0,
                   help="selection-matched mocks of the catalogue per simulation (column summaries_mock)")
    p.add_argument("--catalogue", default=None,
                   help="catalogue file (jaxgal.observables.read_catalogue) the mocks match; default the embedded one")
    p.add_argument("--cache", default=None, help="folder keeping each chunk's observed summaries (with --observe here)")
    p.add_argument("--watch", type=float, default=0.0,
                   help="keep observing new chunks every WATCH seconds (with --cache; out '-')")
    a = p.parse_args(argv)
    while a.watch > 0:
        build(a.suite_dir, None, observe="here", cache=a.cache, progress=False)
        time.sleep(a.watch)
    build(a.suite_dir, None if a.out == "-" else a.out, noise_seed=a.noise_seed, observe=a.observe,
          max_rows=a.max_rows, cache=a.cache, n_mocks=a.mocks, mock_catalogue=a.catalogue)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
