"""``jaxgal stream fit CONFIG``: the stream-acceleration analysis from a TOML file.

``CONFIG`` is a TOML file, or the name of a configuration shipped with jaxgal
(:data:`PACKAGED_CONFIGS`: ``gd1_paper`` — the GD-1 paper's setup on the best data available
offline; ``gd1_i21`` — the same model on GD-1-I21 alone; ``gd1_n22`` — jaxgal's previous
model). Every key is optional; these are the defaults::

    [data]
    source = "gd1"          # "gd1": pseudo-members about the galstreams GD-1 tracks,
                            # or a path read by jaxgal.streams.read_stream
    seed = 0                # of the pseudo-members
    phi1_range = [-90.0, 10.0]
    rv_phi1_range = [-85.0, -5.0]   # where the pseudo-members have radial velocities (80°)
    rv_track = "i21"        # "i21" or "i24": the track the radial velocities follow
    n_stars = 910
    n_rv = 245
    add_bonaca2020 = false  # add the 43 Bonaca et al. (2020) Hectochelle members

    [distance]              # the paper model's distance track
    track = "i21"           # "i21" (galstreams GD-1-I21), "members" (fitted to the data's
                            # distances) or a table with phi1, distance columns
    scale_sigma = 0.05      # prior σ of the shared distance scale (0 = fixed)
    offset_sigma = 0.0      # prior σ of the shared offset [kpc]
    node_spacing = 2.0      # [deg], for "i21"

    [track]
    model = "paper"         # "paper" (φ2, v_GSR, |v| + distance track) or "n22" (previous)
    n_knots = [4, 5, 6]     # marginalised over
    n_knots_rv = 0          # fixed radial-velocity knots (0 = marginalised)
    n_knots_speed = 4       # fixed speed knots (paper model)
    knot_range = []         # outer knots of every quantity [deg] ([] = each one's data ends)
    bin_width = 4.0         # scatter-inflation bins [deg]: φ2 (and n22 astrometry)
    rv_bin_width = 8.0      # radial velocity and speed
    n_chains = 4
    n_warmup = 300
    n_samples = 500
    seed = 0
    [track.components.phi2] # per quantity (phi2, v_gsr, speed; n22: its five): n_knots,
                            # knot_range, phi1_range, bin_width

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
    likelihood = "independent"           # or "covariance" (the draws' full covariance)
    components = [0, 1, 2]               # of (a_R, a_phi, a_z) in the likelihood
    n_starts = 32                        # optimisations whose distinct optima seed the chains

    [output]
    dir = "stream_output"   # results.json and the figures

Writes ``accelerations.npz`` (the acceleration and position draws at the evaluation points:
``phi1`` (M,), ``a`` (n, M, 3) cylindrical [km/s/Myr], ``x`` (n, M, 3) [kpc], float32, thinned to
at most 4000 draws), ``results.json`` (the configuration, accelerations with 68/95 % intervals at the
reference point, M(<r), q_Φ, the presets there, NUTS diagnostics and timings, halo-fit
summaries and modes with posterior medians) and the figures ``track.png``,
``accelerations.png`` and ``corner_<model>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib import resources

import numpy as np

__all__ = ["main", "run_analysis", "DEFAULTS", "PACKAGED_CONFIGS", "load_config"]

DEFAULTS = {
    "data": {"source": "gd1", "seed": 0, "phi1_range": [-90.0, 10.0], "rv_phi1_range": [-85.0, -5.0],
             "rv_track": "i21", "n_stars": 910, "n_rv": 245, "add_bonaca2020": False},
    "distance": {"track": "i21", "scale_sigma": 0.05, "offset_sigma": 0.0, "node_spacing": 2.0},
    "track": {"model": "paper", "n_knots": [4, 5, 6], "n_knots_rv": 0, "n_knots_speed": 4, "knot_range": [],
              "bin_width": 4.0, "rv_bin_width": 8.0, "n_chains": 4, "n_warmup": 300, "n_samples": 500, "seed": 0,
              "components": {}},
    "accelerations": {"phi1_min": -75.0, "phi1_max": -5.0, "n_points": 15, "reference_phi1": -19.0},
    "halo": {"models": ["flattened", "triaxial"], "n_chains": 8, "n_warmup": 300, "n_samples": 400, "seed": 1,
             "likelihood": "independent", "components": [0, 1, 2], "n_starts": 32},
    "output": {"dir": "stream_output"},
}

#: Configurations shipped with jaxgal (``jaxgal/data/<name>.toml``), usable by name.
PACKAGED_CONFIGS = ("gd1_paper", "gd1_i21", "gd1_n22")


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
    """Median and 68/95 % intervals of the finite draws, and the fraction of finite draws
    (q_Φ is undefined — NaN — for a draw with a_R a_z < 0)."""
    d = np.asarray(d, float)
    ok = np.isfinite(d)
    q = np.percentile(d[ok], [50, 16, 84, 2.5, 97.5]) if ok.any() else np.full(5, np.nan)
    return {"median": q[0], "lo68": q[1], "hi68": q[2], "lo95": q[3], "hi95": q[4], "finite": float(ok.mean())}


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
    from ._data import (
        DistanceTrack,
        concatenate,
        gd1_distance_track,
        gd1_track_members,
        load_bonaca2020_members,
        read_stream,
    )
    from ._track import fit_track

    cfg = _merge(config or {})
    out_dir = cfg["output"]["dir"]
    os.makedirs(out_dir, exist_ok=True)
    dc = cfg["data"]
    src = dc["source"]
    if src == "gd1":
        data = gd1_track_members(seed=int(dc["seed"]), n_stars=int(dc["n_stars"]), n_rv=int(dc["n_rv"]),
                                 phi1_range=tuple(dc["phi1_range"]), rv_phi1_range=tuple(dc["rv_phi1_range"]),
                                 rv_track=str(dc["rv_track"]))
    else:
        data = read_stream(src)
    if dc["add_bonaca2020"]:
        data = concatenate(data, load_bonaca2020_members())
    _log(f"{len(data)} stars from {src}" + (" + Bonaca et al. (2020)" if dc["add_bonaca2020"] else ""))

    tc = cfg["track"]
    dist = None
    if tc["model"] == "paper":
        ds = cfg["distance"]
        if ds["track"] == "i21":
            dist = gd1_distance_track("i21", node_spacing=float(ds["node_spacing"]),
                                      scale_sigma=float(ds["scale_sigma"]), offset_sigma=float(ds["offset_sigma"]))
        elif ds["track"] != "members":
            dist = DistanceTrack.from_table(ds["track"], scale_sigma=float(ds["scale_sigma"]),
                                            offset_sigma=float(ds["offset_sigma"]), name=str(ds["track"]))
    t0 = time.perf_counter()
    post = fit_track(jax.random.key(int(tc["seed"])), data, n_knots=tuple(tc["n_knots"]), model=str(tc["model"]),
                     distance_track=dist, components=tc["components"], n_knots_rv=(int(tc["n_knots_rv"]) or None),
                     n_knots_speed=int(tc["n_knots_speed"]),
                     knot_range=(tuple(tc["knot_range"]) if tc["knot_range"] else None),
                     bin_width=float(tc["bin_width"]), rv_bin_width=float(tc["rv_bin_width"]),
                     n_chains=int(tc["n_chains"]), n_warmup=int(tc["n_warmup"]), n_samples=int(tc["n_samples"]))
    _log(f"track fit: {time.perf_counter() - t0:.1f} s; accelerations allowed in phi1 {post.phi1_range}")

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
        "config": cfg,
        "model": post.model,
        "n_stars": len(data),
        "n_rv": int(np.isfinite(data.column("radial_velocity")).sum()),
        "eval_phi1_range": post.phi1_range,
        "reference": {"phi1": ref, "R": rzphi[0], "z": rzphi[1], "phi": rzphi[2], "r": float(np.linalg.norm(xr)),
                      "a_R": _interval(a[:, i_ref, 0]), "a_phi": _interval(a[:, i_ref, 1]),
                      "a_z": _interval(a[:, i_ref, 2]), "M_enc": _interval(mass), "q_phi": _interval(q_phi)},
        "presets_at_reference": pre_ref,
        "track_nuts": [{"n_knots": k, "wall_time": f.nuts.wall_time, "n_chains": f.nuts.n_chains,
                        "n_samples": f.nuts.n_samples, "max_rhat": f.nuts.max_rhat(), "min_ess": f.nuts.min_ess(),
                        "divergences": int(np.sum(f.nuts.divergences))} for k, f in zip(post.n_knots, post.fits)],
        "intrinsic_scatter": {c: float(np.nanmedian(post.fits[0].sigma_int[c])) for c in post.fits[0].sigma_int},
    }
    if post.model == "paper":
        scale = np.concatenate([f.samples["distance_scale"] for f in post.fits])
        offset = np.concatenate([f.samples["distance_offset"] for f in post.fits])
        results["distance"] = {"track": post.distance_track.name, "scale_sigma": post.distance_track.scale_sigma,
                               "offset_sigma": post.distance_track.offset_sigma, "scale": _interval(scale),
                               "offset": _interval(offset), "direction": post.direction}
    m_in = np.isin(grid, phi1)
    thin = np.linspace(0, a.shape[0] - 1, min(a.shape[0], 4000)).astype(int)
    np.savez_compressed(os.path.join(out_dir, "accelerations.npz"), phi1=grid[m_in],
                        a=a[thin][:, m_in].astype(np.float32), x=x[thin][:, m_in].astype(np.float32))
    results["profile"] = {"phi1": grid[m_in], "median": np.median(a[:, m_in], 0), "std": np.std(a[:, m_in], 0)}
    halo_fits = {}
    hc = cfg["halo"]
    if hc["models"]:
        ad = _halo.acceleration_data(a[:, m_in], x[:, m_in], grid[m_in])
        for j, model in enumerate(hc["models"]):
            t1 = time.perf_counter()
            fit = _halo.fit_halo(jax.random.key(int(hc["seed"]) + j), ad, model, n_chains=int(hc["n_chains"]),
                                 n_warmup=int(hc["n_warmup"]), n_samples=int(hc["n_samples"]),
                                 likelihood=str(hc["likelihood"]), components=tuple(hc["components"]),
                                 n_starts=int(hc["n_starts"]))
            _log(f"halo fit {model}: {time.perf_counter() - t1:.1f} s, {len(fit.modes)} mode(s), "
                 f"max within-mode R-hat {fit.max_mode_rhat():.3f}")
            halo_fits[model] = fit
            results.setdefault("halo", {})[model] = {
                "summary": fit.summary(), "modes": fit.modes, "table": _halo.mode_table(fit), "optima": fit.optima,
                "likelihood": fit.likelihood, "n_points": fit.n_points, "wall_time": fit.nuts.wall_time,
                "max_rhat": fit.nuts.max_rhat(), "max_mode_rhat": fit.max_mode_rhat(), "min_ess": fit.nuts.min_ess(),
                "n_chains": fit.nuts.n_chains, "n_samples": fit.nuts.n_samples,
                "divergences": int(np.sum(fit.nuts.divergences))}
    if make_figures:
        from ._plotting import plot_accelerations, plot_corner, plot_track

        plot_track(post, data, os.path.join(out_dir, "track.png"))
        paper = None
        if src == "gd1":
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


def load_config(name_or_path: str) -> dict:
    """Read a configuration: a TOML file, or one of :data:`PACKAGED_CONFIGS` by name (with or
    without ``.toml``)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    if not os.path.exists(name_or_path):
        base = os.path.basename(name_or_path).removesuffix(".toml")
        if base not in PACKAGED_CONFIGS:
            raise FileNotFoundError(f"jaxgal stream: no file {name_or_path!r} and no packaged configuration of that "
                                    f"name; packaged: {', '.join(PACKAGED_CONFIGS)}")
        with resources.as_file(resources.files("jaxgal") / "data" / f"{base}.toml") as p, open(p, "rb") as f:
            return tomllib.load(f)
    with open(name_or_path, "rb") as f:
        return tomllib.load(f)


def main(argv: list[str] | None = None) -> int:
    """``jaxgal stream fit CONFIG [--out DIR]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="jaxgal stream", description="stream-track accelerations (docs/streams.md)")
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="fit a stream track, derive accelerations, fit halo models")
    fit.add_argument("config", help="TOML configuration file, or a packaged one by name: " + ", ".join(PACKAGED_CONFIGS))
    fit.add_argument("--out", default=None, help="output folder (overrides [output] dir)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
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
