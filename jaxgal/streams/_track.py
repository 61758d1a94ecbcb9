r"""Spline track models of a stream, fitted with NUTS (Nibauer et al. 2022; Nibauer & Bonaca
2025, arXiv:2504.07187, "the GD-1 paper"; ``docs/streams.md``).

Two models:

- ``model="paper"`` (default), the GD-1 paper's: cubic splines in φ1 for φ2, the
  solar-reflex-corrected radial velocity v_GSR and the total Galactocentric speed |v|; the
  distance is a track given as data, D(φ1) (:class:`DistanceTrack`). The velocity is
  v = v_GSR r̂ + √(|v|² − v_GSR²) t̂, with t̂ the unit tangent of the sky track (φ1 cos φ2, φ2)
  in the direction of motion: the reflex-corrected proper motion points along the track, as
  the paper checks for GD-1. The speed of a star is computed from its proper motion, radial
  velocity and distance on the track. A shared systematic distance scale s and offset δ,
  d = s D + δ, are nuisance parameters: the tracks are fitted at the nominal distance
  (s = 1, δ = 0) and each posterior track is mapped to d = s D + δ keeping the observed
  heliocentric proper motions (so positions and tangential velocities change consistently).
  The likelihood does not involve s and δ (a distance scale only rescales the tangential
  velocities, which the free speed spline absorbs), so their posterior is their prior
  s ~ N(1, σ_s²), δ ~ N(0, σ_δ²) and every track draw gets an independent draw of them.
- ``model="n22"``, jaxgal's previous model: splines for φ2, distance, μ_φ1*, μ_φ2 and the
  heliocentric radial velocity, with per-star distances as data.

Each quantity y_c is a C² cubic spline with not-a-knot ends (interpax ``method="cubic2"``,
the paper's spline package, with its default boundary condition) through K_c evenly spaced
knots between configurable outer-knot positions, fitted to the stars inside a configurable φ1
range (:class:`ComponentSpec`). A spline is linear in its knot values, y_c(φ1) = B_c(φ1) c_c,
so the basis B is built once by interpolating the identity (with scipy's ``CubicSpline``,
the same spline as interpax's ``cubic2`` to 1e-14 — unit test — and a thousand times faster
than interpax's op-by-op call outside ``jit``).

Likelihood (N22 as described in the GD-1 paper §2): star i contributes
N(y_ic | B_c(φ1_i) c_c, σ_obs,ic² + n_ic σ_int,c(φ1_i)²), where σ_int,c is the stream's
intrinsic scatter in the φ1 bin of star i (the paper's bins: 4° for φ2, 8° for the radial
velocity and the speed) and n_ic the number of stars with a measured y_c in that bin.
Inflating the intrinsic variance by n makes the spread of the sampled tracks the stream's
width rather than the error of its local mean. σ_int is estimated per bin by maximum
likelihood about a least-squares spline with the observational errors (inverse-variance
weighting).

Prior: independent Gaussians on the knot values centred on the data's median with 10× the
data's spread (weak).

Sampling: the posterior is Gaussian in the knot values (linear model, Gaussian prior), so the
sampler runs on whitened coordinates z, c = ĉ + L z with ĉ the posterior mode and L L^T its
covariance. NUTS (blackjax, window adaptation, several chains) then
sees a near-isotropic target. Marginalising over K: one fit per K in ``n_knots`` (quantities
with a fixed count, the paper's speed with K = 4, keep it), the draws pooled with equal weight.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .. import frames
from .. import units as U
from ._data import COMPONENTS, DistanceTrack, StreamData, spline_basis
from ._nuts import NutsResult, run_nuts

__all__ = [
    "ComponentSpec",
    "PAPER_COMPONENTS",
    "N22_COMPONENTS",
    "TRACK_MODELS",
    "TrackFit",
    "TrackPosterior",
    "fit_track",
    "spline_basis",
    "intrinsic_scatter",
    "stream_direction",
]

_K = U.MASYR_KPC_TO_KMS

#: The quantities of the paper's model, in order.
PAPER_COMPONENTS: tuple[str, ...] = ("phi2", "v_gsr", "speed")
#: The quantities of jaxgal's previous model (the :data:`COMPONENTS` of the data).
N22_COMPONENTS: tuple[str, ...] = COMPONENTS
TRACK_MODELS = ("paper", "n22")

_UNITS = {"phi2": "deg", "v_gsr": "km/s", "speed": "km/s", "distance": "kpc", "pm_phi1_cosphi2": "mas/yr",
          "pm_phi2": "mas/yr", "radial_velocity": "km/s"}


@dataclasses.dataclass(frozen=True)
class ComponentSpec:
    """Settings of one track quantity.

    **Fields:**

    - `n_knots`: fixed knot count (>= 3), or ``None`` to take each K of ``fit_track``'s
      ``n_knots`` (marginalised).
    - `knot_range`: (φ1_min, φ1_max) of the outer knots [deg]; ``None`` = the ends of this
      quantity's fitted data. Must lie inside the fitted data (the paper moves them up to 15°
      inward).
    - `phi1_range`: (φ1_min, φ1_max) of the stars used for this quantity [deg]; ``None`` = all.
    - `bin_width`: φ1 bin [deg] of the intrinsic-scatter estimate and inflation.
    """

    n_knots: int | None = None
    knot_range: tuple[float, float] | None = None
    phi1_range: tuple[float, float] | None = None
    bin_width: float = 4.0

    def __post_init__(self):
        if self.n_knots is not None and int(self.n_knots) < 3:
            raise ValueError(f"ComponentSpec: n_knots must be >= 3 or None; got {self.n_knots}")
        for name in ("knot_range", "phi1_range"):
            r = getattr(self, name)
            if r is not None:
                r = (float(r[0]), float(r[1]))
                if not r[1] > r[0]:
                    raise ValueError(f"ComponentSpec: {name} must be increasing; got {r}")
                object.__setattr__(self, name, r)
        if not float(self.bin_width) > 0:
            raise ValueError(f"ComponentSpec: bin_width must be > 0 deg; got {self.bin_width}")


def _default_specs(model, n_knots_rv, knot_range, bin_width, rv_bin_width, n_knots_speed):
    if model == "paper":
        return {
            "phi2": ComponentSpec(None, knot_range, None, bin_width),
            "v_gsr": ComponentSpec(n_knots_rv, knot_range, None, rv_bin_width),
            "speed": ComponentSpec(n_knots_speed, knot_range, None, rv_bin_width),
        }
    specs = {c: ComponentSpec(None, knot_range, None, bin_width) for c in N22_COMPONENTS}
    specs["radial_velocity"] = ComponentSpec(n_knots_rv, knot_range, None, rv_bin_width)
    return specs


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
    # empty or sparse bins borrow the median of the others
    ok = n_bin >= 3
    fill = np.median(s_bin[ok]) if ok.any() else 0.0
    s_bin = np.where(ok, s_bin, fill)
    return s_bin[idx], n_bin[idx]


# ---------------------------------------------------------------------------------------
# the paper's phase space: (φ1, φ2, d, v_GSR, |v|) + the sky tangent → Galactocentric w
# ---------------------------------------------------------------------------------------
def _paper_w(p1, p2, slope, d, vr, speed, d_nom, direction):
    """Galactocentric (x, v) (6,) [kpc, km/s] of the paper's track at one φ1.

    p1, p2 [deg]; slope = dφ2/dφ1; d [kpc] the distance (s D + δ); vr = v_GSR and speed = |v|
    [km/s] of the track fitted at the nominal distance d_nom = D(φ1); direction = ±1 (motion
    towards ±φ1). At the nominal distance v = v_GSR r̂ + v_t t̂, v_t = √(|v|² − v_GSR²), with
    t̂ ∝ (cos φ2, slope) in the (ê_φ1, ê_φ2) basis of the sky. At another distance the
    heliocentric proper motion (the observable) is kept: the tangential velocity relative to the
    Sun scales by d / d_nom, v_⊥ = (d / d_nom)(v_t t̂ − v☉,⊥) + v☉,⊥.
    """
    zero = jnp.zeros_like(d)
    base = frames.gd1_to_galactocentric(p1, p2, d, zero, zero, zero)
    x, vsun = base[:3], base[3:]  # zero heliocentric velocity: v = v_sun
    unit = 1.0 / (_K * d)
    e_r = frames.gd1_to_galactocentric(p1, p2, d, zero, zero, jnp.ones_like(d))[3:] - vsun
    e_1 = frames.gd1_to_galactocentric(p1, p2, d, unit, zero, zero)[3:] - vsun
    e_2 = frames.gd1_to_galactocentric(p1, p2, d, zero, unit, zero)[3:] - vsun
    t1, t2 = jnp.cos(jnp.deg2rad(p2)), slope
    norm = jnp.sqrt(t1 * t1 + t2 * t2)
    vt = jnp.sqrt(jnp.maximum(speed * speed - vr * vr, 1e-6))
    vsun_perp = vsun - jnp.dot(vsun, e_r) * e_r
    v_perp = vt * direction * (t1 * e_1 + t2 * e_2) / norm
    v = vr * e_r + (d / d_nom) * (v_perp - vsun_perp) + vsun_perp
    return jnp.concatenate([x, v])


@jax.jit
def _paper_phase_space(p1, vals, ders, direction):
    """w and dw/dφ1 (per degree) for arrays of points. vals/ders: (..., 6) = (φ2, slope, d,
    v_GSR, |v|, D) and their φ1 derivatives (φ2', φ2'', d', v_GSR', |v|', D')."""

    def one(p, v, dv):
        def f(pp, vv):
            return _paper_w(pp, vv[0], vv[1], vv[2], vv[3], vv[4], vv[5], direction)

        return jax.jvp(f, (p, v), (jnp.ones_like(p), dv))

    flat_p = jnp.broadcast_to(p1, vals.shape[:-1]).reshape(-1)
    n = vals.shape[-1]
    w, dw = jax.vmap(one)(flat_p, vals.reshape(-1, n), ders.reshape(-1, n))
    return w.reshape(vals.shape[:-1] + (6,)), dw.reshape(vals.shape[:-1] + (6,))


@jax.jit
def _n22_phase_space(p1, vals, ders):
    """w and dw/dφ1 for the n22 model: vals/ders (..., 5) in :data:`COMPONENTS` order."""

    def one(p, v, dv):
        def f(pp, yy):
            return frames.gd1_to_galactocentric(pp, yy[0], yy[1], yy[2], yy[3], yy[4])

        return jax.jvp(f, (p, v), (jnp.ones_like(p), dv))

    flat_p = jnp.broadcast_to(p1, vals.shape[:-1]).reshape(-1)
    w, dw = jax.vmap(one)(flat_p, vals.reshape(-1, 5), ders.reshape(-1, 5))
    return w.reshape(vals.shape[:-1] + (6,)), dw.reshape(vals.shape[:-1] + (6,))


def _star_speed(p1, p2, d, pm1, pm2, vr):
    """Galactocentric speed [km/s] of stars from GD-1-frame astrometry and distance."""
    w = frames.gd1_to_galactocentric(p1, p2, d, pm1, pm2, vr)
    return jnp.sqrt(jnp.sum(w[..., 3:] ** 2, axis=-1))


def _v_gsr(p1, p2, vr):
    """v_GSR = v_r + v☉·n̂ [km/s] (no distance needed)."""
    w = frames.gd1_to_galactocentric(p1, p2, jnp.ones_like(p1), jnp.zeros_like(p1), jnp.zeros_like(p1), vr)
    return frames.v_gsr(w)


def stream_direction(data: StreamData, distance) -> int:
    """Direction of motion in φ1 (+1 or −1) from the reflex-corrected proper motions: the sign
    of the median Galactocentric velocity along ê_φ1. ``distance``: (N,) [kpc] of the stars."""
    m = np.isfinite(data.column("pm_phi1_cosphi2")) & np.isfinite(data.column("pm_phi2")) & np.isfinite(distance)
    if m.sum() < 1:
        raise ValueError("fit_track: no star has both proper motions: cannot tell the direction of motion")
    p1, p2, d = data.phi1[m], data.column("phi2")[m], np.asarray(distance)[m]
    zero = np.zeros_like(p1)
    v = np.asarray(frames.gd1_to_galactocentric(p1, p2, d, data.column("pm_phi1_cosphi2")[m],
                                                 data.column("pm_phi2")[m], zero))[:, 3:]
    vsun = np.asarray(frames.gd1_to_galactocentric(p1, p2, d, zero, zero, zero))[:, 3:]
    e1 = np.asarray(frames.gd1_to_galactocentric(p1, p2, d, 1.0 / (_K * d), zero, zero))[:, 3:] - vsun
    return int(np.sign(np.median(np.sum(v * e1, -1))) or 1)


# ---------------------------------------------------------------------------------------
# fits and posteriors
# ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TrackFit:
    """One spline fit (one set of knot counts).

    **Fields:** `knots` (dict quantity → (K_c,) knot φ1 [deg]), `samples` (dict quantity →
    (n_draws, K_c) knot values in the quantity's units; the paper model adds
    ``distance_scale`` and ``distance_offset`` [kpc], (n_draws,)), `nuts`
    (:class:`NutsResult` of the whitened coordinates), `sigma_int` (dict quantity → (N_c,)
    intrinsic scatter per fitted star), `n_local` (dict quantity → (N_c,) stars per bin),
    `data` (dict quantity → (φ1, y, σ_obs) of the fitted stars, the paper's speeds at s = 1,
    δ = 0).
    """

    knots: dict
    samples: dict
    nuts: NutsResult | None
    sigma_int: dict
    n_local: dict
    data: dict = dataclasses.field(default_factory=dict)

    @property
    def n_draws(self) -> int:
        return int(next(iter(self.samples.values())).shape[0])


@dataclasses.dataclass(frozen=True)
class TrackPosterior:
    """Posterior tracks pooled over knot counts: one :class:`TrackFit` per K.

    **Fields:** `fits` (tuple of :class:`TrackFit`), `phi1_range` (the φ1 span [deg] where
    accelerations may be evaluated: inside every quantity's outer knots and the distance
    track), `n_knots` (the K values), `model` (``"paper"`` or ``"n22"``), `distance_track`
    (:class:`DistanceTrack` of the paper model), `direction` (±1, motion towards ±φ1).
    """

    fits: tuple
    phi1_range: tuple
    n_knots: tuple
    model: str = "n22"
    distance_track: DistanceTrack | None = None
    direction: int = -1

    @property
    def components(self) -> tuple[str, ...]:
        return PAPER_COMPONENTS if self.model == "paper" else N22_COMPONENTS

    @property
    def n_samples(self) -> int:
        return sum(f.n_draws for f in self.fits)

    def observables(self, phi1, derivative: int = 0) -> dict[str, np.ndarray]:
        """Draws of each track quantity at ``phi1``: dict quantity → (n_samples, len(phi1))
        in its units (``derivative``: per degree of φ1). The paper model adds ``distance``
        (s D + δ, and s D' for derivatives)."""
        phi1 = np.atleast_1d(np.asarray(phi1, float))
        out = {c: [] for c in self.components}
        if self.model == "paper":
            out["distance"] = []
            dt = self.distance_track
            D = dt(phi1, derivative)
        for f in self.fits:
            for c in self.components:
                out[c].append(f.samples[c] @ spline_basis(f.knots[c], phi1, derivative).T)
            if self.model == "paper":
                s = f.samples["distance_scale"][:, None]
                off = f.samples["distance_offset"][:, None] if derivative == 0 else 0.0
                out["distance"].append(s * D[None, :] + off)
        return {c: np.concatenate(v, axis=0) for c, v in out.items()}

    def track(self, phi1, derivative: int = 0) -> np.ndarray:
        """Draws of the model's quantities :attr:`components` at ``phi1``, stacked on the last
        axis: (n_samples, len(phi1), n_quantities)."""
        obs = self.observables(phi1, derivative)
        return np.stack([obs[c] for c in self.components], axis=-1)

    def phase_space(self, phi1) -> tuple[np.ndarray, np.ndarray]:
        """Draws of the Galactocentric phase space w (n_samples, len(phi1), 6) [kpc, km/s]
        along the track and its φ1 derivative dw/dφ1 [per degree] (exact spline
        derivatives through a forward-mode JVP of the frame transform)."""
        phi1 = np.atleast_1d(np.asarray(phi1, float))
        o0 = self.observables(phi1, 0)
        o1 = self.observables(phi1, 1)
        if self.model == "paper":
            o2 = self.observables(phi1, 2)
            D0 = np.broadcast_to(self.distance_track(phi1, 0), o0["phi2"].shape)
            D1 = np.broadcast_to(self.distance_track(phi1, 1), o0["phi2"].shape)
            vals = np.stack([o0["phi2"], o1["phi2"], o0["distance"], o0["v_gsr"], o0["speed"], D0], -1)
            ders = np.stack([o1["phi2"], o2["phi2"], o1["distance"], o1["v_gsr"], o1["speed"], D1], -1)
            w, dw = _paper_phase_space(jnp.asarray(phi1), jnp.asarray(vals), jnp.asarray(ders),
                                       float(self.direction))
        else:
            vals = np.stack([o0[c] for c in N22_COMPONENTS], -1)
            ders = np.stack([o1[c] for c in N22_COMPONENTS], -1)
            w, dw = _n22_phase_space(jnp.asarray(phi1), jnp.asarray(vals), jnp.asarray(ders))
        return np.asarray(w), np.asarray(dw)


# ---------------------------------------------------------------------------------------
# the Gaussian blocks
# ---------------------------------------------------------------------------------------
def _component_block(c, x, y, e, kn, spec, sigma_int_override):
    """Intrinsic scatter and the whitened Gaussian block of one quantity (numpy)."""
    B = spline_basis(kn, x)
    e_floor = np.maximum(e, 1e-6 * (np.std(y) + 1e-12))
    prior_mu = float(np.median(y))
    prior_sd = float(10.0 * (np.std(y) + np.median(e_floor) + 1e-3))
    w = 1.0 / e_floor**2
    A = B.T @ (B * w[:, None]) + np.eye(len(kn)) / prior_sd**2
    c_ls = np.linalg.solve(A, B.T @ (w * y) + prior_mu / prior_sd**2)
    edges = np.arange(x.min(), x.max() + spec.bin_width, spec.bin_width)
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
    cov = 0.5 * (cov + cov.T)
    c_hat = cov @ (B.T @ (w * y) + prior_mu / prior_sd**2)
    return dict(B=B, y=y, var=var, c_hat=c_hat, L=np.linalg.cholesky(cov), mu=prior_mu, sd=prior_sd,
                M=cov @ (B.T * w[None, :]), m0=cov @ np.full(len(kn), prior_mu / prior_sd**2),
                sigma=s_star, n=n_star)


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
    M = np.zeros((kpad, n))
    M[:k] = blk["M"]
    m0 = np.zeros(kpad)
    m0[:k] = blk["m0"]
    mask = np.zeros(kpad)
    mask[:k] = 1.0
    return dict(B=jnp.asarray(B), y=jnp.asarray(blk["y"]), var=jnp.asarray(blk["var"]), c_hat=jnp.asarray(c_hat),
                L=jnp.asarray(L), mu=jnp.asarray(blk["mu"]), sd=jnp.asarray(blk["sd"]), mask=jnp.asarray(mask),
                M=jnp.asarray(M), m0=jnp.asarray(m0))


def _block_logp(blk, coef, z):
    r = blk["y"] - blk["B"] @ coef
    lp = -0.5 * jnp.sum(r**2 / blk["var"])
    lp = lp - 0.5 * jnp.sum(blk["mask"] * ((coef - blk["mu"]) / blk["sd"]) ** 2)
    return lp - 0.5 * jnp.sum((1.0 - blk["mask"]) * z**2)


def _n22_logdensity(z, blocks):
    """Log posterior of the whitened knot coordinates z (dict quantity → (K_pad,))."""
    lp = 0.0
    for c in N22_COMPONENTS:
        blk = blocks[c]
        lp = lp + _block_logp(blk, blk["c_hat"] + blk["L"] @ z[c], z[c])
    return lp


def _paper_logdensity(z, d):
    """Log posterior of the paper model's whitened knots of φ2, v_GSR and |v|."""
    lp = 0.0
    for c in PAPER_COMPONENTS:
        blk = d[c]
        lp = lp + _block_logp(blk, blk["c_hat"] + blk["L"] @ z[c], z[c])
    return lp


# ---------------------------------------------------------------------------------------
# fit_track
# ---------------------------------------------------------------------------------------
def _merge_specs(defaults, components):
    specs = dict(defaults)
    for name, val in (components or {}).items():
        if name not in specs:
            raise ValueError(f"fit_track: unknown track quantity {name!r}; this model has {tuple(specs)}")
        if isinstance(val, ComponentSpec):
            specs[name] = val
        elif isinstance(val, Mapping):
            unknown = set(val) - {f.name for f in dataclasses.fields(ComponentSpec)}
            if unknown:
                raise ValueError(f"fit_track: unknown setting(s) {sorted(unknown)} for {name!r}")
            specs[name] = dataclasses.replace(specs[name], **dict(val))
        else:
            raise TypeError(f"fit_track: components[{name!r}] must be a ComponentSpec or a mapping")
    return specs


def _select(name, phi1, y, e, spec):
    m = np.isfinite(y)
    if spec.phi1_range is not None:
        m &= (phi1 >= spec.phi1_range[0]) & (phi1 <= spec.phi1_range[1])
    return m


def _knots(name, x, spec, k):
    lo, hi = (float(x.min()), float(x.max())) if spec.knot_range is None else spec.knot_range
    tol = 1e-6 * max(1.0, abs(hi - lo))
    if lo < x.min() - tol or hi > x.max() + tol:
        raise ValueError(
            f"fit_track: the outer knots of {name} {(round(lo, 3), round(hi, 3))} deg lie outside its fitted data "
            f"(phi1 in [{x.min():.3f}, {x.max():.3f}] deg); move knot_range inside the data or widen phi1_range"
        )
    return np.linspace(lo, hi, int(k))


def _fitted_distance_track(data: StreamData) -> DistanceTrack:
    """A smooth distance track fitted to the members' own distances (least-squares cubic
    spline, 6 knots over their span), used when no track is given; its systematics are fixed."""
    d = data.column("distance")
    m = np.isfinite(d)
    if m.sum() < 8:
        raise ValueError("fit_track: the paper model needs a distance track: the data have fewer than 8 "
                         "distances, so give distance_track= (e.g. jaxgal.streams.gd1_distance_track())")
    x, y, e = data.phi1[m], d[m], data.error("distance")[m]
    kn = np.linspace(x.min(), x.max(), 6)
    B = spline_basis(kn, x)
    w = 1.0 / np.maximum(e, 1e-3) ** 2
    coef = np.linalg.solve(B.T @ (B * w[:, None]), B.T @ (w * y))
    return DistanceTrack(kn, coef, scale_sigma=0.0, offset_sigma=0.0, name="fitted to the members")


def fit_track(
    key,
    data: StreamData,
    n_knots: Sequence[int] = (4, 5, 6),
    *,
    model: str = "paper",
    distance_track: DistanceTrack | None = None,
    components: Mapping | None = None,
    n_knots_rv: int | None = None,
    n_knots_speed: int = 4,
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
      gets a full NUTS fit and the draws are pooled with equal weight. Quantities with a
      fixed count keep it.
    - `model`: ``"paper"`` (φ2, v_GSR, |v| and a distance track; module docstring) or
      ``"n22"`` (φ2, distance, μ_φ1*, μ_φ2, v_r; jaxgal's previous model).
    - `distance_track`: the paper model's :class:`DistanceTrack` (with its systematic
      priors); ``None`` fits a fixed smooth track to the members' own distances.
    - `components`: per-quantity settings overriding the defaults: mapping quantity →
      :class:`ComponentSpec` or a dict of its fields (``n_knots``, ``knot_range``,
      ``phi1_range``, ``bin_width``).
    - `n_knots_rv`: fixed knot count for the radial velocity (``None``: marginalised, the
      paper); `n_knots_speed`: fixed count for the speed (4, the paper).
    - `knot_range`: (φ1_min, φ1_max) of the outer knots of every quantity [deg] (default the
      ends of each quantity's data).
    - `bin_width`, `rv_bin_width`: φ1 bins [deg] of the intrinsic scatter and its inflation,
      for φ2 (and the n22 astrometry) and for the radial velocity and speed (4° and 8°, the
      paper).
    - `n_chains`, `n_warmup`, `n_samples`: NUTS settings per K (draws per chain).
    - `sigma_int`: optional dict quantity → fixed intrinsic scatter (skips the estimate).

    **Returns:** a :class:`TrackPosterior`; ``post.fits[i].nuts`` holds R-hat, ESS and timings.

    **Raises:** ``ValueError`` naming the problem for: an unknown model or quantity, knot
    counts < 3, outer knots outside a quantity's fitted data, no (or fewer than 3) radial
    velocities in the fitted φ1 range, a distance track that does not cover the fitted stars.
    """
    if model not in TRACK_MODELS:
        raise ValueError(f"fit_track: model must be one of {TRACK_MODELS}; got {model!r}")
    if len(data) < 8:
        raise ValueError(f"fit_track: need at least 8 stars; got {len(data)}")
    n_knots = tuple(int(k) for k in np.atleast_1d(n_knots))
    if not n_knots or any(k < 3 for k in n_knots):
        raise ValueError(f"fit_track: every knot count must be >= 3; got {n_knots}")
    if n_chains < 1:
        raise ValueError("fit_track: n_chains must be >= 1")
    if knot_range is not None:
        knot_range = (float(knot_range[0]), float(knot_range[1]))
        if not knot_range[1] > knot_range[0]:
            raise ValueError(f"fit_track: knot_range must be increasing; got {knot_range}")
    specs = _merge_specs(_default_specs(model, n_knots_rv, knot_range, bin_width, rv_bin_width, n_knots_speed),
                         components)
    if model == "paper":
        return _fit_paper(key, data, n_knots, specs, distance_track, n_chains, n_warmup, n_samples, sigma_int)
    return _fit_n22(key, data, n_knots, specs, n_chains, n_warmup, n_samples, sigma_int)


def _check_rv(n, spec, name="radial_velocity"):
    if n < 3:
        where = f" in the fitted range phi1 in {spec.phi1_range} deg" if spec.phi1_range else ""
        raise ValueError(f"fit_track: {n} star(s) with a radial velocity{where}; the {name} track needs >= 3 "
                         "(a stream with no radial velocities cannot give 3D accelerations)")


def _eval_range(knots: dict, extra=None):
    lo = max(float(k[0]) for k in knots.values())
    hi = min(float(k[-1]) for k in knots.values())
    if extra is not None:
        lo, hi = max(lo, extra[0]), min(hi, extra[1])
    return lo, hi


def _fit_n22(key, data, n_knots, specs, n_chains, n_warmup, n_samples, sigma_int):
    sel = {}
    for j, c in enumerate(N22_COMPONENTS):
        m = _select(c, data.phi1, data.y[:, j], data.y_err[:, j], specs[c])
        if c == "radial_velocity":
            _check_rv(int(m.sum()), specs[c])
        elif m.sum() < 3:
            raise ValueError(f"fit_track: fewer than 3 stars with a measured {c} in its fitted range")
        sel[c] = m
    kmax = max(n_knots + tuple(int(s.n_knots) for s in specs.values() if s.n_knots is not None))
    fits = []
    for k, kk in zip(n_knots, jax.random.split(key, len(n_knots))):
        knots, blocks, sig, nloc, dat = {}, {}, {}, {}, {}
        for j, c in enumerate(N22_COMPONENTS):
            m = sel[c]
            x, y, e = data.phi1[m], data.y[m, j], data.y_err[m, j]
            kn = _knots(c, x, specs[c], specs[c].n_knots or k)
            blk = _component_block(c, x, y, e, kn, specs[c], sigma_int)
            knots[c], blocks[c], sig[c], nloc[c], dat[c] = kn, blk, blk["sigma"], blk["n"], (x, y, e)
        padded = {c: _pad(blocks[c], kmax) for c in N22_COMPONENTS}
        k_init, k_run = jax.random.split(kk)
        init = {c: 2.0 * jax.random.normal(ki, (n_chains, kmax))
                for c, ki in zip(N22_COMPONENTS, jax.random.split(k_init, len(N22_COMPONENTS)))}
        res = run_nuts(k_run, _n22_logdensity, init, n_warmup, n_samples, data=padded)
        res = res._replace(rhat={c: res.rhat[c][: len(knots[c])] for c in N22_COMPONENTS},
                           ess={c: res.ess[c][: len(knots[c])] for c in N22_COMPONENTS})
        flat = res.flat()
        samples = {c: blocks[c]["c_hat"][None, :] + flat[c][:, : len(knots[c])] @ blocks[c]["L"].T
                   for c in N22_COMPONENTS}
        fits.append(TrackFit(knots=knots, samples=samples, nuts=res, sigma_int=sig, n_local=nloc, data=dat))
    return TrackPosterior(fits=tuple(fits), phi1_range=_eval_range(fits[0].knots), n_knots=n_knots, model="n22",
                          direction=-1)


def _fit_paper(key, data, n_knots, specs, distance_track, n_chains, n_warmup, n_samples, sigma_int):
    dt = _fitted_distance_track(data) if distance_track is None else distance_track
    if not isinstance(dt, DistanceTrack):
        raise TypeError(f"fit_track: distance_track must be a DistanceTrack; got {type(dt)}")
    phi2, pm1, pm2, rv = (data.column(c) for c in ("phi2", "pm_phi1_cosphi2", "pm_phi2", "radial_velocity"))
    m_phi2 = _select("phi2", data.phi1, phi2, None, specs["phi2"])
    if m_phi2.sum() < 3:
        raise ValueError("fit_track: fewer than 3 stars with phi2 in its fitted range")
    m_rv = _select("v_gsr", data.phi1, rv, None, specs["v_gsr"]) & np.isfinite(phi2)
    _check_rv(int(m_rv.sum()), specs["v_gsr"], "v_gsr")
    m_sp = (_select("speed", data.phi1, rv, None, specs["speed"]) & np.isfinite(phi2) & np.isfinite(pm1)
            & np.isfinite(pm2))
    _check_rv(int(m_sp.sum()), specs["speed"], "speed (stars with a radial velocity and both proper motions)")
    used = m_phi2 | m_rv | m_sp
    lo_d, hi_d = dt.phi1_range
    p_used = data.phi1[m_sp | m_rv]
    if p_used.min() < lo_d - 1e-9 or p_used.max() > hi_d + 1e-9:
        raise ValueError(
            f"fit_track: the distance track {dt.name!r} covers phi1 in [{lo_d:.2f}, {hi_d:.2f}] deg but the fitted "
            f"members span [{p_used.min():.2f}, {p_used.max():.2f}] deg; give a track that covers them or "
            "restrict the fitted phi1_range"
        )
    # stars with proper motions inside the track: the direction of motion
    m_dir = (data.phi1 >= lo_d) & (data.phi1 <= hi_d) & used
    direction = stream_direction(data.select(m_dir), dt(data.phi1[m_dir]))

    # data of each quantity (speeds at the nominal distance scale)
    x_rv = data.phi1[m_rv]
    y_rv = np.asarray(_v_gsr(jnp.asarray(x_rv), jnp.asarray(phi2[m_rv]), jnp.asarray(rv[m_rv])))
    e_rv = data.error("radial_velocity")[m_rv]
    sp_in = [data.phi1[m_sp], phi2[m_sp], dt(data.phi1[m_sp]), pm1[m_sp], pm2[m_sp], rv[m_sp]]
    y_sp = np.asarray(_star_speed(*[jnp.asarray(a) for a in sp_in]))
    # propagated observational error of each speed (linearised in μ_φ1*, μ_φ2, v_r)
    grad = jax.vmap(jax.grad(lambda m1, m2, v, p1, p2, dd: _star_speed(p1, p2, dd, m1, m2, v), argnums=(0, 1, 2)))
    g1, g2, gv = (np.asarray(g) for g in grad(*[jnp.asarray(a) for a in (sp_in[3], sp_in[4], sp_in[5], sp_in[0],
                                                                         sp_in[1], sp_in[2])]))
    e_sp = np.sqrt((g1 * data.error("pm_phi1_cosphi2")[m_sp]) ** 2 + (g2 * data.error("pm_phi2")[m_sp]) ** 2
                   + (gv * data.error("radial_velocity")[m_sp]) ** 2)
    dat = {"phi2": (data.phi1[m_phi2], phi2[m_phi2], data.error("phi2")[m_phi2]),
           "v_gsr": (x_rv, y_rv, e_rv), "speed": (data.phi1[m_sp], y_sp, e_sp)}

    kmax = max(n_knots + tuple(int(s.n_knots) for s in specs.values() if s.n_knots is not None))
    fits = []
    for k, kk in zip(n_knots, jax.random.split(key, len(n_knots))):
        knots, blocks, sig, nloc = {}, {}, {}, {}
        for c in PAPER_COMPONENTS:
            x, y, e = dat[c]
            kn = _knots(c, x, specs[c], specs[c].n_knots or k)
            blk = _component_block(c, x, y, e, kn, specs[c], sigma_int)
            knots[c], blocks[c], sig[c], nloc[c] = kn, blk, blk["sigma"], blk["n"]
        d = {c: _pad(blocks[c], kmax) for c in PAPER_COMPONENTS}
        k_init, k_run, k_nu = jax.random.split(kk, 3)
        init = {c: 2.0 * jax.random.normal(ki, (n_chains, kmax))
                for c, ki in zip(PAPER_COMPONENTS, jax.random.split(k_init, 3))}
        res = run_nuts(k_run, _paper_logdensity, init, n_warmup, n_samples, data=d)
        res = res._replace(rhat={c: res.rhat[c][: len(knots[c])] for c in PAPER_COMPONENTS},
                           ess={c: res.ess[c][: len(knots[c])] for c in PAPER_COMPONENTS})
        flat = res.flat()
        samples = {c: blocks[c]["c_hat"][None, :] + flat[c][:, : len(knots[c])] @ blocks[c]["L"].T
                   for c in PAPER_COMPONENTS}
        # the likelihood does not involve s, δ (the tracks are fitted at the nominal distance):
        # their posterior is their prior, drawn independently for every track draw
        nu = np.asarray(jax.random.normal(k_nu, (len(flat["phi2"]), 2)))
        samples["distance_scale"] = 1.0 + float(dt.scale_sigma) * nu[:, 0]
        samples["distance_offset"] = float(dt.offset_sigma) * nu[:, 1]
        fits.append(TrackFit(knots=knots, samples=samples, nuts=res, sigma_int=sig, n_local=nloc, data=dat))
    return TrackPosterior(fits=tuple(fits), phi1_range=_eval_range(fits[0].knots, dt.phi1_range), n_knots=n_knots,
                          model="paper", distance_track=dt, direction=direction)
