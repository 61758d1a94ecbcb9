"""``make demo``: an equilibrium stellar halo in the paper's Milky Way, end to end.

What it runs (embedded default, about a minute on a laptop CPU):

1. the rigid Milky Way of Brooks et al. (SPEC §A): ``milky_way(1e12)`` with c200 solved
   for v_c(R☉) = 235 km/s;
2. a stellar halo of ``n`` stars (default 20,000) drawn from the constant-anisotropy
   (Cuddeford) DF, β0 = 0.6, tracer ν ∝ (r/15 kpc)⁻¹ (1 + r/15 kpc)⁻³ (γ = 4);
3. every star integrated for 2.2 Gyr in that potential (8th-order Dormand–Prince with
   per-orbit error control on load-balanced lanes);
4. the observables the MW–LMC analysis uses, v_GSR per sky quadrant and v_t,b, in
   30–160 kpc bins, before and after: an equilibrium halo must keep mean v_GSR ≈ 0 and
   its dispersions, which must match the Jeans equation.

It writes ``demo.json`` (all numbers) and ``demo.png`` (rotation curve, dispersion
profiles, energy errors) to the output folder. The MW–LMC simulation, the neural
posterior and the reflex fit will extend this demo as they land (issues 3, 4).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

#: Embedded default: the demo halo.
DEFAULT = dict(n=20_000, m200=1e12, beta0=0.6, r_dens=15.0, gamma=4.0, seed=0, t_int=2200.0, dt=50.0, rtol=1e-8)
_R_EDGES = np.linspace(30.0, 160.0, 6)


def _stage(msg: str):
    print(f"[jaxgal demo] {msg}", flush=True)
    return time.perf_counter()


def _quadrant_stats(w):
    """Mean and dispersion of v_GSR per quadrant × 5 r_gal bins (30–160 kpc), with the
    standard error of each mean; plain NumPy, no clipping (the demo's quick look)."""
    import jaxgal as jg

    gal = jg.frames.galactocentric_to_galactic(w)
    vg = np.asarray(jg.frames.v_gsr(w))
    l, b = np.asarray(gal.l), np.asarray(gal.b)
    r = np.linalg.norm(np.asarray(w)[:, :3], axis=1)
    quads = [(l <= 180) & (b > 0), (l > 180) & (b > 0), (l <= 180) & (b < 0), (l > 180) & (b < 0)]
    out = []
    for q in quads:
        row = []
        for lo, hi in zip(_R_EDGES[:-1], _R_EDGES[1:]):
            sel = q & (r >= lo) & (r < hi)
            v = vg[sel]
            n = v.size
            row.append(
                dict(n=int(n), mean=float(v.mean()) if n else float("nan"),
                     sigma=float(v.std()) if n else float("nan"),
                     err=float(v.std() / np.sqrt(n)) if n > 1 else float("nan"))
            )
        out.append(row)
    return out


def _radial_dispersion(w, edges):
    x, v = np.asarray(w)[:, :3], np.asarray(w)[:, 3:]
    r = np.linalg.norm(x, axis=1)
    vr = np.sum(x * v, axis=1) / r
    vt2 = np.sum(v * v, axis=1) - vr**2
    sr, st, n = [], [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        s = (r >= lo) & (r < hi)
        n.append(int(s.sum()))
        sr.append(float(vr[s].std()) if s.any() else np.nan)
        st.append(float(np.sqrt(vt2[s].mean() / 2.0)) if s.any() else np.nan)
    return np.array(sr), np.array(st), np.array(n)


def main(n: int | None = None, out: str = "demo_output") -> int:
    import jax
    import jax.numpy as jnp

    import jaxgal as jg

    cfg = dict(DEFAULT)
    if n is not None:
        if n < 100:
            raise ValueError(f"--n must be at least 100 stars; got {n}")
        cfg["n"] = int(n)
    os.makedirs(out, exist_ok=True)
    results: dict = {"config": cfg, "devices": [str(d) for d in jax.devices()]}

    t = _stage("building the Milky Way (SPEC §A)")
    c200, clipped = jg.potentials.solve_c200(cfg["m200"])
    mw = jg.potentials.milky_way(cfg["m200"])
    results["milky_way"] = dict(
        m200=cfg["m200"], c200=float(c200), c200_clipped=bool(clipped),
        v_circ_sun_kms=float(mw.circular_velocity(8.122)),
        mass_within_50kpc=float(mw.mass_enclosed(50.0)),
    )
    print(f"    c200 = {float(c200):.3f}, v_c(R☉) = {results['milky_way']['v_circ_sun_kms']:.2f} km/s, "
          f"M(<50 kpc) = {results['milky_way']['mass_within_50kpc']:.3e} Msun")

    t = _stage(f"sampling {cfg['n']} halo stars from the constant-β DF (β0 = {cfg['beta0']})")
    key = jax.random.PRNGKey(cfg["seed"])
    sample = jax.jit(
        lambda k: jg.df.sample_stellar_halo(k, cfg["n"], mw, cfg["beta0"], cfg["r_dens"], cfg["gamma"])
    )
    w0 = np.asarray(jax.block_until_ready(sample(key)))
    results["sampling_s"] = time.perf_counter() - t
    print(f"    {results['sampling_s']:.1f} s (including compilation)")

    t = _stage(f"integrating {cfg['n']} orbits for {cfg['t_int']:.0f} Myr "
               f"(dopri8, per-orbit error control, rtol = {cfg['rtol']:g})")
    res = jg.integrators.integrate_orbits(
        mw, w0, 0.0, cfg["t_int"], cfg["dt"], method="dopri8",
        step_control=jg.integrators.ErrorControl(rtol=cfg["rtol"]),
    )
    w1 = np.asarray(jax.block_until_ready(res.w))
    results["integration_s"] = time.perf_counter() - t
    e0 = np.asarray(mw.potential(w0[:, :3])) + 0.5 * np.sum(w0[:, 3:] ** 2, axis=1)
    e1 = np.asarray(mw.potential(w1[:, :3])) + 0.5 * np.sum(w1[:, 3:] ** 2, axis=1)
    de = np.abs((e1 - e0) / e0)
    results["energy_error"] = dict(median=float(np.median(de)), p99=float(np.percentile(de, 99)))
    print(f"    {results['integration_s']:.1f} s (including compilation); |ΔE/E| median "
          f"{results['energy_error']['median']:.1e}, 99th percentile {results['energy_error']['p99']:.1e}")

    t = _stage("observables: v_GSR per quadrant and 30–160 kpc bin, before and after")
    before, after = _quadrant_stats(w0), _quadrant_stats(w1)
    results["v_gsr_before"], results["v_gsr_after"] = before, after
    pulls = np.array([[a["mean"] / a["err"] for a in row] for row in after])
    results["mean_v_gsr_pull_after"] = dict(max_abs=float(np.nanmax(np.abs(pulls))),
                                           chi2=float(np.nansum(pulls**2)), dof=int(np.isfinite(pulls).sum()))
    names = ["Q1 (l<180, b>0)", "Q2 (l>180, b>0)", "Q3 (l<180, b<0)", "Q4 (l>180, b<0)"]
    print("    mean v_GSR [km/s] after 2.2 Gyr (± standard error), bins " +
          ", ".join(f"{lo:.0f}-{hi:.0f}" for lo, hi in zip(_R_EDGES[:-1], _R_EDGES[1:])) + " kpc")
    for name, row in zip(names, after):
        print(f"    {name:16s} " + "  ".join(f"{a['mean']:+6.1f}±{a['err']:4.1f}" for a in row))
    print(f"    equilibrium check: χ² of the 20 means about 0 = {results['mean_v_gsr_pull_after']['chi2']:.1f} "
          f"for {results['mean_v_gsr_pull_after']['dof']} bins")

    edges = np.geomspace(5.0, 200.0, 13)
    rc = np.sqrt(edges[:-1] * edges[1:])
    sr0, st0, nb = _radial_dispersion(w0, edges)
    sr1, st1, _ = _radial_dispersion(w1, edges)
    tracer = jg.df.stellar_halo_density(cfg["r_dens"], cfg["gamma"])
    js_r, js_t = (np.asarray(a) for a in jg.df.jeans_dispersions(rc, mw, tracer, cfg["beta0"]))
    results["dispersions"] = dict(r_kpc=rc.tolist(), n=nb.tolist(), sigma_r_t0=sr0.tolist(),
                                  sigma_r_t1=sr1.tolist(), sigma_t_t0=st0.tolist(), sigma_t_t1=st1.tolist(),
                                  jeans_sigma_r=js_r.tolist(), jeans_sigma_t=js_t.tolist())

    _figure(mw, rc, sr0, sr1, st0, st1, js_r, js_t, nb, de, os.path.join(out, "demo.png"))
    with open(os.path.join(out, "demo.json"), "w") as f:
        json.dump(results, f, indent=1)
    _stage(f"wrote {out}/demo.json and {out}/demo.png")
    return 0


def _figure(mw, rc, sr0, sr1, st0, st1, js_r, js_t, nb, de, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    R = np.linspace(0.5, 60, 300)
    ax[0].plot(R, np.asarray(mw.circular_velocity(R)), "k", label="total")
    for name in mw.names:
        ax[0].plot(R, np.asarray(mw[name].circular_velocity(R)), label=name)
    ax[0].axvline(8.122, color="0.7", ls=":")
    ax[0].set(xlabel="R [kpc]", ylabel="v_c [km/s]", title="milky_way(1e12)")
    ax[0].legend()
    err = lambda s: s / np.sqrt(2 * np.maximum(nb, 1))  # noqa: E731
    ax[1].errorbar(rc, sr0, err(sr0), fmt="o", color="C0", label="σ_r, t = 0")
    ax[1].errorbar(rc * 1.03, sr1, err(sr1), fmt="s", mfc="none", color="C0", label="σ_r, 2.2 Gyr")
    ax[1].errorbar(rc, st0, err(st0), fmt="o", color="C1", label="σ_t, t = 0")
    ax[1].errorbar(rc * 1.03, st1, err(st1), fmt="s", mfc="none", color="C1", label="σ_t, 2.2 Gyr")
    ax[1].plot(rc, js_r, "C0-", label="Jeans σ_r")
    ax[1].plot(rc, js_t, "C1-", label="Jeans σ_t")
    ax[1].set(xscale="log", xlabel="r [kpc]", ylabel="dispersion [km/s]", title="stellar halo, β0 = 0.6")
    ax[1].legend(fontsize=8)
    ax[2].hist(np.log10(np.maximum(de, 1e-16)), bins=60, color="0.3")
    ax[2].set(xlabel="log10 |ΔE/E| after 2.2 Gyr", ylabel="stars", title="energy conservation")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":  # pragma: no cover
    import sys

    from .cli import main as _cli

    raise SystemExit(_cli(["demo", *sys.argv[1:]]))
