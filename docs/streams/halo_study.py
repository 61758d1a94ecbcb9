"""The tilted-triaxial halo fit of GD-1's accelerations under different choices
(docs/streams.md, "Triaxial halo"): the paper's likelihood (independent Gaussians at 15
points) against the full posterior covariance of the draws, fewer evaluation points, a_φ left
out, a heavier or lighter MWPotential2014 disc, and the flattened (axisymmetric) fit beside
each; for each fit the modes with their medians, within-mode R-hat, Laplace weight and the
minimum χ² split by component.

Reads the acceleration draws that ``jaxgal stream fit`` writes (``accelerations.npz``):

    jaxgal stream fit gd1_paper                              # (b)
    python docs/streams/halo_study.py figures/streams/gd1_paper [--quick]

and writes ``halo_study.json`` beside them.
"""

import argparse
import json
import os
import time

import jax
import numpy as np

from jaxgal import streams as st
from jaxgal.streams import _halo


def chi2_split(fit, ad, W_components=(0, 1, 2)):
    """χ² of the best draw of the main mode per component, independent-Gaussian form."""
    m = fit.modes[0]
    theta = np.array([m["median"][n] for n in fit.names])
    a = np.asarray(_halo.model_accelerations(fit.model, theta, ad.x))
    return {c: float(np.sum(((a[:, i] - ad.mean[:, i]) / ad.std[:, i]) ** 2))
            for i, c in enumerate(("a_R", "a_phi", "a_z"))}, a


def summarise(fit, ad, t):
    chi2, a = chi2_split(fit, ad)
    return {
        "wall_s": t, "likelihood": fit.likelihood, "n_points": fit.n_points,
        "max_mode_rhat": fit.max_mode_rhat(), "divergences": int(np.sum(fit.nuts.divergences)),
        "modes": _halo.mode_table(fit), "optima": fit.optima,
        "chi2_main_mode_median_by_component": chi2, "model_at_main_mode_median": a.tolist(),
    }


LABELS = {
    "paper": "the paper's: independent Gaussians, 15 points",
    "covariance": "full covariance of the draws, 15 points",
    "5_points": "independent, 5 points",
    "5_points_covariance": "covariance, 5 points",
    "no_a_phi": "independent, 15 points, a_φ left out",
    "disc_x1.3": "paper's, disc mass × 1.3",
    "disc_x0.7": "paper's, disc mass × 0.7",
}


def print_table(path):
    r = json.load(open(path))

    def pm(d, nd=2, unit=""):
        m, lo, hi = d["median"], d["lo68"], d["hi68"]
        return f"{m:.{nd}f}{unit} (+{hi - m:.{nd}f}/−{m - lo:.{nd}f})".replace("-", "−")

    print("| likelihood | triaxial modes (Laplace weight, chains, within-mode R-hat): 1 : q_y : q_z, pitch, yaw "
          "| χ² a_R / a_φ / a_z at the main mode's medians (independent form, 15 or 5 values each) "
          "| flattened fit: q_ρ,z; χ² a_R / a_φ / a_z |")
    print("| --- | --- | --- | --- |")
    for k, lab in LABELS.items():
        if k not in r:
            continue
        t = r[k]["triaxial"]
        modes = []
        for m in t["modes"][:2]:
            rh = "—" if m["rhat"] != m["rhat"] else f"{m['rhat']:.3f}"
            modes.append(f"{m['weight']:.2g} ({len(m['chains'])}, {rh}): 1 : {pm(m['q_y'])} : {pm(m['q_z'])}, "
                         f"{pm(m['pitch'], 0, '°')}, {pm(m['yaw'], 0, '°')}")
        c = t["chi2_main_mode_median_by_component"]
        chi = f"{c['a_R']:.0f} / {c['a_phi']:.0f} / {c['a_z']:.0f}"
        fl = "—"
        if "flattened" in r[k]:
            f = r[k]["flattened"]
            cf = f["chi2_main_mode_median_by_component"]
            fl = f"{pm(f['modes'][0]['q_z'])}; {cf['a_R']:.0f} / {cf['a_phi']:.0f} / {cf['a_z']:.0f}"
        print(f"| {lab} | {'; '.join(modes)} | {chi} | {fl} |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("run_dir")
    p.add_argument("--quick", action="store_true", help="shorter chains (a smoke run)")
    p.add_argument("--only", default=None, help="comma-separated variant names")
    p.add_argument("--table", action="store_true", help="print the markdown table of halo_study.json and exit")
    args = p.parse_args()
    if args.table:
        return print_table(os.path.join(args.run_dir, "halo_study.json"))
    z = np.load(os.path.join(args.run_dir, "accelerations.npz"))
    phi1, a, x = z["phi1"], z["a"].astype(float), z["x"].astype(float)
    nw, ns = (150, 150) if args.quick else (500, 500)
    full = _halo.acceleration_data(a, x, phi1)
    five = np.linspace(0, len(phi1) - 1, 5).round().astype(int)
    sub5 = _halo.acceleration_data(a[:, five], x[:, five], phi1[five])
    variants = {
        "paper": (full, dict()),
        "covariance": (full, dict(likelihood="covariance")),
        "5_points": (sub5, dict()),
        "5_points_covariance": (sub5, dict(likelihood="covariance")),
        "no_a_phi": (full, dict(components=(0, 2))),
        "disc_x1.3": (full, dict(disc_scale=1.3)),
        "disc_x0.7": (full, dict(disc_scale=0.7)),
    }
    if args.only:
        variants = {k: variants[k] for k in args.only.split(",")}
    out_path = os.path.join(args.run_dir, "halo_study.json")
    out = json.load(open(out_path)) if os.path.exists(out_path) else {}
    out["data"] = {"phi1": phi1.tolist(), "mean": full.mean.tolist(), "std": full.std.tolist(),
                   "n_draws": int(a.shape[0])}
    for name, (ad, kw) in variants.items():
        res = {}
        for model in ("triaxial", "flattened"):
            if model == "flattened" and "disc_scale" in kw:
                continue
            t0 = time.perf_counter()
            fit = _halo.fit_halo(jax.random.key(11), ad, model, n_chains=8, n_warmup=nw, n_samples=ns, **kw)
            res[model] = summarise(fit, ad, time.perf_counter() - t0)
            print(name, model, json.dumps({k: res[model][k] for k in ("max_mode_rhat", "divergences",
                                                                           "chi2_main_mode_median_by_component")}),
                  flush=True)
            for row in res[model]["modes"]:
                print("   ", {k: (round(v["median"], 3) if isinstance(v, dict) else v) for k, v in row.items()},
                      flush=True)
        out[name] = res
        with open(out_path, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
