"""Figures of the inference layer (matplotlib ``Figure`` objects, no pyplot state, so they
work under any backend): a corner plot of posterior draws, the TARP coverage curve with
its bootstrap band (Brooks et al. Fig. A1), SBC rank histograms, and observed versus
posterior-predictive summaries (Figs A2/A3).

Every function returns the figure; with ``path`` it also writes ``<path>.png`` and
``<path>.pdf`` (an extension on ``path`` is replaced).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["plot_corner", "plot_tarp", "plot_sbc", "plot_ppc", "save_figure"]


def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def save_figure(fig, path: str, dpi: int = 150) -> list[str]:
    """Write `fig` as ``<path>.png`` and ``<path>.pdf``; returns the two paths."""
    base, ext = os.path.splitext(path)
    if ext.lower() not in (".png", ".pdf"):
        base = path
    d = os.path.dirname(base)
    if d:
        os.makedirs(d, exist_ok=True)
    out = []
    for e in (".png", ".pdf"):
        fig.savefig(base + e, dpi=dpi, bbox_inches="tight")
        out.append(base + e)
    return out


def _as_sets(sets, names):
    """[(label, (n, d) array)] and the names from one draws object or a list of them."""

    def one(dr):
        if isinstance(dr, Mapping):
            nm = list(dr.keys()) if names is None else list(names)
            return np.stack([np.asarray(dr[k], dtype=float).reshape(-1) for k in nm], axis=1), nm
        a = np.asarray(dr, dtype=float)
        a = a[:, None] if a.ndim == 1 else a
        return a, (list(names) if names is not None else [f"theta_{i}" for i in range(a.shape[1])])

    if isinstance(sets, (list, tuple)) and sets and isinstance(sets[0], tuple) and len(sets[0]) == 2 \
            and isinstance(sets[0][0], str):
        out = []
        nm = None
        for label, dr in sets:
            a, nm1 = one(dr)
            nm = nm1 if nm is None else nm
            out.append((label, a))
        return out, nm
    a, nm = one(sets)
    return [(None, a)], nm


def _hpd_levels(h, fracs):
    """Density thresholds enclosing the given fractions of a 2-D histogram's mass."""
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat)
    cum /= cum[-1]
    out = []
    for f in fracs:
        i = min(np.searchsorted(cum, f), flat.size - 1)
        out.append(flat[i])
    return sorted(set(out))


def plot_corner(draws, names: Sequence[str] | None = None, *, truths=None, labels: Mapping | None = None,
                path: str | None = None, bins: int = 40, levels=(0.68, 0.95), quantiles=(0.16, 0.5, 0.84)):
    """Corner plot: 1-D histograms on the diagonal (with the 16/50/84 % quantiles dashed),
    2-D histograms with 68/95 % highest-density contours below it.

    **Arguments:**

    - `draws`: a mapping name -> (n,) draws (e.g. :func:`posterior`'s output), an (n, d)
      array, or a list of (label, draws) pairs to overlay (the paper's posterior variants).
    - `names`: parameters to show, in order (default all).
    - `truths`: optional mapping name -> value or (d,) values, drawn as lines.
    - `labels`: optional mapping name -> axis label.
    - `path`: write ``path.png`` and ``path.pdf``.
    """
    from scipy.ndimage import gaussian_filter

    sets, names = _as_sets(draws, names)
    d = len(names)
    if isinstance(truths, Mapping):
        truths = [truths.get(n) for n in names]
    lab = [(labels or {}).get(n, n) for n in names]
    size = max(2.2 * d, 4.0)
    fig = _figure((size, size))
    axes = np.atleast_2d(fig.subplots(d, d, squeeze=False))
    lo = np.min([np.percentile(a, 0.5, axis=0) for _, a in sets], axis=0)
    hi = np.max([np.percentile(a, 99.5, axis=0) for _, a in sets], axis=0)
    pad = 0.05 * (hi - lo + 1e-300)
    lo, hi = lo - pad, hi + pad
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            for c, (label, a) in enumerate(sets):
                col = f"C{c}"
                if i == j:
                    ax.hist(a[:, i], bins=bins, range=(lo[i], hi[i]), histtype="step", color=col, density=True,
                            label=label)
                    for q in np.quantile(a[:, i], quantiles):
                        ax.axvline(q, color=col, ls="--", lw=0.8)
                else:
                    h, xe, ye = np.histogram2d(a[:, j], a[:, i], bins=bins, range=[[lo[j], hi[j]], [lo[i], hi[i]]])
                    h = gaussian_filter(h, 1.0)
                    lv = _hpd_levels(h, levels)
                    xc, yc = 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1])
                    if len(lv) >= 1 and np.max(h) > 0:
                        ax.contour(xc, yc, h.T, levels=lv + [np.max(h) * 1.0001], colors=col, linewidths=1.0)
            if truths is not None:
                if truths[j] is not None:
                    ax.axvline(truths[j], color="k", lw=0.8)
                if i != j and truths[i] is not None:
                    ax.axhline(truths[i], color="k", lw=0.8)
            ax.set_xlim(lo[j], hi[j])
            if i != j:
                ax.set_ylim(lo[i], hi[i])
            else:
                ax.set_yticks([])
            if i == d - 1:
                ax.set_xlabel(lab[j])
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(lab[i])
            elif j > 0:
                ax.set_yticklabels([])
    if any(label is not None for label, _ in sets):
        axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.05, 1.0), frameon=False, fontsize=8)
    fig.subplots_adjust(hspace=0.05, wspace=0.05)
    if path:
        save_figure(fig, path)
    return fig


