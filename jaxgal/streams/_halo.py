r"""NUTS fits of stream accelerations with global halo models (GD-1 paper §4).

Data: the median track positions x_j and the posterior mean of the cylindrical accelerations
(a_R, a_φ, a_z) at M points along the stream, with either

- ``likelihood="independent"`` (the paper's, following N22): independent Gaussians per point
  and component with the posterior standard deviations, or
- ``likelihood="covariance"``: one 3M-dimensional Gaussian with the posterior covariance of
  the acceleration draws (the points share the spline knots and the distance systematic, so
  they are strongly correlated; ``docs/streams.md`` measures what this changes).

Both are written χ² = |W (a_model − ā)|², W a whitening matrix (diag(1/σ) or the inverse
Cholesky factor of the covariance).

Models (disc and bulge of MWPotential2014; potentials of density-flattened haloes from the
ellipsoidal integral of :mod:`jaxgal.potentials`):

- ``"flattened"``: log10 M_s ∈ [10.5, 12.5], r_s ∈ [10, 30] kpc, q_z ∈ [0.4, 1.6], disc mass
  scale ∈ [0.5, 1.5] (× MWPotential2014's 6.8×10¹⁰ Msun), uniform priors;
- ``"triaxial"``: log10 M_s ∈ [10.5, 12.5], r_s ∈ [10, 30] kpc, q_y, q_z ∈ [0.4, 1] (x′ is
  the major axis), uniform priors, and the **direction of the major axis** n̂ = (cos p cos y,
  cos p sin y, sin p) (pitch p: its elevation above the Galactic plane; yaw y: its azimuth
  from +x, 180° towards the Sun), isotropic prior, roll = 0 (as the paper).

Orientation symmetries of the triaxial halo. With roll = 0 the principal axes are
n̂, ê_y′ = (−sin y, cos y, 0) and ê_z′ = n̂ × ê_y′; (p, y) and (−p, y + 180°) give the axes
(−n̂, −ê_y′, ê_z′), i.e. the same ellipsoid (it is symmetric under reflection of each axis).
So the orientation space is the projective plane, and a box prior in (pitch, yaw) has a seam
(yaw = 90° ≡ 270° with pitch reversed) that splits a mode lying across it. The sampler
therefore runs on an unconstrained 3-vector u with a standard normal prior and n̂ = u/|u|
(an isotropic axis, no boundary); each draw is then folded, n̂ → −n̂ where needed, onto the
hemisphere of its mode's mean axis, and each mode is reported in the fundamental domain
yaw ∈ [90°, 270°) (the end of the major axis on the Sun's side), pitch ∈ [−90°, 90°].
Relabelling the axes (q_y ↔ q_z) is a 90° roll, outside the roll = 0 family, so it is not a
symmetry here; when q_y ≈ 1 (oblate about z′) the ellipsoid is fixed by its short axis ê_z′.

Initialisation: many random starts are optimised (Adam on the log posterior), the distinct
optima within Δ log p = 10 of the best are kept, and the NUTS chains start at them
(round-robin, ≥ 2 chains each) so that every mode gets its own chains; :func:`find_modes`
groups the chains afterwards (triaxial: on :func:`shape_features`, free of the orientation
symmetries) and each mode is reported with its posterior medians, the within-mode R-hat (of
the same features) and its Laplace-approximation weight (the mode's best log posterior and the covariance of its draws) — as the paper reports its
two modes.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ._models import flattened_halo_model, triaxial_halo_model
from ._nuts import NutsResult, _potential_scale_reduction, run_nuts

__all__ = [
    "HALO_MODELS",
    "HALO_LIKELIHOODS",
    "AccelerationData",
    "HaloFit",
    "acceleration_data",
    "fit_halo",
    "find_modes",
    "mode_table",
    "model_accelerations",
    "axis_from_angles",
    "angles_from_axis",
    "shape_features",
    "SHAPE_FEATURES",
]

#: name → (parameter names, lower bounds, upper bounds). The triaxial pitch and yaw are the
#: reported fundamental domain (pitch ∈ [−90°, 90°], yaw ∈ [90°, 270°)); they are sampled as an
#: isotropic axis direction (module docstring).
HALO_MODELS: dict[str, tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]] = {
    "flattened": (("log10_m_s", "r_s", "q_z", "disc_scale"), (10.5, 10.0, 0.4, 0.5), (12.5, 30.0, 1.6, 1.5)),
    "triaxial": (
        ("log10_m_s", "r_s", "q_y", "q_z", "pitch", "yaw"),
        (10.5, 10.0, 0.4, 0.4, -90.0, 90.0),
        (12.5, 30.0, 1.0, 1.0, 90.0, 270.0),
    ),
}
HALO_LIKELIHOODS = ("independent", "covariance")
_N_BOX = {"flattened": 4, "triaxial": 4}


@dataclasses.dataclass(frozen=True)
class AccelerationData:
    """Accelerations to fit: `x` (M, 3) [kpc], `mean` and `std` (M, 3) cylindrical
    (a_R, a_φ, a_z) [km/s/Myr], `phi1` (M,) [deg]; optional `cov` (3M, 3M) [(km/s/Myr)²], the
    posterior covariance of the flattened (M, 3) accelerations (point-major), for
    ``likelihood="covariance"``."""

    x: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    phi1: np.ndarray
    cov: np.ndarray | None = None


def acceleration_data(acc_draws, x_draws, phi1) -> AccelerationData:
    """Summarise posterior draws (n, M, 3) of accelerations and positions for a halo fit:
    median positions, mean, standard deviation and full covariance of the accelerations."""
    a = np.asarray(acc_draws, float)
    flat = a.reshape(a.shape[0], -1)
    return AccelerationData(
        x=np.median(np.asarray(x_draws), 0),
        mean=np.mean(a, 0),
        std=np.std(a, 0),
        phi1=np.asarray(phi1, float),
        cov=np.cov(flat, rowvar=False),
    )


def axis_from_angles(pitch, yaw) -> np.ndarray:
    """Unit major axis (..., 3) from pitch and yaw [deg]."""
    p, y = np.deg2rad(pitch), np.deg2rad(yaw)
    return np.stack([np.cos(p) * np.cos(y), np.cos(p) * np.sin(y), np.sin(p)], -1)


def angles_from_axis(n) -> tuple[np.ndarray, np.ndarray]:
    """(pitch ∈ [−90°, 90°], yaw ∈ [0°, 360°)) [deg] of axis vectors n (..., 3) (any length)."""
    n = np.asarray(n, float)
    return (np.degrees(np.arctan2(n[..., 2], np.hypot(n[..., 0], n[..., 1]))),
            np.degrees(np.arctan2(n[..., 1], n[..., 0])) % 360.0)


def _halo_potential(model, theta, disc_scale=1.0):
    if model == "flattened":
        return flattened_halo_model(theta[0], theta[1], theta[2], theta[3])
    return triaxial_halo_model(theta[0], theta[1], theta[2], theta[3], theta[4], theta[5], disc_scale=disc_scale)


def model_accelerations(model: str, theta, x, disc_scale=1.0) -> jnp.ndarray:
    """Cylindrical accelerations (M, 3) [km/s/Myr] of a halo model with physical parameters
    theta (:data:`HALO_MODELS` order; pitch and yaw in degrees) at x (M, 3) [kpc]; for the
    triaxial model the fixed disc mass is ``disc_scale`` × MWPotential2014's."""
    pot = _halo_potential(model, theta, disc_scale)
    a = pot.acceleration(x)
    R = jnp.hypot(x[:, 0], x[:, 1])
    c, s = x[:, 0] / R, x[:, 1] / R
    return jnp.stack([a[:, 0] * c + a[:, 1] * s, -a[:, 0] * s + a[:, 1] * c, a[:, 2]], -1)


