"""``jaxgal stream fit CONFIG.toml``: the stream-acceleration analysis from a TOML file.

Example configuration (every key optional; these are the defaults)::

    [data]
    source = "gd1-i21"      # "gd1-i21" (pseudo-members about the packaged GD-1-I21 track)
                            # or a path read by jaxgal.streams.read_stream
    seed = 0                # for the gd1-i21 pseudo-members
    phi1_range = [-90.0, 10.0]

    [track]
    n_knots = [4, 5, 6]     # marginalised over
    n_knots_rv = 4          # fixed for the radial velocity (0 = same as n_knots)
    n_chains = 4
    n_warmup = 300
    n_samples = 500
    seed = 0

    [accelerations]
    phi1_min = -75.0        # evaluation range, away from the data's ends
    phi1_max = -5.0
    n_points = 15
    reference_phi1 = -19.0  # the point reported in the table (GD-1: the paper's (11.9, 7.3, 171.1°))

    [halo]
    models = ["flattened", "triaxial"]   # [] skips the halo fits
    n_chains = 8
    n_warmup = 300
    n_samples = 400
    seed = 1

    [output]
    dir = "stream_output"   # results.json and the figures

Writes ``results.json`` (accelerations with 68/95 % intervals at the reference point, M(<r), q,
the presets there, NUTS diagnostics and timings, halo-fit summaries and modes) and the figures
``track.png``, ``accelerations.png`` and ``corner_<model>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

__all__ = ["main", "run_analysis", "DEFAULTS"]

DEFAULTS = {
    "data": {"source": "gd1-i21", "seed": 0, "phi1_range": [-90.0, 10.0]},
    "track": {"n_knots": [4, 5, 6], "n_knots_rv": 4, "n_chains": 4, "n_warmup": 300, "n_samples": 500, "seed": 0},
    "accelerations": {"phi1_min": -75.0, "phi1_max": -5.0, "n_points": 15, "reference_phi1": -19.0},
    "halo": {"models": ["flattened", "triaxial"], "n_chains": 8, "n_warmup": 300, "n_samples": 400, "seed": 1},
    "output": {"dir": "stream_output"},
}


def _merge(config: dict) -> dict:
    out = {k: dict(v) for k, v in DEFAULTS.items()}
    for sec, vals in (config or {}).items():
        if sec not in out:
            raise ValueError(f"stream config: unknown section [{sec}]; known: {sorted(out)}")
        unknown = set(vals) - set(out[sec])
        if unknown:
            raise ValueError(f"stream config: unknown key(s) {sorted(unknown)} in [{sec}]")
        out[sec].update(vals)
    return out


def _interval(d):
    q = np.percentile(np.asarray(d), [50, 16, 84, 2.5, 97.5])
    return {"median": q[0], "lo68": q[1], "hi68": q[2], "lo95": q[3], "hi95": q[4]}


def _log(msg):
    print(f"[jaxgal stream] {msg}", file=sys.stderr, flush=True)


def run_analysis(config: dict | None = None, *, make_figures: bool = True) -> dict:
    """Run the whole analysis for a configuration mapping (sections as in the module
    docstring; missing keys take :data:`DEFAULTS`). Returns the results dict that
    :func:`main` writes as JSON."""
    import jax

    from .. import potentials
    from . import _halo, _models
    from ._accelerations import (
        accelerations,
        cylindrical_positions,
        enclosed_mass,
        potential_flattening,
        preset_accelerations,
    )
    from ._data import gd1_track_members, read_stream
    from ._track import fit_track

    cfg = _merge(config or {})
    out_dir = cfg["output"]["dir"]
    os.makedirs(out_dir, exist_ok=True)
    src = cfg["data"]["source"]
    if src == "gd1-i21":
        data = gd1_track_members(seed=int(cfg["data"]["seed"]), phi1_range=tuple(cfg["data"]["phi1_range"]))
    else:
        data = read_stream(src)
    _log(f"{len(data)} stars from {src}")

    tc = cfg["track"]
    t0 = time.perf_counter()
    post = fit_track(jax.random.key(int(tc["seed"])), data, n_knots=tuple(tc["n_knots"]),
                     n_knots_rv=(int(tc["n_knots_rv"]) or None), n_chains=int(tc["n_chains"]),
                     n_warmup=int(tc["n_warmup"]), n_samples=int(tc["n_samples"]))
    _log(f"track fit: {time.perf_counter() - t0:.1f} s")

    ac = cfg["accelerations"]
    phi1 = np.linspace(float(ac["phi1_min"]), float(ac["phi1_max"]), int(ac["n_points"]))
    ref = float(ac["reference_phi1"])
    grid = np.unique(np.append(phi1, ref))
    a, x = accelerations(post, grid, return_positions=True)
    acart = accelerations(post, grid, cartesian=True)
    i_ref = int(np.flatnonzero(grid == ref)[0])
    xr = np.median(x[:, i_ref], 0)
    rzphi = cylindrical_positions(xr)
    mass = enclosed_mass(x[:, i_ref], acart[:, i_ref])
    rzp = cylindrical_positions(x[:, i_ref])
    q_phi = potential_flattening(rzp[:, 0], rzp[:, 1], a[:, i_ref, 0], a[:, i_ref, 2])
    presets = {"MWPotential2014": potentials.MWPotential2014(), "MilkyWayPotential2022": potentials.MilkyWayPotential2022(),
               "McMillan-like": _models.mcmillan_like()}
    x_med = np.median(x, 0)
    pre_track = {k: preset_accelerations(p, x_med) for k, p in presets.items()}
    pre_ref = {}
    for k, p in presets.items():
        ac_ = pre_track[k][i_ref]
        acart_ = np.asarray(p.acceleration(xr))
        pre_ref[k] = {"a_R": ac_[0], "a_phi": ac_[1], "a_z": ac_[2], "M_enc": float(enclosed_mass(xr, acart_)),
                      "q_phi": float(potential_flattening(rzphi[0], rzphi[1], ac_[0], ac_[2]))}
    results = {
        "n_stars": len(data),
        "reference": {"phi1": ref, "R": rzphi[0], "z": rzphi[1], "phi": rzphi[2], "r": float(np.linalg.norm(xr)),
                      "a_R": _interval(a[:, i_ref, 0]), "a_phi": _interval(a[:, i_ref, 1]),
                      "a_z": _interval(a[:, i_ref, 2]), "M_enc": _interval(mass), "q_phi": _interval(q_phi)},
        "presets_at_reference": pre_ref,
        "track_nuts": [{"n_knots": k, "wall_time": f.nuts.wall_time, "n_chains": f.nuts.n_chains,
                        "n_samples": f.nuts.n_samples, "max_rhat": f.nuts.max_rhat(), "min_ess": f.nuts.min_ess(),
                        "divergences": int(np.sum(f.nuts.divergences))} for k, f in zip(post.n_knots, post.fits)],
        "intrinsic_scatter": {c: float(np.nanmedian(post.fits[0].sigma_int[c])) for c in post.fits[0].sigma_int},
    }
    m_in = np.isin(grid, phi1)
    results["profile"] = {"phi1": grid[m_in], "median": np.median(a[:, m_in], 0), "std": np.std(a[:, m_in], 0)}
    halo_fits = {}
    hc = cfg["halo"]
    if hc["models"]:
        ad = _halo.acceleration_data(a[:, m_in], x[:, m_in], grid[m_in])
        for j, model in enumerate(hc["models"]):
            t1 = time.perf_counter()
            fit = _halo.fit_halo(jax.random.key(int(hc["seed"]) + j), ad, model, n_chains=int(hc["n_chains"]),
                                 n_warmup=int(hc["n_warmup"]), n_samples=int(hc["n_samples"]))
            _log(f"halo fit {model}: {time.perf_counter() - t1:.1f} s, max R-hat {fit.nuts.max_rhat():.3f}, "
                 f"{len(fit.modes)} mode(s)")
            halo_fits[model] = fit
            results.setdefault("halo", {})[model] = {
                "summary": fit.summary(), "modes": fit.modes, "wall_time": fit.nuts.wall_time,
                "max_rhat": fit.nuts.max_rhat(), "min_ess": fit.nuts.min_ess(), "n_chains": fit.nuts.n_chains,
                "n_samples": fit.nuts.n_samples, "divergences": int(np.sum(fit.nuts.divergences))}
    if make_figures:
        from ._plotting import plot_accelerations, plot_corner, plot_track

        plot_track(post, data, os.path.join(out_dir, "track.png"))
        paper = None
        if src == "gd1-i21":
            paper = (ref, (-2.5, 0.2, -1.8), (0.1, 0.1, 0.1), (0.2, 0.1, 0.1))
        plot_accelerations(grid[m_in], a[:, m_in], os.path.join(out_dir, "accelerations.png"),
                           presets={k: v[m_in] for k, v in pre_track.items()}, paper=paper)
        for model, fit in halo_fits.items():
            plot_corner(fit.flat(), fit.names, os.path.join(out_dir, f"corner_{model}.png"))
    return results


def _jsonable(o):
    if isinstance(o, dict):
        return {k: _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    return o


def main(argv: list[str] | None = None) -> int:
    """``jaxgal stream fit CONFIG.toml [--out DIR]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="jaxgal stream", description="stream-track accelerations (SPEC §F)")
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="fit a stream track, derive accelerations, fit halo models")
    fit.add_argument("config", help="TOML configuration file")
    fit.add_argument("--out", default=None, help="output folder (overrides [output] dir)")
    args = parser.parse_args(argv)
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    with open(args.config, "rb") as f:
        config = tomllib.load(f)
    if args.out is not None:
        config.setdefault("output", {})["dir"] = args.out
    results = run_analysis(config)
    out_dir = _merge(config)["output"]["dir"]
    tmp = os.path.join(out_dir, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(_jsonable(results), f, indent=1)
    os.replace(tmp, os.path.join(out_dir, "results.json"))
    _log(f"wrote {out_dir}/results.json")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
