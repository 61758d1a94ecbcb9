r"""NUTS fits of stream accelerations with global halo models (GD-1 paper §4).

Data: the median track positions x_j and the posterior mean and standard deviation of the
cylindrical accelerations (a_R, a_φ, a_z) at M points along the stream; the likelihood is
Gaussian and independent per point and component (as the paper, following N22).

Models (disc and bulge of MWPotential2014; potentials of density-flattened haloes from the
ellipsoidal integral of :mod:`jaxgal.potentials`):

- ``"flattened"``: log10 M_s ∈ [10.5, 12.5], r_s ∈ [10, 30] kpc, q_z ∈ [0.4, 1.6], disc mass
  scale ∈ [0.5, 1.5] (× MWPotential2014's 6.8×10¹⁰ Msun);
- ``"triaxial"``: log10 M_s ∈ [10.5, 12.5], r_s ∈ [10, 30] kpc, q_y, q_z ∈ [0.4, 1] (so x′
  is the major axis), pitch ∈ [−90°, 90°] (elevation of the major axis above the plane),
  yaw ∈ [90°, 270°] (its azimuth from +x; 180° is the Sun's direction; the half-range covers
  every orientation once, since an axis and its opposite are the same ellipsoid), roll = 0.

Priors are uniform in these boxes; NUTS runs in unconstrained logit coordinates (with the
Jacobian). Chains start at dispersed random points of the box; if they settle in different
places, :func:`find_modes` groups chains by their medians and each mode is reported.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .. import units as U
from ._models import flattened_halo_model, triaxial_halo_model
from ._nuts import NutsResult, run_nuts

__all__ = ["HALO_MODELS", "AccelerationData", "HaloFit", "acceleration_data", "fit_halo", "find_modes", "mode_table"]

#: name → (parameter names, lower bounds, upper bounds)
HALO_MODELS: dict[str, tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]] = {
    "flattened": (("log10_m_s", "r_s", "q_z", "disc_scale"), (10.5, 10.0, 0.4, 0.5), (12.5, 30.0, 1.6, 1.5)),
    "triaxial": (
        ("log10_m_s", "r_s", "q_y", "q_z", "pitch", "yaw"),
        (10.5, 10.0, 0.4, 0.4, -90.0, 90.0),
        (12.5, 30.0, 1.0, 1.0, 90.0, 270.0),
    ),
}


@dataclasses.dataclass(frozen=True)
class AccelerationData:
    """Accelerations to fit: `x` (M, 3) [kpc], `mean` and `std` (M, 3) cylindrical
    (a_R, a_φ, a_z) [km/s/Myr], `phi1` (M,) [deg]."""

    x: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    phi1: np.ndarray


def acceleration_data(acc_draws, x_draws, phi1) -> AccelerationData:
    """Summarise posterior draws (n, M, 3) of accelerations and positions for a halo fit."""
    return AccelerationData(
        x=np.median(np.asarray(x_draws), 0),
        mean=np.mean(np.asarray(acc_draws), 0),
        std=np.std(np.asarray(acc_draws), 0),
        phi1=np.asarray(phi1, float),
    )


def _halo_potential(model, theta):
    if model == "flattened":
        return flattened_halo_model(theta[0], theta[1], theta[2], theta[3])
    return triaxial_halo_model(theta[0], theta[1], theta[2], theta[3], theta[4], theta[5])


def model_accelerations(model: str, theta, x) -> jnp.ndarray:
    """Cylindrical accelerations (M, 3) [km/s/Myr] of a halo model with parameters theta at x (M, 3)."""
    pot = _halo_potential(model, theta)
    a = pot.acceleration(x)
    R = jnp.hypot(x[:, 0], x[:, 1])
    c, s = x[:, 0] / R, x[:, 1] / R
    return jnp.stack([a[:, 0] * c + a[:, 1] * s, -a[:, 0] * s + a[:, 1] * c, a[:, 2]], -1)


@dataclasses.dataclass(frozen=True)
class HaloFit:
    """Result of :func:`fit_halo`: `model`, `names`, `samples` (n_chains, n_draws, P) in
    physical units, `nuts` (:class:`NutsResult`), `modes` (list of dicts: chains, weight,
    median, lo68, hi68, lo95, hi95 per parameter)."""

    model: str
    names: tuple
    samples: np.ndarray
    nuts: NutsResult
    modes: list

    def flat(self) -> np.ndarray:
        return self.samples.reshape(-1, self.samples.shape[-1])

    def summary(self) -> dict:
        """Median and 68 %/95 % intervals of each parameter, all chains pooled."""
        f = self.flat()
        q = np.percentile(f, [50, 16, 84, 2.5, 97.5], axis=0)
        return {n: dict(median=q[0, i], lo68=q[1, i], hi68=q[2, i], lo95=q[3, i], hi95=q[4, i])
                for i, n in enumerate(self.names)}


def find_modes(samples: np.ndarray, names, threshold: float = 4.0) -> list:
    """Group chains whose medians agree: chains i, j share a mode when every parameter's
    median differs by < ``threshold`` × the larger within-chain standard deviation.
    ``samples``: (n_chains, n_draws, P). Returns one summary dict per mode, largest first."""
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
        modes.append(dict(chains=ch.tolist(), weight=len(ch) / n,
                          **{k: dict(zip(names, q[i])) for i, k in enumerate(("median", "lo68", "hi68", "lo95", "hi95"))}))
    modes.sort(key=lambda m: -m["weight"])
    return modes


def mode_table(fit: HaloFit) -> list[dict]:
    """The paper's summary of each mode (largest first): posterior medians with 68 % intervals
    of the shape parameters — ``q_z`` for the flattened halo; the axis ratios 1 : q_y : q_z,
    pitch (tilt of the major axis above the plane) and yaw [deg] for the triaxial one — and
    the mode's share of the chains."""
    keys = ("q_z",) if fit.model == "flattened" else ("q_y", "q_z", "pitch", "yaw")
    rows = []
    for m in fit.modes:
        row = {"weight": m["weight"], "chains": m["chains"]}
        for k in keys + ("log10_m_s", "r_s"):
            row[k] = {"median": m["median"][k], "lo68": m["lo68"][k], "hi68": m["hi68"][k]}
        rows.append(row)
    return rows