def plot_tarp(result, *, path: str | None = None, label: str | None = None):
    """TARP expected coverage versus credibility level with the bootstrap 1σ band, the
    diagonal, and the ATC and KS p-values (Brooks et al. Fig. A1)."""
    fig = _figure((4.5, 4.5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="ideal")
    if result.ecp_band is not None:
        ax.fill_between(result.alpha, result.ecp_band[0], result.ecp_band[1], color="C0", alpha=0.3, lw=0,
                        label="bootstrap 1σ")
    ax.plot(result.alpha, result.ecp, color="C0", lw=1.5, label=label or "estimator")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("credibility level α")
    ax.set_ylabel("expected coverage")
    ax.text(0.04, 0.96, f"ATC = {result.atc:+.3f}\nKS p = {result.ks_pvalue:.3g}\n{result.n_sims} test simulations",
            transform=ax.transAxes, va="top", fontsize=9)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_aspect("equal")
    if path:
        save_figure(fig, path)
    return fig


def plot_sbc(result, *, path: str | None = None, names: Sequence[str] | None = None):
    """SBC rank histograms, one panel per parameter, with the 99 % band of a uniform
    histogram (binomial quantiles per bin) and the χ² p-value."""
    from scipy import stats

    r = result.ranks
    d = r.shape[1]
    names = list(names or result.names or [f"theta_{i}" for i in range(d)])
    ncol = min(4, d)
    nrow = -(-d // ncol)
    fig = _figure((3.0 * ncol, 2.4 * nrow))
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    L, B = result.n_samples, result.n_bins
    bin_of = (np.arange(L + 1) * B) // (L + 1)
    p_bin = np.bincount(bin_of, minlength=B) / (L + 1)
    n = r.shape[0]
    lo = stats.binom.ppf(0.005, n, p_bin)
    hi = stats.binom.ppf(0.995, n, p_bin)
    for j in range(d):
        ax = axes[j]
        obs = np.bincount(bin_of[r[:, j]], minlength=B)
        ax.fill_between(np.repeat(np.arange(B + 1), 2)[1:-1], np.repeat(lo, 2), np.repeat(hi, 2), color="0.85",
                        lw=0)
        ax.step(np.arange(B + 1), np.append(obs, obs[-1]), where="post", color="C0")
        ax.set_title(f"{names[j]}  (χ² p = {result.pvalues[j]:.2g})", fontsize=9)
        ax.set_xlim(0, B)
        ax.set_xticks([0, B])
        ax.set_xticklabels(["0", str(L)])
    for ax in axes[d:]:
        ax.set_visible(False)
    axes[0].set_ylabel("simulations per bin")
    fig.tight_layout()
    if path:
        save_figure(fig, path)
    return fig


def _groups(names):
    """Panels of a PPC figure: names grouped by their first two '_'-separated words
    (``vgsr_mean``, ``vgsr_sigma``, ``vtb_mean``, ``vtb_sigma`` for jaxgal's summaries)."""
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        parts = n.split("_")
        g = "_".join(parts[:2]) if len(parts) > 2 else "inputs"
        groups.setdefault(g, []).append(i)
    return groups


def plot_ppc(result, *, path: str | None = None, max_per_row: int = 20):
    """Observed summaries (crosses; flagged ones as open red circles) over violins of the
    posterior-predictive summaries, one panel per summary type (Brooks et al. Figs A2/A3)."""
    groups = _groups(result.names)
    fig = _figure((min(16, 0.55 * max(len(v) for v in groups.values()) + 3), 2.8 * len(groups)))
    axes = np.atleast_1d(fig.subplots(len(groups), 1, squeeze=False)).ravel()
    for ax, (g, idx) in zip(axes, groups.items()):
        data = [result.predictive[:, i][np.isfinite(result.predictive[:, i])] for i in idx]
        pos = np.arange(len(idx))
        ok = [len(v) > 1 for v in data]
        if any(ok):
            parts = ax.violinplot([v for v, o in zip(data, ok) if o], positions=pos[np.asarray(ok)],
                                  showextrema=False, widths=0.8)
            for b in parts["bodies"]:
                b.set_alpha(0.4)
        obs = result.observed[idx]
        fl = result.flagged[idx]
        ax.plot(pos[~fl], obs[~fl], "kx", ms=6, label="observed")
        if fl.any():
            ax.plot(pos[fl], obs[fl], "o", mfc="none", mec="C3", ms=8, label=f"≥ {result.n_sigma:g}σ (flagged)")
        short = [result.names[i][len(g) + 1:] if result.names[i].startswith(g + "_") else result.names[i] for i in idx]
        ax.set_xticks(pos)
        ax.set_xticklabels(short, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel(g)
        ax.legend(loc="best", fontsize=7, frameon=False)
    fig.tight_layout()
    if path:
        save_figure(fig, path)
    return fig