def _physical(model, u, lo, hi):
    """Unconstrained sampling coordinates u → physical parameters (jnp)."""
    nb = _N_BOX[model]
    box = lo[:nb] + (hi[:nb] - lo[:nb]) * jax.nn.sigmoid(u[:nb])
    if model == "flattened":
        return box
    v = u[nb:]
    pitch = jnp.degrees(jnp.arctan2(v[2], jnp.sqrt(v[0] ** 2 + v[1] ** 2 + 1e-30)))
    yaw = jnp.degrees(jnp.arctan2(v[1], v[0]))
    return jnp.concatenate([box, jnp.stack([pitch, yaw])])


def _make_logdensity(model):
    nb = _N_BOX[model]

    def logdensity(u, d):
        theta = _physical(model, u, d["lo"], d["hi"])
        r = (model_accelerations(model, theta, d["x"], d["disc_scale"]) - d["mean"]).reshape(-1)
        ll = -0.5 * jnp.sum((d["W"] @ r) ** 2)
        lp = jnp.sum(jax.nn.log_sigmoid(u[:nb]) + jax.nn.log_sigmoid(-u[:nb]))
        if model == "triaxial":
            lp = lp - 0.5 * jnp.sum(u[nb:] ** 2)
        return ll + lp

    return logdensity


