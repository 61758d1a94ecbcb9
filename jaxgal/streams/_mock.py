r"""Particle-spray mock streams for validation (Fardal et al. 2015 release offsets).

The progenitor (a point mass moving on an orbit; its self-gravity on released stars is
neglected, fine for a 10⁴ Msun cluster) is integrated back for ``t_total`` and then forwards.
Every ``release_every`` steps one star leaves through each Lagrange point. In the frame
(r̂, φ̂ = L̂ × r̂, L̂) of the progenitor, with r_t = (G m / (Ω² − ∂²Φ/∂r²))^{1/3} the Jacobi
radius and Ω = |L|/r²:

    Δx = ±(k_r r_t, 0, k_z r_t),   Δv = ±(0, k_vt k_r Ω r_t, k_vz Ω r_t)

(+ trailing, − leading) with k_r ~ N(2, 0.5), k_z ~ N(0, 0.5), k_vt ~ N(0.3, 0.5),
k_vz ~ N(0, 0.5): Fardal et al. (2015)'s distribution with the widths of gala's
``FardalStreamDF(gala_modified=True)``. Released stars move in the host potential only
(kick–drift–kick leapfrog, fixed step). Errors are then applied in the GD-1 frame
(:func:`observe_stream`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import frames
from .. import units as U
from ._data import COMPONENTS, StreamData

__all__ = ["spray_stream", "observe_stream", "gd1_progenitor"]


def _leapfrog_step(pot, x, v, dt):
    def acc(p):  # public acceleration [km/s/Myr] -> kpc/Myr^2
        return pot.acceleration(p) * U.KMS_TO_KPC_MYR

    v = v + 0.5 * dt * acc(x)
    x = x + dt * v
    v = v + 0.5 * dt * acc(x)
    return x, v


def gd1_progenitor(phi1: float = -40.0) -> np.ndarray:
    """Today's Galactocentric phase space (6,) [kpc, km/s] of a GD-1-like progenitor placed on
    the GD-1-I21 track at ``phi1``."""
    from ._data import load_gd1_track

    tr = load_gd1_track()
    vals = [np.interp(phi1, tr["phi1"], tr[c]) for c in COMPONENTS]
    return np.asarray(frames.gd1_to_galactocentric(phi1, *vals))


def spray_stream(key, pot, w_today, *, t_total: float = 3000.0, dt: float = 1.0, release_every: int = 2,
                 m_prog: float = 2e4) -> tuple[np.ndarray, np.ndarray]:
    """Particle-spray stream of a progenitor that is at ``w_today`` now (module docstring).

    **Arguments:**

    - `key`: a ``jax.random`` key (the release offsets).
    - `pot`: a jaxgal potential (static in time).
    - `w_today`: (6,) progenitor x [kpc], v [km/s] today.
    - `t_total`: disruption time [Myr]; `dt`: leapfrog step [Myr]; `release_every`: steps
      between releases (two stars per release).
    - `m_prog`: progenitor mass [Msun] (sets the Jacobi radius).

    **Returns:** (stars (2 n_release, 6) today [kpc, km/s], release times (2 n_release,) [Myr]).
    """
    n_steps = int(round(t_total / dt))
    if n_steps < 2 or release_every < 1:
        raise ValueError("spray_stream: need t_total/dt >= 2 and release_every >= 1")
    w_today = jnp.asarray(w_today, float)
    x0, v0 = w_today[:3], w_today[3:] * U.KMS_TO_KPC_MYR

    def back(carry, _):
        x, v = carry
        x, v = _leapfrog_step(pot, x[None], v[None], -dt)
        return (x[0], v[0]), (x[0], v[0])

    _, (xb, vb) = jax.lax.scan(back, (x0, v0), None, length=n_steps)
    # forward grid t_k = -T + k dt, k = 0..n_steps (k = n_steps is today)
    xp = jnp.concatenate([xb[::-1], x0[None]])
    vp = jnp.concatenate([vb[::-1], v0[None]])
    rel_steps = np.arange(0, n_steps, release_every)
    xr, vr = xp[rel_steps], vp[rel_steps]

    r = jnp.linalg.norm(xr, axis=-1)
    rhat = xr / r[:, None]
    L = jnp.cross(xr, vr)
    Lhat = L / jnp.linalg.norm(L, axis=-1, keepdims=True)
    phat = jnp.cross(Lhat, rhat)
    om = jnp.linalg.norm(L, axis=-1) / r**2
    hess = pot.hessian(xr) * U.KMS2_TO_KPC2_MYR2  # (km/s)^2/kpc^2 -> Myr^-2
    d2r = jnp.einsum("ni,nij,nj->n", rhat, hess, rhat)
    rt = (U.G * m_prog / (om**2 - d2r)) ** (1.0 / 3.0)

    n_rel = len(rel_steps)
    k = jax.random.normal(key, (2, n_rel, 4))
    kr = 2.0 + 0.5 * k[..., 0]
    kz = 0.5 * k[..., 1]
    kvt = 0.3 + 0.5 * k[..., 2]
    kvz = 0.5 * k[..., 3]
    sgn = jnp.array([1.0, -1.0])[:, None]  # trailing (outside), leading (inside)
    dx = sgn[..., None] * ((kr * rt)[..., None] * rhat + (kz * rt)[..., None] * Lhat)
    dv = sgn[..., None] * ((kvt * kr * om * rt)[..., None] * phat + (kvz * om * rt)[..., None] * Lhat)
    xs = (xr[None] + dx).reshape(-1, 3)
    vs = (vr[None] + dv).reshape(-1, 3)
    rel = jnp.asarray(np.concatenate([rel_steps, rel_steps]))

    def fwd(carry, kstep):
        x, v = carry
        started = (rel <= kstep)[:, None]
        xn, vn = _leapfrog_step(pot, x, v, dt)
        return (jnp.where(started, xn, x), jnp.where(started, vn, v)), None

    (xf, vf), _ = jax.jit(lambda c: jax.lax.scan(fwd, c, jnp.arange(n_steps)))((xs, vs))
    w = jnp.concatenate([xf, vf / U.KMS_TO_KPC_MYR], axis=-1)
    t_rel = -t_total + dt * np.concatenate([rel_steps, rel_steps])
    return np.asarray(w), t_rel


def observe_stream(key, w, *, n_stars: int = 600, rv_fraction: float = 0.3, phi1_range=None,
                   errors: dict | None = None, n_rv: int | None = None, rv_phi1_range=None) -> StreamData:
    """Observe star particles (N, 6) [kpc, km/s] in the GD-1 frame with Gaussian errors.

    ``errors``: dict component → 1σ (defaults: φ2 0, distance 0.2 kpc, proper motions
    0.1 mas/yr, RV 2 km/s). Keeps ``n_stars`` random stars inside ``phi1_range`` (all if
    fewer) and RVs for a random ``rv_fraction`` of them, or for exactly ``n_rv`` random stars
    with φ1 inside ``rv_phi1_range`` (default: all) when ``n_rv`` is given.
    """
    err = {"phi2": 0.0, "distance": 0.2, "pm_phi1_cosphi2": 0.1, "pm_phi2": 0.1, "radial_velocity": 2.0}
    if errors:
        err.update(errors)
    g = frames.galactocentric_to_gd1(jnp.asarray(w))
    cols = {c: np.asarray(getattr(g, c)) for c in ("phi1",) + COMPONENTS}
    m = np.ones(len(w), bool)
    if phi1_range is not None:
        m &= (cols["phi1"] > phi1_range[0]) & (cols["phi1"] < phi1_range[1])
    idx = np.flatnonzero(m)
    k_pick, k_noise, k_rv = jax.random.split(key, 3)
    if len(idx) > n_stars:
        idx = np.sort(np.asarray(jax.random.choice(k_pick, idx, (n_stars,), replace=False)))
    n = len(idx)
    noise = np.asarray(jax.random.normal(k_noise, (n, 5)))
    y = np.stack([cols[c][idx] for c in COMPONENTS], -1)
    e = np.broadcast_to(np.array([err[c] for c in COMPONENTS]), (n, 5)).copy()
    y = y + e * noise
    if n_rv is None:
        keep_rv = np.asarray(jax.random.uniform(k_rv, (n,))) < rv_fraction
    else:
        p1 = cols["phi1"][idx]
        cand = np.ones(n, bool) if rv_phi1_range is None else (p1 >= rv_phi1_range[0]) & (p1 <= rv_phi1_range[1])
        cand = np.flatnonzero(cand)
        if cand.size < n_rv:
            raise ValueError(f"observe_stream: only {cand.size} stars can get a radial velocity; n_rv = {n_rv}")
        keep_rv = np.zeros(n, bool)
        keep_rv[np.asarray(jax.random.permutation(k_rv, cand))[:n_rv]] = True
    y[~keep_rv, 4] = np.nan
    e[~keep_rv, 4] = np.nan
    order = np.argsort(cols["phi1"][idx])
    return StreamData(cols["phi1"][idx][order], y[order], e[order])
