"""Figures of the stream analysis (matplotlib, Agg): the track fit with bands, the
acceleration components along φ1 with presets overplotted, and a halo-fit corner plot."""

from __future__ import annotations

import numpy as np

from ._accelerations import bands

__all__ = ["plot_track", "plot_accelerations", "plot_corner"]

_LABELS = {
    "phi2": r"$\phi_2$ [deg]",
    "distance": "d [kpc]",
    "pm_phi1_cosphi2": r"$\mu_{\phi_1}^*$ [mas/yr]",
    "pm_phi2": r"$\mu_{\phi_2}$ [mas/yr]",
    "radial_velocity": r"$v_r$ [km/s]",
    "v_gsr": r"$v_{\rm GSR}$ [km/s]",
    "speed": r"$|v|$ [km/s]",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_track(post, data, path, n_grid: int = 200):
    """The fitted stars (points with error bars) and the posterior track's 68/95 % bands of
    each quantity of the model (``data`` is unused: the fit keeps the stars it used)."""
    plt = _plt()
    comps = post.components
    fits_data = post.fits[0].data
    lo = min(float(np.min(fits_data[c][0])) for c in comps)
    hi = max(float(np.max(fits_data[c][0])) for c in comps)
    grid = np.linspace(lo, hi, n_grid)
    obs = post.observables(grid)
    fig, axes = plt.subplots(len(comps), 1, figsize=(7, 2.2 * len(comps) + 0.5), sharex=True)
    for c, ax in zip(comps, np.atleast_1d(axes)):
        x, y, e = fits_data[c]
        ax.errorbar(x, y, yerr=e, fmt=".", ms=2, color="0.5", alpha=0.5, lw=0.5)
        b = bands(obs[c])
        kn = post.fits[0].knots[c]
        inside = (grid >= kn[0]) & (grid <= kn[-1])
        ax.fill_between(grid[inside], b["lo95"][inside], b["hi95"][inside], color="C3", alpha=0.25, lw=0)
        ax.fill_between(grid[inside], b["lo68"][inside], b["hi68"][inside], color="C3", alpha=0.5, lw=0)
        ax.plot(grid[inside], b["median"][inside], color="C3", lw=1)
        ax.set_ylabel(_LABELS.get(c, c))
    np.atleast_1d(axes)[-1].set_xlabel(r"$\phi_1$ [deg]")
    np.atleast_1d(axes)[0].set_title(f"{post.model} track model, K = {post.n_knots}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_accelerations(phi1, acc_draws, path, presets: dict | None = None, truth=None, paper=None):
    """(a_R, a_φ, a_z) vs φ1: posterior 68/95 % bands, presets (name → (M, 3) arrays), an
    optional truth curve and the paper's published point ((φ1, a, err_lo, err_hi))."""
    plt = _plt()
    b = bands(acc_draws)
    names = [r"$a_R$", r"$a_\phi$", r"$a_z$"]
    styles = ["k-.", "r--", "g-", "b:"]
    fig, axes = plt.subplots(3, 1, figsize=(6.5, 8), sharex=True)
    for i, ax in enumerate(axes):
        ax.fill_between(phi1, b["lo95"][:, i], b["hi95"][:, i], color="C4", alpha=0.25, lw=0, label="95 %")
        ax.fill_between(phi1, b["lo68"][:, i], b["hi68"][:, i], color="C4", alpha=0.5, lw=0, label="68 %")
        ax.plot(phi1, b["median"][:, i], color="C4", lw=1)
        for (name, a), ls in zip((presets or {}).items(), styles):
            ax.plot(phi1, np.asarray(a)[:, i], ls, lw=1, label=name)
        if truth is not None:
            ax.plot(phi1, np.asarray(truth)[:, i], "k-", lw=1.5, label="truth")
        if paper is not None:
            p1, a, elo, ehi = paper
            ax.errorbar([p1], [a[i]], yerr=[[elo[i]], [ehi[i]]], fmt="s", color="C1", ms=5, label="paper")
        ax.set_ylabel(names[i] + " [km/s/Myr]")
    axes[0].legend(fontsize=7, ncol=3)
    axes[-1].set_xlabel(r"$\phi_1$ [deg]")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_corner(samples, names, path, truths=None, bins: int = 30):
    """A corner plot of (n, P) samples (histograms on the diagonal, 2-d histograms below)."""
    plt = _plt()
    samples = np.asarray(samples)
    p = samples.shape[1]
    fig, axes = plt.subplots(p, p, figsize=(1.8 * p + 1, 1.8 * p + 1))
    axes = np.atleast_2d(axes)
    for i in range(p):
        for j in range(p):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(samples[:, i], bins=bins, color="C0", histtype="step")
                if truths is not None:
                    ax.axvline(truths[i], color="C3")
            else:
                ax.hist2d(samples[:, j], samples[:, i], bins=bins, cmap="Blues")
                if truths is not None:
                    ax.plot(truths[j], truths[i], "r+", ms=10)
            if i == p - 1:
                ax.set_xlabel(names[j], fontsize=8)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(names[i], fontsize=8)
            else:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