#: one log density per model, module-level so that NUTS compilations are cached
_LOGDENSITY = {m: _make_logdensity(m) for m in HALO_MODELS}


def _make_optimiser(model, n_steps):
    import optax

    logdensity = _LOGDENSITY[model]
    opt = optax.adam(0.05)

    def one(u0, d):
        def loss(u):
            return -logdensity(u, d)

        def step(carry, _):
            u, s = carry
            g = jax.grad(loss)(u)
            upd, s = opt.update(g, s, u)
            return (optax.apply_updates(u, upd), s), None

        (u, _), _ = jax.lax.scan(step, (u0, opt.init(u0)), None, length=n_steps)
        return u, -loss(u)

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


_OPTIMISERS: dict = {}


def _physical_np(model, u, lo, hi):
    """:func:`_physical` for arrays of draws (..., dim), in NumPy."""
    nb = _N_BOX[model]
    lo, hi = np.asarray(lo), np.asarray(hi)
    box = lo[:nb] + (hi[:nb] - lo[:nb]) / (1.0 + np.exp(-u[..., :nb]))
    if model == "flattened":
        return box
    p, y = angles_from_axis(u[..., nb:])
    y = np.where(y > 180.0, y - 360.0, y)  # atan2's range, as _physical
    return np.concatenate([box, p[..., None], y[..., None]], -1)


@dataclasses.dataclass(frozen=True)
class HaloFit:
    """Result of :func:`fit_halo`.

    **Fields:** `model`, `names`, `samples` (n_chains, n_draws, P) in physical units (triaxial:
    each chain's axis folded onto its mode's fundamental-domain hemisphere), `nuts`
    (:class:`NutsResult`, unconstrained coordinates), `modes` (list of dicts, largest Laplace
    weight first: chains, share (fraction of chains), weight (Laplace-approximation posterior
    weight), rhat (largest within-mode R-hat of the physical parameters; NaN for a one-chain
    mode; triaxial: of :func:`shape_features`), chi2_min, median, lo68, hi68, lo95, hi95 per parameter), `optima` (list of dicts of
    the distinct starting optima: log posterior and physical parameters), `likelihood`,
    `n_points` (the number of fitted acceleration values).
    """

    model: str
    names: tuple
    samples: np.ndarray
    nuts: NutsResult
    modes: list
    optima: list = dataclasses.field(default_factory=list)
    likelihood: str = "independent"
    n_points: int = 0

    def flat(self) -> np.ndarray:
        return self.samples.reshape(-1, self.samples.shape[-1])

    def summary(self) -> dict:
        """Median and 68 %/95 % intervals of each parameter, all chains pooled."""
        f = self.flat()
        q = np.percentile(f, [50, 16, 84, 2.5, 97.5], axis=0)
        return {n: dict(median=q[0, i], lo68=q[1, i], hi68=q[2, i], lo95=q[3, i], hi95=q[4, i])
                for i, n in enumerate(self.names)}

    def max_mode_rhat(self) -> float:
        """Largest within-mode R-hat over the modes that have ≥ 2 chains (the convergence
        figure of a multi-modal fit)."""
        r = [m["rhat"] for m in self.modes if np.isfinite(m["rhat"])]
        return float(max(r)) if r else float("nan")


