"""Maximum-likelihood reflex-motion fit (Petersen & Peñarrubia 2021, eqs. 6 & 8;
Yaaqib et al. 2024; Brooks et al. §3.2.1), vmapped over catalogues.

**Sign convention.** ``v_travel`` = (v_x, v_y, v_z) is the velocity of the Milky Way's
centre relative to the outer halo, in Galactocentric Cartesian axes (astropy's
Galactocentric frame: x from the Sun's projection towards the Galactic centre, y towards
l = 90°, z towards the north Galactic pole). Halo stars therefore move on average with
−v_travel. The apex is the direction of v_travel, l_apex = atan2(v_y, v_x) ∈ [0°, 360°),
b_apex = asin(v_z / |v_travel|): with the paper's apex near the south Galactic pole
(b_apex ≈ −78°, v_z ≈ −38 km/s at 100 kpc) northern halo stars appear to recede (redshift).

**Model** (9 parameters, ``model="constant"``; order of :data:`PARAM_NAMES`):
θ = (v_x, v_y, v_z, ⟨v_r⟩, ⟨v_φ⟩, ⟨v_θ⟩, σ_1, σ_2, σ_3). A star at Galactocentric position
x (from l, b and its observed distance) has a Gaussian Galactocentric velocity with mean

    v̄ = ⟨v_r⟩ ê_r + ⟨v_φ⟩ ê_φ + ⟨v_θ⟩ ê_θ − v_travel,

with (r, φ, θ) Galactocentric spherical coordinates, θ the polar angle from +z
(ê_θ = (xz, yz, −R²)/(rR) points south; ê_φ = (−y, x, 0)/R, R = √(x² + y²)). Its
covariance is, for ``dispersion="galactocentric"``, E diag(σ_1², σ_2², σ_3²) Eᵀ with
E = [ê_r ê_φ ê_θ] (σ_1,2,3 = σ_r, σ_φ, σ_θ), or, for ``dispersion="observables"`` (the
published fits), diag(σ_1², σ_2², σ_3²) on the heliocentric (v_los, v_l, v_b) =
(v_los, k d μ_l*, k d μ_b) (σ_1,2,3 = σ_vlos, σ_l, σ_b [km/s]).

``model="linear"`` (18 parameters): each of the 9 takes its own value at r_1 = 40 and
r_2 = 120 kpc (``anchors``) and is linear in r_gal between (and beyond): p(r) = p(r_1) +
(p(r_2) − p(r_1)) (r − r_1)/(r_2 − r_1); θ = (p(r_1), p(r_2)). With equal anchor values it
is the constant model exactly.

**Likelihood.** Observables y = (v_los [km/s], μ_l cos b, μ_b [mas/yr]); with P the rows
(n̂, ê_l, ê_b) of the heliocentric Galactic basis in Galactocentric axes, v☉ the Sun's
velocity and D = diag(1, 1/(k d), 1/(k d)), k = 4.74047 km/s per (mas/yr kpc):

    ȳ = D P (v̄ − v☉),    C = D P Σ_v Pᵀ D + C_meas + C_dist,

C_meas = diag(σ_vlos², ·) ⊕ [[σ_l², ρ σ_l σ_b], [ρ σ_l σ_b, σ_b²]] (per-star errors), and
the distance error (d_true = d (1 + δ), δ ~ N(0, σ_d²/d²), to first order μ → μ (1 − δ))
adds a term C_dist to the proper-motion block only (the line-of-sight velocity does not
depend on d). Two conventions (``distance_error``):

- ``"observed"`` (default; the published fits, Petersen & Peñarrubia 2021, Yaaqib et al.
  2024, whose likelihood code adds σ_d² μ_obs²/d² to each proper-motion variance):

      C_dist = (σ_d/d)² diag(μ_l,obs², μ_b,obs²),

  fixed by the data (independent of θ), so a star whose observed proper motion is large
  (a distance or proper-motion outlier) is down-weighted whatever the model predicts;
- ``"model"``: the exact second moment of μ̄ (1 − δ) under the model,

      C_dist = (σ_d/d)² (ȳ_μ ȳ_μᵀ + (D P Σ_v Pᵀ D)_μμ),   ȳ_μ = (ȳ_2, ȳ_3).

  It is the right propagation when the model is right, but an outlier then sees the model's
  small mean proper motion and inflates the tangential dispersion instead: on the 253 K
  giants beyond 50 kpc of Yaaqib et al. it gives σ_l ≈ 260 km/s and an apex 35° from the
  published one, while ``"observed"`` reproduces the published fit (docs/observables.md).

The (second-order) change of the star's Galactocentric position, and hence of ê_r, ê_φ,
ê_θ and r_gal, with its distance error is neglected in both. A star missing an observable (NaN value or
error) contributes the marginal Gaussian of the ones it has:
−ln L = ½ Σ_stars [rᵀ C⁻¹ r + ln det C + n_obs ln 2π] over its observed components.

**Optimisation.** A generalised-least-squares solve (the means are linear in θ for fixed
dispersions) gives a start; ``n_starts`` − 1 further starts put v_travel with the same
magnitude (≥ 20 km/s) along a Fibonacci lattice of directions (the likelihood is
multimodal in the apex direction). Each start is refined by Levenberg–Marquardt-damped
Fisher scoring (``lax.while_loop``, at most ``max_steps`` steps; the gradient and the
Fisher information F_ij = Σ [∂_iȳᵀ C⁻¹ ∂_jȳ + ½ tr(C⁻¹ ∂_iC C⁻¹ ∂_jC)] come from
forward-mode derivatives of each star's ȳ and C), all starts vmapped; the best is kept.
Uncertainties: the inverse of the exact autodiff Hessian of −ln L at the optimum,
propagated to v_travel, l_apex, b_apex (the delta method). Per-star work is vmapped and
the linear model's derivatives are assembled from per-star 9-parameter ones
(p_n = (1 − t_n) p(r_1) + t_n p(r_2)).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from .. import frames as F
from .. import units as U
from ._catalogue import Catalogue

__all__ = [
    "PARAM_NAMES",
    "ReflexFit",
    "ReflexAtRadius",
    "fit_reflex",
    "reflex_nll",
    "reflex_at",
]

#: The 9 parameters of the constant model (the linear model has each at r_1 then r_2).
PARAM_NAMES: tuple[str, ...] = (
    "vx",
    "vy",
    "vz",
    "vr_mean",
    "vphi_mean",
    "vtheta_mean",
    "sigma_1",
    "sigma_2",
    "sigma_3",
)

_K = U.MASYR_KPC_TO_KMS
_LOG2PI = float(np.log(2.0 * np.pi))


class _Stars(NamedTuple):
    """Per-star, parameter-independent quantities (module docstring)."""

    P: Array  # (N, 3, 3) rows n̂, ê_l, ê_b in Galactocentric axes
    Q: Array  # (N, 3, 3) P E, E = [ê_r ê_φ ê_θ]
    s: Array  # (N, 3) P v☉
    kd: Array  # (N,) k d
    t: Array  # (N,) (r − r_1)/(r_2 − r_1)
    y: Array  # (N, 3) observables, 0 where missing
    mask: Array  # (N, 3) observed
    cm: Array  # (N, 3, 3) measurement covariance in y units
    fd2: Array  # (N,) (σ_d/d)² (used by distance_error="model"; 0 for "observed")
    w: Array  # (N,) star weight (0 or 1)


def _finite(a):
    return jnp.isfinite(a)


def _prepare(cat: Catalogue, frame, anchors, r_range, distance_error: str = "observed") -> _Stars:
    fr = F.GalactocentricFrame() if frame is None else frame
    A = fr.rotation()
    x_sun, v_sun = fr.sun_position(), fr.sun_velocity()
    R = A @ jnp.asarray(F.ICRS_TO_GALACTIC).T  # Galactic axes -> Galactocentric axes
    pos_ok = _finite(cat.l) & _finite(cat.b)
    lr = jnp.deg2rad(jnp.where(pos_ok, cat.l, 0.0))
    br = jnp.deg2rad(jnp.where(pos_ok, cat.b, 0.0))
    cl, sl, cb, sb = jnp.cos(lr), jnp.sin(lr), jnp.cos(br), jnp.sin(br)
    n_g = jnp.stack([cb * cl, cb * sl, sb], -1)
    el_g = jnp.stack([-sl, cl, jnp.zeros_like(cl)], -1)
    eb_g = jnp.stack([-sb * cl, -sb * sl, cb], -1)
    P = jnp.stack([n_g @ R.T, el_g @ R.T, eb_g @ R.T], axis=-2)  # (N, 3, 3)
    d_ok = _finite(cat.distance) & (cat.distance > 0) & pos_ok
    d = jnp.where(d_ok, cat.distance, 1.0)
    x = x_sun + d[:, None] * P[:, 0, :]
    r = jnp.linalg.norm(x, axis=-1)
    rc = jnp.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2)
    rc = jnp.where(rc > 0, rc, 1e-12)
    e_r = x / r[:, None]
    e_phi = jnp.stack([-x[:, 1] / rc, x[:, 0] / rc, jnp.zeros_like(rc)], -1)
    e_th = jnp.stack([x[:, 0] * x[:, 2] / (r * rc), x[:, 1] * x[:, 2] / (r * rc), -rc / r], -1)
    E = jnp.stack([e_r, e_phi, e_th], axis=-1)  # columns
    Q = P @ E
    s = P @ v_sun
    kd = _K * d
    t = (r - anchors[0]) / (anchors[1] - anchors[0])

    vals = jnp.stack([cat.v_los, cat.pm_l_cosb, cat.pm_b], -1)
    errs = jnp.stack([cat.v_los_err, cat.pm_l_cosb_err, cat.pm_b_err], -1)
    mask = _finite(vals) & _finite(errs) & (errs >= 0)
    y = jnp.where(mask, vals, 0.0)
    e = jnp.where(mask, errs, 0.0)
    rho = jnp.where(_finite(cat.pm_corr) & mask[:, 1] & mask[:, 2], cat.pm_corr, 0.0)
    z = jnp.zeros_like(d)
    cm = jnp.stack(
        [
            jnp.stack([e[:, 0] ** 2, z, z], -1),
            jnp.stack([z, e[:, 1] ** 2, rho * e[:, 1] * e[:, 2]], -1),
            jnp.stack([z, rho * e[:, 1] * e[:, 2], e[:, 2] ** 2], -1),
        ],
        -2,
    )
    de_ok = _finite(cat.distance_err) & (cat.distance_err >= 0)
    fd2 = jnp.where(de_ok, (jnp.where(de_ok, cat.distance_err, 0.0) / d) ** 2, 0.0)
    if distance_error == "observed":
        # the published convention: (μ_obs σ_d/d)² on the diagonal of the proper-motion
        # block, independent of the parameters (so part of the measurement covariance)
        cm = cm + jax.vmap(jnp.diag)(fd2[:, None] * (y * y) * jnp.asarray(_PM)[None, :])
        fd2 = jnp.zeros_like(fd2)
    w = d_ok & jnp.any(mask, axis=-1)
    if r_range is not None:
        w = w & (r >= r_range[0]) & (r <= r_range[1])
    mask = mask & w[:, None]
    return _Stars(P, Q, s, kd, t, y, mask, cm, fd2, w.astype(d.dtype))


def _per_star_params(theta, st: _Stars, model: str):
    if model == "constant":
        return jnp.broadcast_to(theta, (st.t.shape[0], 9))
    a, b = theta[:9], theta[9:]
    return a[None, :] + st.t[:, None] * (b - a)[None, :]


def _inv3(c):
    """Inverse and log-determinant of a symmetric 3×3 matrix (adjugate form; any batch)."""
    a, b, cc = c[..., 0, 0], c[..., 0, 1], c[..., 0, 2]
    d, e, f = c[..., 1, 1], c[..., 1, 2], c[..., 2, 2]
    A = d * f - e * e
    B = cc * e - b * f
    Cc = b * e - cc * d
    D = a * f - cc * cc
    E = b * cc - a * e
    Fm = a * d - b * b
    det = a * A + b * B + cc * Cc
    inv = jnp.stack(
        [jnp.stack([A, B, Cc], -1), jnp.stack([B, D, E], -1), jnp.stack([Cc, E, Fm], -1)], -2
    ) / det[..., None, None]
    return inv, jnp.log(det)


_PM = np.array([0.0, 1.0, 1.0])


def _star_moments(p, st: _Stars, dispersion: str):
    """Mean ȳ and covariance C of one star's observables (module docstring), with missing
    components decoupled (C → M C M + (1 − M), ȳ → M ȳ)."""
    vt, vm, sig = p[0:3], p[3:6], p[6:9]
    vbar_v = st.Q @ vm - st.P @ vt - st.s
    dvec = jnp.stack([jnp.ones_like(st.kd), 1.0 / st.kd, 1.0 / st.kd])
    ybar = vbar_v * dvec
    var = sig * sig
    if dispersion == "galactocentric":
        sv = (st.Q * var[None, :]) @ st.Q.T
    else:
        sv = jnp.diag(var)
    sy = sv * jnp.outer(dvec, dvec)
    pmpm = jnp.asarray(np.outer(_PM, _PM))
    c = sy + st.cm + st.fd2 * pmpm * (jnp.outer(ybar, ybar) + sy)
    m = st.mask.astype(c.dtype)
    c = c * jnp.outer(m, m) + jnp.diag(1.0 - m)
    return ybar * m, c


def _star_nll(p, st: _Stars, dispersion: str):
    """−ln L of one star (leaves of `st` unbatched) for its 9 local parameters p."""
    ybar, c = _star_moments(p, st, dispersion)
    m = st.mask.astype(c.dtype)
    res = st.y * m - ybar
    inv, logdet = _inv3(c)
    return 0.5 * (res @ inv @ res + logdet + m.sum() * _LOG2PI) * st.w


def _star_vgf(p, st: _Stars, dispersion: str):
    """Value, gradient and Fisher information of one star's −ln L in its local parameters,
    from forward-mode derivatives of its Gaussian moments:
    g_i = −J_iᵀ C⁻¹ r + ½ tr(C⁻¹ ∂_iC) − ½ rᵀ C⁻¹ ∂_iC C⁻¹ r,
    F_ij = J_iᵀ C⁻¹ J_j + ½ tr(C⁻¹ ∂_iC C⁻¹ ∂_jC)."""
    ybar, c = _star_moments(p, st, dispersion)
    jm, dc = jax.jacfwd(lambda q: _star_moments(q, st, dispersion))(p)  # (3, 9), (3, 3, 9)
    m = st.mask.astype(c.dtype)
    res = st.y * m - ybar
    inv, logdet = _inv3(c)
    a = inv @ res
    val = 0.5 * (res @ a + logdet + m.sum() * _LOG2PI)
    b = jnp.einsum("kl,lmi->kmi", inv, dc)  # C⁻¹ ∂_iC
    g = -jm.T @ a + 0.5 * jnp.einsum("kki->i", b) - 0.5 * jnp.einsum("k,kli,l->i", a, dc, a)
    fis = jm.T @ inv @ jm + 0.5 * jnp.einsum("kli,lkj->ij", b, b)
    return val * st.w, g * st.w, fis * st.w


def _star_vgh(p, st: _Stars, dispersion: str):
    """Value, gradient and (autodiff) Hessian of one star's −ln L in its local parameters:
    the Hessian is the forward-mode Jacobian of the gradient of :func:`_star_vgf` (exact;
    cheaper to compile than reverse-over-forward)."""
    v, g, _ = _star_vgf(p, st, dispersion)
    h = jax.jacfwd(lambda q: _star_vgf(q, st, dispersion)[1])(p)
    return v, g, h


def _nll_core(theta, st: _Stars, model: str, dispersion: str):
    p = _per_star_params(theta, st, model)
    return jnp.sum(jax.vmap(_star_nll, in_axes=(0, 0, None))(p, st, dispersion))


def _vgh_core(theta, st: _Stars, model: str, dispersion: str, fisher: bool = False):
    """−ln L, its gradient and Hessian (or, with ``fisher``, the Fisher information) in θ,
    assembled from per-star 9-parameter ones: p_n = (1 − t_n) a + t_n b for the linear
    model, so g = Σ J_nᵀ ∇ℓ_n, H = Σ J_nᵀ ∇²ℓ_n J_n."""
    p = _per_star_params(theta, st, model)
    fn = _star_vgf if fisher else _star_vgh
    v, g, h = jax.vmap(fn, in_axes=(0, 0, None))(p, st, dispersion)
    if model == "constant":
        return v.sum(), g.sum(0), h.sum(0)
    t = st.t
    u = 1.0 - t
    G = jnp.concatenate([jnp.einsum("n,ni->i", u, g), jnp.einsum("n,ni->i", t, g)])
    haa = jnp.einsum("n,nij->ij", u * u, h)
    hab = jnp.einsum("n,nij->ij", u * t, h)
    hbb = jnp.einsum("n,nij->ij", t * t, h)
    H = jnp.block([[haa, hab], [hab, hbb]])
    return v.sum(), G, H


def _gls_start(st: _Stars, model: str, dispersion: str, sigma0):
    """Means by generalised least squares at fixed isotropic dispersion sigma0 (no distance
    term): the global optimum of the means for that dispersion."""
    n = st.t.shape[0]
    dvec = jnp.stack([jnp.ones_like(st.kd), 1.0 / st.kd, 1.0 / st.kd], -1)
    X6 = jnp.concatenate([-st.P, st.Q], axis=-1) * dvec[:, :, None]  # (N, 3, 6)
    if model == "constant":
        X = X6
    else:
        X = jnp.concatenate([(1 - st.t)[:, None, None] * X6, st.t[:, None, None] * X6], -1)
    var = jnp.broadcast_to(sigma0**2, (n, 3))
    if dispersion == "galactocentric":
        sv = jnp.einsum("nik,nk,njk->nij", st.Q, var, st.Q)
    else:
        sv = jax.vmap(jnp.diag)(var)
    c = sv * dvec[:, :, None] * dvec[:, None, :] + st.cm
    m = st.mask.astype(c.dtype)
    c = c * m[:, :, None] * m[:, None, :] + jax.vmap(jnp.diag)(1.0 - m)
    inv, _ = _inv3(c)
    W = inv * (m[:, :, None] * m[:, None, :]) * st.w[:, None, None]
    target = st.y + st.s * dvec
    Amat = jnp.einsum("nia,nij,njb->ab", X, W, X)
    bvec = jnp.einsum("nia,nij,nj->a", X, W, target)
    k = Amat.shape[0]
    ridge = 1e-9 * jnp.trace(Amat) / k + 1e-12
    beta = jnp.linalg.solve(Amat + ridge * jnp.eye(k), bvec)
    resid_los = (target[:, 0] - jnp.einsum("na,a->n", X[:, 0, :], beta)) * m[:, 0] * st.w
    nlos = jnp.maximum(jnp.sum(m[:, 0] * st.w), 1.0)
    s2 = jnp.sum(resid_los**2) / nlos - jnp.sum(st.cm[:, 0, 0] * m[:, 0] * st.w) / nlos
    return beta, jnp.sqrt(jnp.maximum(s2, 30.0**2))


def _fibonacci(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = np.pi * (1 + 5**0.5) * i
    rr = np.sqrt(1 - z * z)
    return np.stack([rr * np.cos(phi), rr * np.sin(phi), z], -1)


def _starts(st: _Stars, model: str, dispersion: str, n_starts: int):
    _, s0 = _gls_start(st, model, dispersion, jnp.asarray(100.0, st.kd.dtype))
    beta, _ = _gls_start(st, model, dispersion, s0)
    sig = jnp.full(3, s0)
    if model == "constant":
        th0 = jnp.concatenate([beta[:6], sig])
        vt0 = beta[:3]
    else:
        th0 = jnp.concatenate([beta[:6], sig, beta[6:12], sig])
        vt0 = 0.5 * (beta[:3] + beta[6:9])
    mag = jnp.maximum(jnp.linalg.norm(vt0), 20.0)
    dirs = jnp.asarray(_fibonacci(max(n_starts - 1, 1)))[: n_starts - 1]
    out = [th0]
    for u in dirs:
        th = th0
        th = th.at[0:3].set(mag * u)
        if model == "linear":
            th = th.at[9:12].set(mag * u)
        out.append(th)
    return jnp.stack(out[:n_starts])


def _newton(f, vgh, th0, max_steps: int):
    """Levenberg–Marquardt-damped Newton minimisation from th0: ``vgh(θ)`` gives the value,
    gradient and (autodiff) Hessian, ``f(θ)`` the value. Returns (θ, f, H at θ, steps,
    converged)."""

    def cond(state):
        return (state[5] < max_steps) & ~state[6]

    def body(state):
        th, fv, g, H, lam, it, _ = state
        dh = jnp.abs(jnp.diag(H))
        scale = jnp.where(dh > 0, dh, 1.0)
        step = -jnp.linalg.solve(H + lam * jnp.diag(scale), g)
        fn = f(th + step)
        ok = jnp.isfinite(fn) & (fn < fv)
        # converged: an accepted step gaining < 1e-10 relative, or a Newton decrement
        # −gᵀ·step (twice the expected gain) below 1e-9 at a nearly undamped step
        tiny_gain = ok & ((fv - fn) < 1e-10 * jnp.maximum(1.0, jnp.abs(fv)))
        decrement = -jnp.dot(g, step)
        flat = (decrement >= 0) & (decrement < 1e-9) & (lam < 1e-2)
        th_new = jnp.where(ok, th + step, th)
        _, g_new, H_new = vgh(th_new)
        lam = jnp.where(ok, jnp.maximum(lam * 0.2, 1e-12), lam * 10.0)
        f_new = jnp.where(ok, fn, fv)
        return th_new, f_new, g_new, H_new, lam, it + 1, tiny_gain | flat

    f0, g0, H0 = vgh(th0)
    lam0 = jnp.asarray(1e-3, th0.dtype)
    init = (th0, f0, g0, H0, lam0, jnp.asarray(0), jnp.asarray(False))
    th, fv, _, H, _, it, done = jax.lax.while_loop(cond, body, init)
    return th, fv, H, it, done


class ReflexAtRadius(NamedTuple):
    """Reflex quantities at radii r (each (..., n_r)); ``*_err`` are 1σ (Hessian) errors.
    v_travel [km/s], l_apex, b_apex [deg], vx, vy, vz [km/s] (module docstring convention),
    mean_velocity (..., n_r, 3) = (⟨v_r⟩, ⟨v_φ⟩, ⟨v_θ⟩) and sigma (..., n_r, 3) [km/s]."""

    radii: Array
    v_travel: Array
    v_travel_err: Array
    l_apex: Array
    l_apex_err: Array
    b_apex: Array
    b_apex_err: Array
    vx: Array
    vx_err: Array
    vy: Array
    vy_err: Array
    vz: Array
    vz_err: Array
    mean_velocity: Array
    mean_velocity_err: Array
    sigma: Array
    sigma_err: Array


def _derived(theta, model, anchors, r):
    if model == "constant":
        p = theta
    else:
        t = (r - anchors[0]) / (anchors[1] - anchors[0])
        p = theta[:9] + t * (theta[9:] - theta[:9])
    v = p[:3]
    vt = jnp.linalg.norm(v)
    lap = jnp.rad2deg(jnp.arctan2(v[1], v[0]))
    bap = jnp.rad2deg(jnp.arcsin(jnp.clip(v[2] / jnp.where(vt > 0, vt, 1.0), -1.0, 1.0)))
    return jnp.concatenate([jnp.stack([vt, lap, bap]), p[:6], jnp.abs(p[6:9])])


def _at(theta, cov, model, anchors, radii):
    def one(r):
        val = _derived(theta, model, anchors, r)
        J = jax.jacfwd(_derived)(theta, model, anchors, r)
        err = jnp.sqrt(jnp.maximum(jnp.einsum("ia,ab,ib->i", J, cov, J), 0.0))
        return val, err

    vals, errs = jax.vmap(one)(radii)
    lap = jnp.mod(vals[:, 1], 360.0)
    return ReflexAtRadius(
        radii,
        vals[:, 0],
        errs[:, 0],
        lap,
        errs[:, 1],
        vals[:, 2],
        errs[:, 2],
        vals[:, 3],
        errs[:, 3],
        vals[:, 4],
        errs[:, 4],
        vals[:, 5],
        errs[:, 5],
        vals[:, 6:9],
        errs[:, 6:9],
        vals[:, 9:12],
        errs[:, 9:12],
    )


class ReflexFit(eqx.Module):
    """Result of :func:`fit_reflex` (leaves gain a leading axis for a batch of catalogues).

    - `params` (n_p,), `cov` (n_p, n_p): the maximum-likelihood θ (order
      :attr:`param_names`; dispersions may carry either sign, only σ² enters) and the
      inverse Hessian of −ln L.
    - `nll`: −ln L at the optimum; `start_nll` (n_starts,): the optimum from each start.
    - `n_stars`: stars used; `n_steps`: Newton steps of the best start.
    - `converged`: the Hessian at the optimum is positive definite and the iteration stopped
      before `max_steps` (if False, treat the errors with suspicion).
    - `at_radii`: a :class:`ReflexAtRadius` at `radii` (40, 100, 120 kpc by default);
      the properties `v_travel`, `l_apex`, `b_apex`, `vx`, `vy`, `vz` and their `*_err`
      forward to it. :meth:`at` evaluates any other radius.
    """

    params: Float[Array, "*batch n_p"]
    cov: Float[Array, "*batch n_p n_p"]
    nll: Float[Array, "*batch"]
    start_nll: Float[Array, "*batch n_starts"]
    n_stars: Float[Array, "*batch"]
    n_steps: Array
    converged: Bool[Array, "*batch"]
    at_radii: ReflexAtRadius
    model: str = eqx.field(static=True)
    dispersion: str = eqx.field(static=True)
    anchors: tuple[float, float] = eqx.field(static=True)
    distance_error: str = eqx.field(static=True, default="observed")

    @property
    def param_names(self) -> tuple[str, ...]:
        if self.model == "constant":
            return PARAM_NAMES
        a, b = self.anchors
        return tuple(f"{p}@{a:g}" for p in PARAM_NAMES) + tuple(f"{p}@{b:g}" for p in PARAM_NAMES)

    def at(self, radii) -> ReflexAtRadius:
        """Reflex quantities and errors at any radii [kpc] (same for all r in the constant
        model)."""
        return reflex_at(self, radii)

    radii = property(lambda self: self.at_radii.radii)
    v_travel = property(lambda self: self.at_radii.v_travel)
    v_travel_err = property(lambda self: self.at_radii.v_travel_err)
    l_apex = property(lambda self: self.at_radii.l_apex)
    l_apex_err = property(lambda self: self.at_radii.l_apex_err)
    b_apex = property(lambda self: self.at_radii.b_apex)
    b_apex_err = property(lambda self: self.at_radii.b_apex_err)
    vx = property(lambda self: self.at_radii.vx)
    vx_err = property(lambda self: self.at_radii.vx_err)
    vy = property(lambda self: self.at_radii.vy)
    vy_err = property(lambda self: self.at_radii.vy_err)
    vz = property(lambda self: self.at_radii.vz)
    vz_err = property(lambda self: self.at_radii.vz_err)


def reflex_at(fit: ReflexFit, radii) -> ReflexAtRadius:
    """:class:`ReflexAtRadius` of a fit (or batch of fits) at radii [kpc]."""
    r = jnp.atleast_1d(jnp.asarray(radii, dtype=fit.params.dtype))
    f = lambda th, c: _at(th, c, fit.model, fit.anchors, r)  # noqa: E731
    for _ in range(fit.params.ndim - 1):
        f = jax.vmap(f)
    return f(fit.params, fit.cov)


def reflex_nll(
    theta,
    catalogue: Catalogue,
    model: str = "constant",
    *,
    dispersion: str = "galactocentric",
    distance_error: str = "observed",
    frame: F.GalactocentricFrame | None = None,
    anchors: tuple[float, float] = (40.0, 120.0),
    r_range: tuple[float, float] | None = None,
) -> Array:
    """−ln L of the reflex model (module docstring) for parameters θ ((9,) or (18,), order
    of :data:`PARAM_NAMES`) and one catalogue; options as :func:`fit_reflex`. Pure JAX
    (grad, jit)."""
    _check_options(model, dispersion, distance_error)
    fr = F.GalactocentricFrame() if frame is None else frame
    anchors = (float(anchors[0]), float(anchors[1]))
    r_range = None if r_range is None else (float(r_range[0]), float(r_range[1]))
    return _nll_jit(
        jnp.asarray(theta, dtype=float), catalogue, fr, model, dispersion, distance_error,
        anchors, r_range,
    )


def _pad(cat: Catalogue, multiple: int) -> Catalogue:
    n = cat.l.shape[-1]
    m = int(multiple) if multiple and multiple > 1 else 1
    n_new = -(-n // m) * m
    if n_new == n:
        return cat
    width = [(0, 0)] * (cat.l.ndim - 1) + [(0, n_new - n)]
    return jax.tree_util.tree_map(
        lambda a: jnp.pad(jnp.asarray(a, dtype=jnp.result_type(float)), width,
                          constant_values=jnp.nan),
        cat,
    )


@functools.partial(jax.jit, static_argnames=("anchors", "r_range"))
def _n_usable(cat, frame, anchors, r_range):
    """Usable stars of one catalogue or a batch (leading axes)."""
    f = lambda c: _prepare(c, frame, anchors, r_range).w.sum()  # noqa: E731
    for _ in range(cat.l.ndim - 1):
        f = jax.vmap(f)
    return f(cat)


@functools.partial(
    jax.jit, static_argnames=("model", "dispersion", "distance_error", "anchors", "r_range")
)
def _nll_jit(theta, cat, frame, model, dispersion, distance_error, anchors, r_range):
    st = _prepare(cat, frame, anchors, r_range, distance_error)
    return _nll_core(theta, st, model, dispersion)


def _check_options(model, dispersion, distance_error="observed"):
    if distance_error not in ("observed", "model"):
        raise ValueError(
            f"fit_reflex: distance_error must be 'observed' or 'model'; got {distance_error!r}"
        )
    if model not in ("constant", "linear"):
        raise ValueError(f"fit_reflex: model must be 'constant' or 'linear'; got {model!r}")
    if dispersion not in ("galactocentric", "observables"):
        raise ValueError(
            f"fit_reflex: dispersion must be 'galactocentric' or 'observables'; got {dispersion!r}"
        )


def _fit_one(
    cat, frame, radii, model, dispersion, anchors, r_range, n_starts, max_steps,
    distance_error="observed",
):
    st = _prepare(cat, frame, anchors, r_range, distance_error)
    f = lambda th: _nll_core(th, st, model, dispersion)  # noqa: E731
    vgf = lambda th: _vgh_core(th, st, model, dispersion, fisher=True)  # noqa: E731
    starts = _starts(st, model, dispersion, n_starts)
    ths, fs, _, its, dones = jax.vmap(lambda th0: _newton(f, vgf, th0, max_steps))(starts)
    fs = jnp.where(jnp.isfinite(fs), fs, jnp.inf)
    best = jnp.argmin(fs)
    th = ths[best]
    _, _, H = _vgh_core(th, st, model, dispersion)  # the observed (autodiff) Hessian
    H = 0.5 * (H + H.T)
    pd = jnp.linalg.eigvalsh(H)[0] > 0
    cov = jnp.linalg.inv(H)
    converged = pd & dones[best]
    at = _at(th, cov, model, anchors, radii)
    return th, cov, fs[best], fs, jnp.sum(st.w), its[best], converged, at


@functools.partial(
    jax.jit,
    static_argnames=(
        "model", "dispersion", "anchors", "r_range", "n_starts", "max_steps", "batch_size",
        "distance_error",
    ),
)
def _fit_batch(
    cats, frame, radii, model, dispersion, anchors, r_range, n_starts, max_steps, batch_size,
    distance_error="observed",
):
    kw = dict(model=model, dispersion=dispersion, anchors=anchors, r_range=r_range,
              n_starts=n_starts, max_steps=max_steps, distance_error=distance_error)
    one = lambda c: _fit_one(c, frame, radii, **kw)  # noqa: E731
    if batch_size is None:
        return jax.vmap(one)(cats)
    return jax.lax.map(one, cats, batch_size=batch_size)


_fit_one_jit = jax.jit(
    _fit_one,
    static_argnames=(
        "model", "dispersion", "anchors", "r_range", "n_starts", "max_steps", "distance_error"
    ),
)


def fit_reflex(
    catalogue: Catalogue,
    model: str = "constant",
    *,
    dispersion: str = "galactocentric",
    distance_error: str = "observed",
    frame: F.GalactocentricFrame | None = None,
    radii=(40.0, 100.0, 120.0),
    anchors: tuple[float, float] = (40.0, 120.0),
    r_range: tuple[float, float] | None = None,
    n_starts: int = 8,
    max_steps: int = 200,
    pad_to: int = 512,
    batch_size: int | None = None,
) -> ReflexFit:
    """Maximum-likelihood reflex-motion fit of one catalogue or a batch of them.

    **Arguments:**

    - `catalogue`: a :class:`Catalogue` (fields (N,)), or a batch (fields (B, N)) fitted in
      one vmapped call. Stars missing some observables are used for the others.
    - `model`: ``"constant"`` (9 parameters) or ``"linear"`` (18: values at `anchors`,
      linear in r_gal between).
    - `dispersion`: ``"galactocentric"`` (σ_r, σ_φ, σ_θ) or ``"observables"`` (σ_vlos and
      σ_l, σ_b on the tangential velocities, as Petersen & Peñarrubia 2021).
    - `distance_error`: ``"observed"`` (default, the published convention: (μ_obs σ_d/d)²
      added to each proper-motion variance) or ``"model"`` (the model's mean and
      dispersion propagated); module docstring.
    - `frame`: the solar parameters (a :class:`jaxgal.frames.GalactocentricFrame`; default
      astropy's). E.g. ``GalactocentricFrame(8.3, 0.02, (11.1, 244.24, 7.25))`` for the
      published K-giant fits.
    - `radii`: radii [kpc] at which results are reported (40, 100, 120).
    - `anchors`: the two radii of the linear model (40, 120) [kpc].
    - `r_range`: only stars with r_gal (at their observed distance) in this range are used
      (default: all).
    - `n_starts`: number of starting points (module docstring), `max_steps`: Newton steps.
    - `pad_to`: the star axis is padded with masked (NaN) stars to a multiple of this, so
      that catalogues of similar sizes share one compilation (1 = no padding).
    - `batch_size`: for a batch of catalogues, vmap over chunks of this many at a time
      (``lax.map``; bounds the memory, ~2.5 kB per star per start per catalogue in a
      chunk); None (default) vmaps the whole batch at once.

    **Returns:** a :class:`ReflexFit`; ``fit.v_travel``, ``fit.l_apex``, ``fit.b_apex``,
    ``fit.vx``, ``fit.vy``, ``fit.vz`` (and ``*_err``) at `radii`. Sign convention in the
    module docstring: v_travel is the MW centre's velocity relative to the halo.

    Raises ``ValueError`` (eagerly) for an unknown option or a catalogue with fewer usable
    stars than twice the number of parameters.
    """
    _check_options(model, dispersion, distance_error)
    if n_starts < 1 or max_steps < 1:
        raise ValueError(f"fit_reflex: n_starts and max_steps must be >= 1; got {n_starts}, {max_steps}")
    if not isinstance(catalogue, Catalogue):
        raise TypeError(f"fit_reflex: expected a Catalogue; got {type(catalogue)}")
    anchors = (float(anchors[0]), float(anchors[1]))
    if not anchors[1] > anchors[0]:
        raise ValueError(f"fit_reflex: anchors must be increasing; got {anchors}")
    r_range = None if r_range is None else (float(r_range[0]), float(r_range[1]))
    radii = jnp.atleast_1d(jnp.asarray(radii, dtype=jnp.result_type(float)))
    fr = F.GalactocentricFrame() if frame is None else frame
    n_p = 9 if model == "constant" else 18
    args = dict(
        model=model,
        dispersion=dispersion,
        anchors=anchors,
        r_range=r_range,
        n_starts=int(n_starts),
        max_steps=int(max_steps),
        distance_error=distance_error,
    )
    catalogue = _pad(catalogue, pad_to)
    if not isinstance(catalogue.l, jax.core.Tracer):
        n_min = float(jnp.min(_n_usable(catalogue, fr, anchors, r_range)))
        if n_min < 2 * n_p:
            raise ValueError(
                f"fit_reflex: only {n_min:.0f} usable stars (finite l, b and distance > 0, at "
                "least one velocity observable with a finite error"
                + (f", r_gal in {list(r_range)} kpc" if r_range else "")
                + f"); the {model} model needs at least {2 * n_p}"
            )
    if catalogue.l.ndim == 1:
        out = _fit_one_jit(catalogue, fr, radii, **args)
    elif catalogue.l.ndim == 2:
        out = _fit_batch(catalogue, fr, radii, **args, batch_size=batch_size)
    else:
        raise ValueError(f"fit_reflex: catalogue fields must be (N,) or (B, N); got {catalogue.l.shape}")
    th, cov, nll, fs, nst, its, conv, at = out
    return ReflexFit(
        th, cov, nll, fs, nst, its, conv, at, model, dispersion, anchors, distance_error
    )