def _make_logdensity(model):
    def logdensity(u, d):
        theta = d["lo"] + (d["hi"] - d["lo"]) * jax.nn.sigmoid(u)
        a = model_accelerations(model, theta, d["x"])
        ll = -0.5 * jnp.sum(d["use"] * ((a - d["mean"]) / d["std"]) ** 2)
        return ll + jnp.sum(jax.nn.log_sigmoid(u) + jax.nn.log_sigmoid(-u))

    return logdensity


#: one log density per model, module-level so that NUTS compilations are cached
_LOGDENSITY = {m: _make_logdensity(m) for m in HALO_MODELS}


def fit_halo(key, data: AccelerationData, model: str = "triaxial", *, n_chains: int = 4, n_warmup: int = 300,
             n_samples: int = 400, components=(0, 1, 2)) -> HaloFit:
    """Fit a halo model to stream accelerations with NUTS (module docstring).

    **Arguments:** `key`; `data` (:func:`acceleration_data`); `model`: ``"flattened"`` or
    ``"triaxial"``; `n_chains` (dispersed starts: uniform over the middle 90 % of each prior
    range), `n_warmup`, `n_samples`; `components`: which of (a_R, a_φ, a_z) enter the likelihood.

    **Returns:** a :class:`HaloFit`.
    """
    if model not in HALO_MODELS:
        raise ValueError(f"fit_halo: model must be one of {tuple(HALO_MODELS)}; got {model!r}")
    names, lo, hi = HALO_MODELS[model]
    use = np.zeros(3)
    use[np.asarray(components)] = 1.0
    d = dict(lo=jnp.asarray(lo), hi=jnp.asarray(hi), x=jnp.asarray(data.x), mean=jnp.asarray(data.mean),
             std=jnp.asarray(np.maximum(data.std, 1e-3)), use=jnp.asarray(use))
    k_init, k_run = jax.random.split(key)
    p0 = jax.random.uniform(k_init, (n_chains, len(names)), minval=0.05, maxval=0.95)
    u0 = jnp.log(p0) - jnp.log1p(-p0)
    res = run_nuts(k_run, _LOGDENSITY[model], u0, n_warmup, n_samples, data=d)
    lo_, hi_ = np.asarray(lo), np.asarray(hi)
    theta = lo_ + (hi_ - lo_) / (1.0 + np.exp(-np.asarray(res.samples)))
    return HaloFit(model=model, names=names, samples=theta, nuts=res, modes=find_modes(theta, names))