def find_modes(samples: np.ndarray, names, threshold: float = 2.0) -> list:
    """Group chains whose medians agree: chains i, j share a mode when every parameter's
    median differs by < ``threshold`` × the larger within-chain standard deviation (well-mixed
    chains differ by ~ σ √(2/ESS), far below it). ``samples``: (n_chains, n_draws, P) of the
    compared quantities (for the triaxial halo: :func:`shape_features`, free of the
    orientation's symmetries). Returns one summary dict per mode (chains, share, weight =
    share, median, lo68, hi68, lo95, hi95 of the compared quantities), largest first."""
    samples = np.asarray(samples, float)
    med = np.median(samples, 1)
    sd = np.std(samples, 1) + 1e-12
    n = samples.shape[0]
    label = -np.ones(n, int)
    for i in range(n):
        if label[i] >= 0:
            continue
        label[i] = label.max() + 1
        for j in range(i + 1, n):
            if label[j] < 0 and np.all(np.abs(med[i] - med[j]) < threshold * np.maximum(sd[i], sd[j])):
                label[j] = label[i]
    modes = []
    for lab in np.unique(label):
        ch = np.flatnonzero(label == lab)
        f = samples[ch].reshape(-1, samples.shape[-1])
        q = np.percentile(f, [50, 16, 84, 2.5, 97.5], axis=0)
        modes.append(dict(chains=ch.tolist(), share=len(ch) / n, weight=len(ch) / n,
                          **{k: dict(zip(names, q[i])) for i, k in enumerate(("median", "lo68", "hi68", "lo95", "hi95"))}))
    modes.sort(key=lambda m: -m["share"])
    return modes


#: names of :func:`shape_features`
SHAPE_FEATURES = ("log10_m_s", "r_s", "S_xx", "S_xy", "S_xz", "S_yy", "S_yz", "S_zz")


def shape_features(theta) -> np.ndarray:
    """Orientation-symmetry-free description of triaxial-halo draws theta (..., 6) (physical,
    :data:`HALO_MODELS` order): log10 M_s, r_s and the six components of the axis tensor
    S = n̂ n̂ᵀ + q_y ê_y′ ê_y′ᵀ + q_z ê_z′ ê_z′ᵀ (principal axes of roll = 0). S is the same for
    (p, y) and (−p, y + 180°) and smooth where pitch/yaw are not (near the poles, or for the
    ill-defined major axis of an oblate q_y ≈ 1 halo), so modes are grouped, and their R-hat
    computed, on it."""
    th = np.asarray(theta, float)
    e1 = axis_from_angles(th[..., 4], th[..., 5])
    y = np.deg2rad(th[..., 5])
    e2 = np.stack([-np.sin(y), np.cos(y), np.zeros_like(y)], -1)
    e3 = np.cross(e1, e2)
    S = (np.einsum("...i,...j->...ij", e1, e1) + th[..., 2, None, None] * np.einsum("...i,...j->...ij", e2, e2)
         + th[..., 3, None, None] * np.einsum("...i,...j->...ij", e3, e3))
    iu = np.triu_indices(3)
    return np.concatenate([th[..., :2], S[..., iu[0], iu[1]]], -1)


