r"""Spline track model of a stream, fitted with NUTS (Nibauer et al. 2022; SPEC §F).

Each observable y_c ∈ {φ2, d, μ_φ1*, μ_φ2, v_r} is a natural (C²) cubic spline in φ1
(interpax ``method="cubic2"``) through K_c evenly spaced knots; the knot values c_c are the
parameters. A spline is linear in its knot values, y_c(φ1) = B_c(φ1) c_c, so the basis B is
built once by interpolating the identity.

Likelihood (N22, as described in the GD-1 paper §2): star i contributes
N(y_ic | B_c(φ1_i) c_c, σ_obs,ic² + n_ic σ_int,c(φ1_i)²), where σ_int,c is the stream's
intrinsic scatter in the φ1 bin of star i (bins of ``bin_width`` degrees, ``rv_bin_width``
for v_r) and n_ic the number of stars with a measured y_c in that bin. Inflating the intrinsic
variance by n makes the spread of the sampled tracks the stream's width (σ_int) rather than
the error of the local mean (σ_int/√n). σ_int is estimated per bin by maximum likelihood
about a least-squares spline with the observational errors (inverse-variance weighting).

Prior: independent Gaussians on the knot values centred on the data's median with a standard
deviation of 10× the data's spread (weak; it only matters for knots without data nearby).

Sampling: the posterior is Gaussian in c (linear model, Gaussian prior), so the sampler runs
on whitened coordinates z, c = ĉ + L z with ĉ the posterior mode and L L^T its covariance;
NUTS (blackjax, window adaptation, several chains started at z ~ N(0, 4)) then sees a
near-isotropic target and needs few leapfrog steps. Marginalising over K: a fit per K in
``n_knots``, the draws pooled with equal weight (as the paper).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import interpax
import jax
import jax.numpy as jnp
import numpy as np

from ._data import COMPONENTS, StreamData
from ._nuts import NutsResult, run_nuts

__all__ = ["TrackFit", "TrackPosterior", "fit_track", "spline_basis", "intrinsic_scatter"]

_METHOD = "cubic2"


def spline_basis(knots, x, derivative: int = 0) -> np.ndarray:
    """B (len(x), K) with spline(x) = B @ values for the natural cubic spline through
    ``knots``; ``derivative`` = 1, 2 gives the derivatives' basis. Points outside the knots
    are extrapolated with the end polynomials."""
    knots = jnp.asarray(knots, float)
    eye = jnp.eye(knots.shape[0])
    return np.asarray(
        interpax.interp1d(jnp.asarray(x, float), knots, eye, method=_METHOD, derivative=derivative, extrap=True)
    )


def _eval_spline(knots, values, x, derivative=0):
    """Traceable spline evaluation (values: (K,) or (K, ...))."""
    return interpax.interp1d(x, knots, values, method=_METHOD, derivative=derivative, extrap=True)


def _bin_index(phi1, edges):
    return np.clip(np.searchsorted(edges, phi1, side="right") - 1, 0, len(edges) - 2)


def _ml_scatter(r, e):
    """Maximum-likelihood intrinsic σ for residuals r with errors e (bisection on the score)."""
    if r.size < 3:
        return 0.0

    def score(s):
        v = e**2 + s**2
        return np.sum(r**2 / v**2 - 1.0 / v)

    hi = np.sqrt(np.mean(r**2)) * 3 + 1e-12
    if score(0.0) <= 0:
        return 0.0
    lo = 0.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if score(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def intrinsic_scatter(phi1, resid, err, edges):
    """Per-bin ML intrinsic scatter and per-star counts: returns (σ_int per star, n per star)."""
    idx = _bin_index(phi1, edges)
    s_bin = np.zeros(len(edges) - 1)
    n_bin = np.zeros(len(edges) - 1, int)
    for b in range(len(edges) - 1):
        m = idx == b
        n_bin[b] = m.sum()
        s_bin[b] = _ml_scatter(resid[m], err[m]) if m.any() else 0.0
    # empty or single-star bins borrow the median of the others
    ok = n_bin >= 3
    fill = np.median(s_bin[ok]) if ok.any() else 0.0
    s_bin = np.where(ok, s_bin, fill)
    return s_bin[idx], n_bin[idx]


@dataclasses.dataclass(frozen=True)
class TrackFit:
    """One spline fit (one set of knot counts).

    **Fields:** `knots` (dict component → (K_c,) knot φ1 [deg]), `samples` (dict component →
    (n_draws, K_c) knot values in the component's units), `nuts` (:class:`NutsResult` of the
    whitened coordinates), `sigma_int` (dict component → (N,) intrinsic scatter per star),
    `n_local` (dict component → (N,) stars per bin).
    """

    knots: dict
    samples: dict
    nuts: NutsResult
    sigma_int: dict
    n_local: dict

    @property
    def n_draws(self) -> int:
        return int(next(iter(self.samples.values())).shape[0])


@dataclasses.dataclass(frozen=True)
class TrackPosterior:
    """Posterior tracks pooled over knot counts: one :class:`TrackFit` per K.

    **Fields:** `fits` (tuple of :class:`TrackFit`), `phi1_range` (data φ1 span [deg]),
    `n_knots` (the K values).
    """

    fits: tuple
    phi1_range: tuple
    n_knots: tuple

    @property
    def n_samples(self) -> int:
        return sum(f.n_draws for f in self.fits)

    def track(self, phi1, derivative: int = 0) -> np.ndarray:
        """Draws of the track observables at ``phi1``: (n_samples, len(phi1), 5) in the
        units of :data:`COMPONENTS` (``derivative=1``: per degree of φ1)."""
        phi1 = np.atleast_1d(np.asarray(phi1, float))
        out = []
        for f in self.fits:
            cols = [f.samples[c] @ spline_basis(f.knots[c], phi1, derivative).T for c in COMPONENTS]
            out.append(np.stack(cols, axis=-1))
        return np.concatenate(out, axis=0)


def _knots_for(k, lo, hi):
    return np.linspace(lo, hi, int(k))


def _prepare(data: StreamData, k_of: dict, knot_range, bin_width, rv_bin_width, sigma_int_override):
    """Knots, intrinsic scatter and the whitened Gaussian blocks of one fit (numpy)."""
    lo, hi = knot_range
    knots, blocks, sig_out, n_out = {}, {}, {}, {}
    for j, c in enumerate(COMPONENTS):
        m = np.isfinite(data.y[:, j])
        if m.sum() < 2:
            raise ValueError(f"fit_track: fewer than 2 stars with a measured {c}")
        x, y, e = data.phi1[m], data.y[m, j], data.y_err[m, j]
        kn = _knots_for(k_of[c], lo, hi)
        B = spline_basis(kn, x)
        # least squares with the observational errors (tiny floor so exact positions work)
        e_floor = np.maximum(e, 1e-6 * (np.std(y) + 1e-12))
        prior_mu = np.median(y)
        prior_sd = 10.0 * (np.std(y) + np.median(e_floor) + 1e-3)
        w = 1.0 / e_floor**2
        A = B.T @ (B * w[:, None]) + np.eye(len(kn)) / prior_sd**2
        c_ls = np.linalg.solve(A, B.T @ (w * y) + prior_mu / prior_sd**2)
        width = rv_bin_width if c == "radial_velocity" else bin_width
        edges = np.arange(x.min(), x.max() + width, width)
        if edges.size < 2:
            edges = np.array([x.min(), x.max() + 1e-9])
        if sigma_int_override is not None and c in sigma_int_override:
            idx = _bin_index(x, edges)
            s_star = np.full(x.shape, float(sigma_int_override[c]))
            n_star = np.bincount(idx, minlength=len(edges) - 1)[idx]
        else:
            s_star, n_star = intrinsic_scatter(x, y - B @ c_ls, e_floor, edges)
        var = np.maximum(e**2 + n_star * s_star**2, e_floor**2)
        w = 1.0 / var
        A = B.T @ (B * w[:, None]) + np.eye(len(kn)) / prior_sd**2
        cov = np.linalg.inv(A)
        c_hat = cov @ (B.T @ (w * y) + prior_mu / prior_sd**2)
        knots[c] = kn
        sig_full = np.full(len(data), np.nan)
        n_full = np.zeros(len(data), int)
        sig_full[m], n_full[m] = s_star, n_star
        sig_out[c], n_out[c] = sig_full, n_full
        blocks[c] = dict(B=B, y=y, var=var, c_hat=c_hat, L=np.linalg.cholesky(0.5 * (cov + cov.T)),
                         mu=prior_mu, sd=prior_sd)
    return knots, blocks, sig_out, n_out


def _pad(blk, kpad):
    """Pad a block to kpad knots: extra coefficients have zero basis columns and a unit
    Gaussian on their whitened coordinate, so they do not touch the track."""
    k = blk["c_hat"].shape[0]
    n = blk["B"].shape[0]
    B = np.zeros((n, kpad))
    B[:, :k] = blk["B"]
    L = np.eye(kpad)
    L[:k, :k] = blk["L"]
    c_hat = np.zeros(kpad)
    c_hat[:k] = blk["c_hat"]
    mask = np.zeros(kpad)
    mask[:k] = 1.0
    return dict(B=jnp.asarray(B), y=jnp.asarray(blk["y"]), var=jnp.asarray(blk["var"]), c_hat=jnp.asarray(c_hat),
                L=jnp.asarray(L), mu=jnp.asarray(blk["mu"]), sd=jnp.asarray(blk["sd"]), mask=jnp.asarray(mask))


def _track_logdensity(z, blocks):
    """Log posterior of the whitened knot coordinates z (dict component → (K_pad,))."""
    lp = 0.0
    for c in COMPONENTS:
        blk = blocks[c]
        coef = blk["c_hat"] + blk["L"] @ z[c]
        r = blk["y"] - blk["B"] @ coef
        lp = lp - 0.5 * jnp.sum(r**2 / blk["var"])
        lp = lp - 0.5 * jnp.sum(blk["mask"] * ((coef - blk["mu"]) / blk["sd"]) ** 2)
        lp = lp - 0.5 * jnp.sum((1.0 - blk["mask"]) * z[c] ** 2)
    return lp


def fit_track(
    key,
    data: StreamData,
    n_knots: Sequence[int] = (4, 5, 6),
    *,
    n_knots_rv: int | None = None,
    knot_range: tuple[float, float] | None = None,
    bin_width: float = 4.0,
    rv_bin_width: float = 8.0,
    n_chains: int = 4,
    n_warmup: int = 300,
    n_samples: int = 500,
    sigma_int: dict | None = None,
) -> TrackPosterior:
    """Fit spline tracks to a stream with NUTS, marginalising over the number of knots.

    **Arguments:**

    - `key`: a ``jax.random`` key.
    - `data`: a :class:`StreamData` (:func:`read_stream`).
    - `n_knots`: the knot counts K to marginalise over (the paper's set is (4, 5, 6)); each
      gets a full NUTS fit and the draws are pooled with equal weight.
    - `n_knots_rv`: fixed knot count for the radial velocity (the paper fixes it since the
      speed varies slowly); ``None`` uses K as for the other observables.
    - `knot_range`: (φ1_min, φ1_max) of the outer knots [deg]; default the data's span.
    - `bin_width`, `rv_bin_width`: φ1 bins [deg] for the intrinsic scatter and its
      inflation (4° and 8° in the paper).
    - `n_chains`, `n_warmup`, `n_samples`: NUTS settings per K (draws per chain).
    - `sigma_int`: optional dict component → fixed intrinsic scatter (skips the estimate).

    **Returns:** a :class:`TrackPosterior`; ``post.fits[i].nuts`` holds R-hat, ESS and timings.
    """
    if len(data) < 8:
        raise ValueError(f"fit_track: need at least 8 stars; got {len(data)}")
    n_knots = tuple(int(k) for k in np.atleast_1d(n_knots))
    if any(k < 3 for k in n_knots) or (n_knots_rv is not None and n_knots_rv < 3):
        raise ValueError(f"fit_track: every knot count must be >= 3; got {n_knots}, rv {n_knots_rv}")
    if n_chains < 1:
        raise ValueError("fit_track: n_chains must be >= 1")
    lo, hi = (float(data.phi1.min()), float(data.phi1.max())) if knot_range is None else map(float, knot_range)
    if not hi > lo:
        raise ValueError(f"fit_track: knot_range must be increasing; got {(lo, hi)}")
    kpad = max(n_knots + ((n_knots_rv,) if n_knots_rv else ()))
    fits = []
    for k, kk in zip(n_knots, jax.random.split(key, len(n_knots))):
        k_of = {c: k for c in COMPONENTS}
        if n_knots_rv is not None:
            k_of["radial_velocity"] = int(n_knots_rv)
        knots, blocks, sig, nloc = _prepare(data, k_of, (lo, hi), bin_width, rv_bin_width, sigma_int)
        padded = {c: _pad(blocks[c], kpad) for c in COMPONENTS}
        k_init, k_run = jax.random.split(kk)
        init = {c: 2.0 * jax.random.normal(ki, (n_chains, kpad))
                for c, ki in zip(COMPONENTS, jax.random.split(k_init, len(COMPONENTS)))}
        res = run_nuts(k_run, _track_logdensity, init, n_warmup, n_samples, data=padded)
        # diagnostics of the real knots only (the padding coordinates are exact N(0, 1) draws)
        res = res._replace(rhat={c: res.rhat[c][: len(knots[c])] for c in COMPONENTS},
                           ess={c: res.ess[c][: len(knots[c])] for c in COMPONENTS})
        flat = res.flat()
        samples = {c: blocks[c]["c_hat"][None, :] + flat[c][:, : len(knots[c])] @ blocks[c]["L"].T
                   for c in COMPONENTS}
        fits.append(TrackFit(knots=knots, samples=samples, nuts=res, sigma_int=sig, n_local=nloc))
    return TrackPosterior(fits=tuple(fits), phi1_range=(float(data.phi1.min()), float(data.phi1.max())),
                          n_knots=n_knots)
