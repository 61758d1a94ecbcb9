"""The paper's result figures from posterior draws (Brooks et al. §5, Figs 3–6): the posterior
table, the MW and LMC enclosed-mass profiles with their bands, the reflex motion against
radius, and observed versus simulated summaries.

- :func:`posterior_table` / :func:`format_posterior_table`: median and 16th/84th
  percentiles of each quantity (with the truth when known), :func:`plot_posterior_table`;
- :func:`mw_mass_profile_draws`: M_MW(<r) of ``jaxgal.potentials.milky_way(10**log10_m200)``
  (NFW halo whose c200 gives v_c(R☉) = 235 km/s, plus the disc and bulge; spherically
  averaged enclosed mass) for draws of log10 M200;
- :func:`lmc_mass_profile_draws`: M_LMC(<r) of the Hernquist LMC (``jaxgal.potentials.lmc``:
  a = 8.7 kpc (√(M/1.7×10¹⁰ Msun) − 1)) whose mass within 50 kpc is each draw of
  ``m_lmc_50`` (the total mass is found by inverting the monotonic M(<50 kpc)(M)
  relation on a grid);
- :func:`plot_mass_profiles`, :func:`plot_reflex_profile` (the linear reflex model's
  v_travel and apex between its anchors from draws of (v_x, v_y, v_z) at 40 and 120 kpc:
  v(r) is linear in r between the anchors, v_travel = |v|, l_apex = atan2(v_y, v_x),
  b_apex = asin(v_z / |v|), as :func:`jaxgal.observables.fit_reflex`),
  :func:`plot_summaries_comparison`.

Every plotting function returns a matplotlib ``Figure`` and with ``path`` writes
``<path>.png`` and ``<path>.pdf``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._plots import _figure, save_figure

__all__ = [
    "LABELS",
    "mock_truth",
    "posterior_table",
    "format_posterior_table",
    "plot_posterior_table",
    "mw_mass_profile_draws",
    "lmc_mass_profile_draws",
    "plot_mass_profiles",
    "reflex_profile_draws",
    "plot_reflex_profile",
    "plot_summaries_comparison",
]

#: Display name and unit scaling of the usual targets: name -> (label, scale, unit).
LABELS: dict[str, tuple[str, float, str]] = {
    "log10_m200": ("log10 M200", 1.0, "log10 Msun"),
    "m_mw_50": ("M_MW(<50 kpc)", 1e11, "1e11 Msun"),
    "m_lmc_50": ("M_LMC(<50 kpc)", 1e10, "1e10 Msun"),
    "v_travel_100": ("v_travel(100 kpc)", 1.0, "km/s"),
    "beta0": ("beta0", 1.0, ""),
    "m_lmc": ("M_LMC", 1e11, "1e11 Msun"),
}


def mock_truth(meta: Mapping) -> dict[str, float]:
    """The true values of a mock observation's targets from its metadata (e.g.
    ``default_observation().meta``): log10 M200, M_LMC [Msun] and β0 from its ``theta``,
    M_MW(<50 kpc) and M_LMC(<50 kpc) [Msun] from its ``derived``; keys the metadata lacks
    are left out (a real catalogue has none)."""
    theta, derived = meta.get("theta", {}), meta.get("derived", {})
    t = {k: float(theta[k]) for k in ("log10_m200", "m_lmc", "beta0") if k in theta}
    return t | {k: float(derived[k]) for k in ("m_mw_50", "m_lmc_50") if k in derived}


def posterior_table(draws: Mapping[str, np.ndarray], truth: Mapping[str, float] | None = None) -> dict:
    """name -> {"median", "p16", "p84"[, "truth", "in_68"]} of posterior draws."""
    out = {}
    for k, v in draws.items():
        v = np.asarray(v, dtype=float)
        p16, med, p84 = np.percentile(v, [16, 50, 84])
        row = {"median": float(med), "p16": float(p16), "p84": float(p84)}
        if truth is not None and k in truth and truth[k] is not None and np.isfinite(truth[k]):
            row["truth"] = float(truth[k])
            row["in_68"] = bool(p16 <= truth[k] <= p84)
        out[k] = row
    return out


def format_posterior_table(table: Mapping[str, Mapping], title: str | None = None) -> str:
    """A plain-text table (median with −/+ 1σ from the 16th/84th percentiles, in the units of
    :data:`LABELS`; the truth column when the table has one)."""
    has_truth = any("truth" in r for r in table.values())
    lines = [title] if title else []
    head = f"{'quantity':<20} {'unit':>10} {'median':>9} {'-1σ':>8} {'+1σ':>8}"
    if has_truth:
        head += f" {'truth':>9}  in 68 %"
    lines += [head, "-" * len(head)]
    for k, r in table.items():
        lab, sc, unit = LABELS.get(k, (k, 1.0, ""))
        line = (f"{lab:<20} {unit:>10} {r['median'] / sc:>9.3f} {(r['p16'] - r['median']) / sc:>+8.3f} "
                f"{(r['p84'] - r['median']) / sc:>+8.3f}")
        if has_truth:
            line += (f" {r['truth'] / sc:>9.3f}  {'yes' if r['in_68'] else 'no'}" if "truth" in r
                     else f" {'—':>9}")
        lines.append(line)
    return "\n".join(lines)


def plot_posterior_table(table: Mapping[str, Mapping], *, title: str = "", path: str | None = None):
    """The posterior table as a figure."""
    fig = _figure((7.5, 0.45 * (len(table) + 2) + 0.6))
    ax = fig.add_subplot(111)
    ax.axis("off")
    has_truth = any("truth" in r for r in table.values())
    cols = ["quantity", "median", "−1σ", "+1σ"] + (["truth"] if has_truth else [])
    rows = []
    for k, r in table.items():
        lab, sc, unit = LABELS.get(k, (k, 1.0, ""))
        row = [f"{lab} [{unit}]" if unit else lab, f"{r['median'] / sc:.3f}", f"{(r['p16'] - r['median']) / sc:+.3f}",
               f"{(r['p84'] - r['median']) / sc:+.3f}"]
        if has_truth:
            row.append(f"{r['truth'] / sc:.3f}" if "truth" in r else "—")
        rows.append(row)
    t = ax.table(cellText=rows, colLabels=cols, loc="center", cellLoc="center")
    t.auto_set_font_size(False)
    t.set_fontsize(9)
    t.scale(1.0, 1.4)
    if title:
        ax.set_title(title, fontsize=9)
    if path:
        save_figure(fig, path)
    return fig


def mw_mass_profile_draws(log10_m200, radii) -> np.ndarray:
    """(n_draws, n_r) M_MW(<r) [Msun] of ``milky_way(10**log10_m200)`` at `radii` [kpc]."""
    import jax
    import jax.numpy as jnp

    from ..potentials import milky_way

    r = jnp.asarray(radii, dtype=float)

    @jax.jit
    def prof(lm):
        return jax.vmap(lambda m: milky_way(10.0**m).mass_enclosed(r))(lm)

    return np.asarray(prof(jnp.asarray(log10_m200, dtype=float).reshape(-1)))


def _lmc_m50_grid():
    from ..potentials import lmc_scale_radius

    m = np.logspace(9.5, 12.5, 3001)
    a = np.asarray(lmc_scale_radius(m))
    return m, m * 50.0**2 / (50.0 + a) ** 2, a


def lmc_mass_profile_draws(m_lmc_50, radii) -> np.ndarray:
    """(n_draws, n_r) M_LMC(<r) [Msun] of the Hernquist LMC with M(<50 kpc) = each draw of
    `m_lmc_50` [Msun], at `radii` [kpc] (module docstring)."""
    m, m50, _ = _lmc_m50_grid()
    mt = np.interp(np.log(np.asarray(m_lmc_50, float)), np.log(m50), np.log(m))
    mt = np.exp(mt)[:, None]
    from ..potentials import lmc_scale_radius

    a = np.asarray(lmc_scale_radius(mt[:, 0]))[:, None]
    r = np.asarray(radii, float)[None, :]
    return mt * r**2 / (r + a) ** 2


def _band(ax, r, prof, color, label, scale):
    lo, med, hi = np.percentile(prof, [16, 50, 84], axis=0)
    lo2, hi2 = np.percentile(prof, [2.5, 97.5], axis=0)
    ax.fill_between(r, lo2 / scale, hi2 / scale, color=color, alpha=0.15, lw=0)
    ax.fill_between(r, lo / scale, hi / scale, color=color, alpha=0.35, lw=0)
    ax.plot(r, med / scale, color=color, label=label)


def plot_mass_profiles(draws: Mapping[str, np.ndarray], *, truth: Mapping[str, float] | None = None,
                       radii=None, n_profiles: int = 2000, title: str = "", path: str | None = None):
    """MW and LMC enclosed-mass profiles: median, 68 % and 95 % bands of the posterior
    draws of ``log10_m200`` and ``m_lmc_50`` (module docstring); the truth's profile dashed."""
    r = np.geomspace(5.0, 200.0, 60) if radii is None else np.asarray(radii, float)
    fig = _figure((10, 4.2))
    ax1, ax2 = fig.add_subplot(121), fig.add_subplot(122)
    lm = np.asarray(draws["log10_m200"], float)[:n_profiles]
    _band(ax1, r, mw_mass_profile_draws(lm, r), "C0", "posterior (68 %, 95 %)", 1e11)
    m50 = np.asarray(draws["m_lmc_50"], float)[:n_profiles]
    _band(ax2, r, lmc_mass_profile_draws(m50, r), "C3", "posterior (68 %, 95 %)", 1e10)
    if truth:
        if "log10_m200" in truth:
            ax1.plot(r, mw_mass_profile_draws([truth["log10_m200"]], r)[0] / 1e11, "k--", label="truth")
        if "m_lmc_50" in truth:
            ax2.plot(r, lmc_mass_profile_draws([truth["m_lmc_50"]], r)[0] / 1e10, "k--", label="truth")
    for ax, what, unit in ((ax1, "M_MW(<r)", "1e11"), (ax2, "M_LMC(<r)", "1e10")):
        ax.axvline(50.0, color="0.7", lw=0.8)
        ax.set(xscale="log", xlabel="r [kpc]", ylabel=f"{what} [{unit} Msun]")
        ax.legend(fontsize=8)
    ax1.set_title("Milky Way (halo + disc + bulge)", fontsize=9)
    ax2.set_title("LMC (Hernquist)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    if path:
        save_figure(fig, path)
    return fig


def reflex_profile_draws(draws: Mapping[str, np.ndarray], radii, anchors=(40.0, 120.0)) -> dict:
    """v_travel, l_apex, b_apex (n_draws, n_r) at `radii` from draws of ``vx_40``, ``vy_40``,
    ``vz_40``, ``vx_120``, ``vy_120``, ``vz_120`` (the linear reflex model, module docstring)."""
    r0, r1 = anchors
    v0 = np.stack([np.asarray(draws[f"{c}_{r0:g}"], float) for c in ("vx", "vy", "vz")], -1)
    v1 = np.stack([np.asarray(draws[f"{c}_{r1:g}"], float) for c in ("vx", "vy", "vz")], -1)
    u = (np.asarray(radii, float) - r0) / (r1 - r0)
    v = v0[:, None, :] + u[None, :, None] * (v1 - v0)[:, None, :]
    vt = np.linalg.norm(v, axis=-1)
    return {"v_travel": vt, "l_apex": np.mod(np.rad2deg(np.arctan2(v[..., 1], v[..., 0])), 360.0),
            "b_apex": np.rad2deg(np.arcsin(np.clip(v[..., 2] / np.where(vt > 0, vt, 1.0), -1, 1)))}


def plot_reflex_profile(draws: Mapping[str, np.ndarray], *, truth: Mapping[str, float] | None = None,
                        fit=None, title: str = "", path: str | None = None):
    """Posterior of the reflex motion against radius (40–120 kpc): v_travel and the apex
    (l, b), median and 68 %/95 % bands; `truth` (same keys as the draws) dashed; `fit`: a
    :class:`jaxgal.observables.ReflexFit` of the catalogue itself, drawn with its 1σ errors."""
    r = np.linspace(40.0, 120.0, 33)
    prof = reflex_profile_draws(draws, r)
    tprof = reflex_profile_draws({k: np.atleast_1d(v) for k, v in truth.items()}, r) if truth else None
    fig = _figure((13, 3.8))
    for i, (k, lab) in enumerate((("v_travel", "v_travel [km/s]"), ("l_apex", "l_apex [deg]"),
                                  ("b_apex", "b_apex [deg]"))):
        ax = fig.add_subplot(1, 3, i + 1)
        _band(ax, r, prof[k], "C2", "posterior (68 %, 95 %)", 1.0)
        if tprof is not None:
            ax.plot(r, tprof[k][0], "k--", label="truth (simulation's fit)")
        if fit is not None:
            at = fit.at(r)
            val, err = np.asarray(getattr(at, k)), np.asarray(getattr(at, k + "_err"))
            ax.errorbar(r[::8], val[::8], err[::8], fmt="o", color="0.3", ms=3, label="fit of the catalogue")
        ax.set(xlabel="r_gal [kpc]", ylabel=lab)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    if path:
        save_figure(fig, path)
    return fig


def plot_summaries_comparison(names: Sequence[str], observed, observed_err, simulated, *, weights=None,
                              sim_label: str = "simulations", title: str = "", path: str | None = None):
    """Observed summaries (with errors) against the distribution of simulated ones: for each
    summary the (weighted) 16–84 % and 2.5–97.5 % ranges of `simulated` (n_sims, k) rows.
    NaN entries are left out."""
    names = list(names)
    obs = np.asarray(observed, float)
    err = np.asarray(observed_err, float)
    sim = np.asarray(simulated, float)
    w = np.ones(sim.shape[0]) if weights is None else np.asarray(weights, float)
    k = len(names)

    def wq(col, qs):
        ok = np.isfinite(col)
        c, ww = col[ok], w[ok]
        if c.size == 0:
            return [np.nan] * len(qs)
        o = np.argsort(c)
        cw = np.cumsum(ww[o]) / np.sum(ww)
        return [float(np.interp(q, cw, c[o])) for q in qs]

    q = np.array([wq(sim[:, j], [0.025, 0.16, 0.5, 0.84, 0.975]) for j in range(k)])
    fig = _figure((14, 4.5))
    ax = fig.add_subplot(111)
    x = np.arange(k)
    ax.fill_between(x, q[:, 0], q[:, 4], color="C0", alpha=0.15, step="mid", lw=0)
    ax.fill_between(x, q[:, 1], q[:, 3], color="C0", alpha=0.35, step="mid", lw=0, label=f"{sim_label} (68 %, 95 %)")
    ax.plot(x, q[:, 2], color="C0", drawstyle="steps-mid", lw=0.8)
    ok = np.isfinite(obs)
    ax.errorbar(x[ok], obs[ok], err[ok], fmt="o", color="k", ms=3, label="observation")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=90, fontsize=6)
    ax.set_ylabel("summary [km/s]")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    if path:
        save_figure(fig, path)
    return fig