def mode_table(fit: HaloFit) -> list[dict]:
    """The paper's summary of each mode (largest weight first): posterior medians with 68 %
    intervals of the shape parameters — ``q_z`` for the flattened halo; the axis ratios
    1 : q_y : q_z, pitch (tilt of the major axis above the plane) and yaw [deg] for the
    triaxial one — with the mode's Laplace weight, share of the chains, within-mode R-hat and
    minimum χ²."""
    keys = ("q_z",) if fit.model == "flattened" else ("q_y", "q_z", "pitch", "yaw")
    rows = []
    for m in fit.modes:
        row = {k: m[k] for k in ("weight", "share", "chains", "rhat", "chi2_min") if k in m}
        for k in keys + ("log10_m_s", "r_s"):
            row[k] = {"median": m["median"][k], "lo68": m["lo68"][k], "hi68": m["hi68"][k]}
        rows.append(row)
    return rows


def _whitening(data: AccelerationData, likelihood: str, components, cov_floor: float) -> np.ndarray:
    M = data.mean.shape[0]
    use = np.zeros((M, 3), bool)
    use[:, np.asarray(components)] = True
    use = use.reshape(-1)
    if likelihood == "independent":
        return np.diag(use / np.maximum(np.asarray(data.std, float).reshape(-1), 1e-3))
    if data.cov is None:
        raise ValueError("fit_halo: likelihood='covariance' needs data.cov (build the data with acceleration_data)")
    idx = np.flatnonzero(use)
    C = np.asarray(data.cov, float)[np.ix_(idx, idx)]
    # regularise the sample covariance: its eigenvalues floored at cov_floor [(km/s/Myr)²]
    w, V = np.linalg.eigh(0.5 * (C + C.T))
    w = np.maximum(w, cov_floor)
    Winv = (V / np.sqrt(w)).T  # W = Λ^{-1/2} Vᵀ, |W r|² = rᵀ C⁻¹ r
    W = np.zeros((len(idx), 3 * M))
    W[:, idx] = Winv
    return W


def _fold_triaxial(theta_chains: np.ndarray, modes: list) -> tuple[np.ndarray, np.ndarray]:
    """Fold each draw's axis onto its mode's hemisphere (fundamental domain of the mode's mean
    axis: yaw ∈ [90°, 270°)); yaw unwrapped around the mode's yaw. Returns the physical samples
    and the signs (n_chains, n_draws) applied to the axes (−1 where a draw was folded)."""
    out = theta_chains.copy()
    axes = axis_from_angles(theta_chains[..., 4], theta_chains[..., 5])
    signs = np.ones(theta_chains.shape[:2])
    for m in modes:
        ch = m["chains"]
        a = axes[ch].reshape(-1, 3)
        _, vec = np.linalg.eigh(a.T @ a)
        ref = vec[:, -1]
        p_ref, y_ref = angles_from_axis(ref)
        if not 90.0 <= y_ref < 270.0:
            ref = -ref
            p_ref, y_ref = angles_from_axis(ref)
        s = np.sign(axes[ch] @ ref)
        s[s == 0] = 1.0
        p, y = angles_from_axis(axes[ch] * s[..., None])
        y = (y - y_ref + 180.0) % 360.0 - 180.0 + y_ref
        out[ch, :, 4], out[ch, :, 5] = p, y
        signs[ch] = s
    return out, signs


def _rhat(x: np.ndarray) -> np.ndarray:
    """Gelman–Rubin R-hat of draws (n_chains, n_draws, ...) per trailing component."""
    x = np.asarray(x, float)
    return _potential_scale_reduction(x.reshape(x.shape[:2] + (-1,))).reshape(x.shape[2:])


def fit_halo(key, data: AccelerationData, model: str = "triaxial", *, n_chains: int = 8, n_warmup: int = 300,
             n_samples: int = 400, components=(0, 1, 2), likelihood: str = "independent", n_starts: int = 32,
             n_opt_steps: int = 400, init: str = "optima", cov_floor: float = 0.01,
             disc_scale: float = 1.0) -> HaloFit:
    """Fit a halo model to stream accelerations with NUTS (module docstring).

    **Arguments:**

    - `key`: a ``jax.random`` key.
    - `data`: :class:`AccelerationData` (:func:`acceleration_data`).
    - `model`: ``"flattened"`` or ``"triaxial"``.
    - `n_chains`, `n_warmup`, `n_samples`: NUTS chains, adaptation steps and draws per chain.
    - `components`: which of (a_R, a_φ, a_z) enter the likelihood (indices 0, 1, 2).
    - `likelihood`: ``"independent"`` (the paper's) or ``"covariance"`` (needs ``data.cov``;
      its eigenvalues are floored at ``cov_floor`` [(km/s/Myr)²], default 0.01: no combination
      of the accelerations is taken as known better than 0.1 km/s/Myr, the paper's quoted
      precision — the draws' covariance has near-zero eigenvalues, relations imposed by the
      spline model rather than measured).
    - `disc_scale`: the triaxial model's fixed disc mass in units of MWPotential2014's (the
      flattened model samples it).
    - `init`: ``"optima"`` (chains start at the distinct optima of `n_starts` Adam runs of
      `n_opt_steps` steps) or ``"random"`` (dispersed starts over the prior).

    **Returns:** a :class:`HaloFit`.
    """
    if model not in HALO_MODELS:
        raise ValueError(f"fit_halo: model must be one of {tuple(HALO_MODELS)}; got {model!r}")
    if likelihood not in HALO_LIKELIHOODS:
        raise ValueError(f"fit_halo: likelihood must be one of {HALO_LIKELIHOODS}; got {likelihood!r}")
    if init not in ("optima", "random"):
        raise ValueError(f"fit_halo: init must be 'optima' or 'random'; got {init!r}")
    comps = tuple(int(c) for c in np.atleast_1d(components))
    if not comps or any(c not in (0, 1, 2) for c in comps):
        raise ValueError(f"fit_halo: components must be indices in (0, 1, 2) of (a_R, a_phi, a_z); got {components}")
    if n_chains < 1:
        raise ValueError("fit_halo: n_chains must be >= 1")
    names, lo, hi = HALO_MODELS[model]
    nb = _N_BOX[model]
    dim = nb + (3 if model == "triaxial" else 0)
    W = _whitening(data, likelihood, comps, cov_floor)
    d = dict(lo=jnp.asarray(lo), hi=jnp.asarray(hi), x=jnp.asarray(data.x), mean=jnp.asarray(data.mean),
             W=jnp.asarray(W), disc_scale=jnp.asarray(float(disc_scale)))
    logdensity = _LOGDENSITY[model]
    k_start, k_jit, k_run = jax.random.split(key, 3)

    def random_starts(k, n):
        k1, k2 = jax.random.split(k)
        p0 = jax.random.uniform(k1, (n, nb), minval=0.05, maxval=0.95)
        u = jnp.log(p0) - jnp.log1p(-p0)
        if model == "triaxial":
            u = jnp.concatenate([u, jax.random.normal(k2, (n, 3))], 1)
        return u

    optima = []
    if init == "optima":
        ck = (model, int(n_opt_steps))
        if ck not in _OPTIMISERS:
            _OPTIMISERS[ck] = _make_optimiser(model, int(n_opt_steps))
        u_opt, lp_opt = _OPTIMISERS[ck](random_starts(k_start, int(n_starts)), d)
        u_opt, lp_opt = np.asarray(u_opt), np.asarray(lp_opt)
        ok = np.isfinite(lp_opt)
        u_opt, lp_opt = u_opt[ok], lp_opt[ok]
        order = np.argsort(-lp_opt)
        keep: list[int] = []
        for i in order:
            if lp_opt[i] < lp_opt[order[0]] - 10.0 or len(keep) >= max(n_chains // 2, 1):
                break
            th = _physical_np(model, u_opt[i], lo, hi)
            dup = False
            for j in keep:
                tj = _physical_np(model, u_opt[j], lo, hi)
                close = np.all(np.abs(th[:nb] - tj[:nb]) < 0.15 * (np.asarray(hi[:nb]) - np.asarray(lo[:nb])))
                if model == "triaxial":
                    ang = np.degrees(np.arccos(min(abs(float(axis_from_angles(th[4], th[5]) @
                                                             axis_from_angles(tj[4], tj[5]))), 1.0)))
                    close = close and ang < 10.0
                if close:
                    dup = True
                    break
            if not dup:
                keep.append(int(i))
        optima = [dict(logp=float(lp_opt[i]), **dict(zip(names, _physical_np(model, u_opt[i], lo, hi).tolist())))
                  for i in keep]
        starts = np.stack([u_opt[keep[c % len(keep)]] for c in range(n_chains)])
        starts = starts + 0.05 * np.asarray(jax.random.normal(k_jit, starts.shape))
        u0 = jnp.asarray(starts)
    else:
        u0 = random_starts(k_start, n_chains)
    res = run_nuts(k_run, logdensity, u0, n_warmup, n_samples, data=d)

    u = np.asarray(res.samples)  # (n_chains, n_samples, dim)
    theta = _physical_np(model, u, lo, hi)
    if model == "triaxial":
        feats = shape_features(theta)
        modes = find_modes(feats, SHAPE_FEATURES)
        theta, signs = _fold_triaxial(theta, modes)
        u = u.copy()
        u[..., nb:] *= signs[..., None]  # the same fold in the sampling coordinates (a symmetry)
    else:
        feats = theta
        modes = find_modes(theta, names)
    # per mode: folded summaries, within-mode R-hat, min χ², Laplace weight at its best draw
    log_z = []
    for m in modes:
        ch = m["chains"]
        f = theta[ch].reshape(-1, theta.shape[-1])
        q = np.percentile(f, [50, 16, 84, 2.5, 97.5], axis=0)
        for i, k in enumerate(("median", "lo68", "hi68", "lo95", "hi95")):
            m[k] = dict(zip(names, q[i].tolist()))
        m["rhat"] = float(np.max(_rhat(feats[ch]))) if len(ch) > 1 else float("nan")
        uu = u[ch].reshape(-1, dim)
        lp = np.asarray(res.logdensity)[ch].reshape(-1)
        best = uu[int(np.argmax(lp))]
        prior_best = float(np.sum(-np.logaddexp(0, -best[:nb]) - np.logaddexp(0, best[:nb])))
        if model == "triaxial":
            prior_best -= 0.5 * float(np.sum(best[nb:] ** 2))
        m["chi2_min"] = float(-2.0 * (lp.max() - prior_best))
        # Laplace approximation with the mode's sample covariance in the sampling coordinates
        sign, logdet = np.linalg.slogdet(np.atleast_2d(np.cov(uu, rowvar=False)))
        log_z.append(float(lp.max()) + 0.5 * dim * np.log(2 * np.pi) + 0.5 * logdet if sign > 0 else -np.inf)
    log_z = np.asarray(log_z)
    if np.any(np.isfinite(log_z)):
        w = np.exp(log_z - np.max(log_z))
        w = w / w.sum()
    else:
        w = np.array([m["share"] for m in modes])
    for m, wi in zip(modes, w):
        m["weight"] = float(wi)
    modes.sort(key=lambda m: -m["weight"])
    return HaloFit(model=model, names=names, samples=theta, nuts=res, modes=modes, optima=optima,
                   likelihood=likelihood, n_points=int(np.count_nonzero(np.any(W != 0, axis=1))))
