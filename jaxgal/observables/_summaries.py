"""The 52 binned velocity summaries of Brooks et al. (§2.2), as masked, jit/vmap-able JAX.

For each star (or particle) with Galactocentric radius r_gal, heliocentric Galactic
direction (l, b) and the Galactocentric velocity v:

- v_GSR = v · n̂ (the Galactocentric velocity on the heliocentric line of sight;
  :func:`jaxgal.frames.v_gsr`, or v_los + v☉·n̂ for an observed star),
- v_t,b = v · ê_b (on the direction of increasing Galactic latitude; k d μ_b + v☉·ê_b).

**Selection and bins** (the defaults, :class:`SummaryConfig`): r_gal in [30, 160] kpc;
v_GSR in 5 equal r_gal bins in each of 4 sky quadrants, v_t,b in 6 equal r_gal bins over
the whole sky. A star is in bin i if e_i ≤ r_gal < e_{i+1} (the last bin also takes
r_gal = e_last). Quadrants are closed boxes in (l, b), a star taking the *first* box that
contains it:

    Q1: l ∈ [0°, 180°],  b ∈ [0°, 90°]      Q2: l ∈ [180°, 360°], b ∈ [0°, 90°]
    Q3: l ∈ [0°, 180°],  b ∈ [−90°, 0°]     Q4: l ∈ [180°, 360°], b ∈ [−90°, 0°]

so l = 180° goes to Q1/Q3 (the paper's Q1 is l ∈ [0°, 180°]); b = 0 exactly (measure zero) goes north.

**Statistic**: the 3σ-clipped mean and dispersion, clipping iterated exactly as
``astropy.stats.sigma_clip(x, sigma=3, maxiters=5, cenfunc="mean", stdfunc="std")``
(mean-centred by default; ``cenfunc="median"`` is the other option): at each iteration the
centre c and the standard deviation s (ddof = 0, about the mean) of the stars still kept
give bounds [c − 3s, c + 3s]; stars outside are removed; the loop stops after
`max_iters` = 5 iterations or when an iteration removes nothing. The final set is every
star of the bin inside the last bounds (astropy's final mask), whose weighted mean and
standard deviation (``ddof`` = 0 by default) are the summaries. Weights w ≥ 0 per star
(bootstrap multiplicities, selection weights) enter as Σ w x / Σ w; with integer weights
this equals the unweighted statistic of the sample with each star repeated w times.

**Order of the 52 values** (:func:`summary_names`): v_GSR means for Q1 bins 1..5, Q2 bins
1..5, Q3, Q4 (20); v_GSR dispersions in the same order (20); v_t,b means for bins 1..6 (6);
v_t,b dispersions (6).

**Empty bins**: a bin with fewer than `min_count` (default 5) stars before clipping is
flagged (``flags`` True) and its mean and dispersion are set to `fill_value` (default 0.0;
``float("nan")`` is accepted and is jit-safe). :meth:`Summaries.values_or_nan` gives the
values with NaN in the flagged entries whatever the fill value: the inference layer's
convention (NaN = missing input, the estimator adds indicator features). ``counts`` holds
the (weighted) number of stars in the bin before clipping and ``n_kept`` the number left
after clipping.
"""

from __future__ import annotations

from typing import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from .. import frames as F
from ._catalogue import Catalogue

__all__ = [
    "SummaryConfig",
    "Summaries",
    "summaries",
    "summary_names",
    "poisson_deviation",
    "equal_bins",
    "sigma_clipped_stats",
    "star_velocities",
    "PAPER_QUADRANTS",
]

#: Quadrant boxes (l_min, l_max, b_min, b_max) [deg] of Brooks et al. §2.2, Q1..Q4.
PAPER_QUADRANTS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 180.0, 0.0, 90.0),
    (180.0, 360.0, 0.0, 90.0),
    (0.0, 180.0, -90.0, 0.0),
    (180.0, 360.0, -90.0, 0.0),
)


def equal_bins(r_min: float, r_max: float, n: int) -> tuple[float, ...]:
    """n equal bins between r_min and r_max: the n + 1 edges [kpc] as a tuple."""
    return tuple(float(e) for e in np.linspace(r_min, r_max, n + 1))


class SummaryConfig(eqx.Module):
    """Bins, quadrants and statistic of the summaries (all static; defaults = the paper).

    **Arguments:**

    - `gsr_edges`: r_gal bin edges of the v_GSR statistics [kpc] (default 5 equal bins in
      [30, 160]).
    - `tb_edges`: r_gal bin edges of the v_t,b statistics [kpc] (default 6 equal bins).
    - `quadrants`: boxes (l_min, l_max, b_min, b_max) [deg] (default :data:`PAPER_QUADRANTS`).
    - `quadrant_names`: their names, used in :func:`summary_names`.
    - `sigma`: clipping threshold in standard deviations (3).
    - `max_iters`: maximum number of clipping iterations (5; 0 = no clipping).
    - `cenfunc`: ``"mean"`` (default) or ``"median"``: the centre of the clipping bounds.
    - `ddof`: delta degrees of freedom of the reported dispersion (0, as ``np.std``).
    - `min_count`: bins with fewer stars (before clipping) are flagged (5).
    - `fill_value`: the value of a flagged bin's mean and dispersion (0.0; NaN allowed,
      see :meth:`Summaries.values_or_nan`).
    """

    gsr_edges: tuple[float, ...] = eqx.field(static=True, default=equal_bins(30.0, 160.0, 5))
    tb_edges: tuple[float, ...] = eqx.field(static=True, default=equal_bins(30.0, 160.0, 6))
    quadrants: tuple[tuple[float, float, float, float], ...] = eqx.field(
        static=True, default=PAPER_QUADRANTS
    )
    quadrant_names: tuple[str, ...] = eqx.field(static=True, default=("Q1", "Q2", "Q3", "Q4"))
    sigma: float = eqx.field(static=True, default=3.0)
    max_iters: int = eqx.field(static=True, default=5)
    cenfunc: str = eqx.field(static=True, default="mean")
    ddof: int = eqx.field(static=True, default=0)
    min_count: int = eqx.field(static=True, default=5)
    fill_value: float = eqx.field(static=True, default=0.0)

    def __check_init__(self):
        for name in ("gsr_edges", "tb_edges"):
            e = np.asarray(getattr(self, name), dtype=float)
            if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0) or e[0] < 0:
                raise ValueError(
                    f"SummaryConfig: {name} must be >= 2 increasing non-negative edges; got "
                    f"{getattr(self, name)}"
                )
        if len(self.quadrant_names) != len(self.quadrants):
            raise ValueError(
                f"SummaryConfig: {len(self.quadrants)} quadrants but "
                f"{len(self.quadrant_names)} quadrant_names"
            )
        for q in self.quadrants:
            if len(q) != 4:
                raise ValueError(f"SummaryConfig: a quadrant is (l_min, l_max, b_min, b_max); got {q}")
        if self.cenfunc not in ("mean", "median"):
            raise ValueError(f"SummaryConfig: cenfunc must be 'mean' or 'median'; got {self.cenfunc!r}")
        if not self.sigma > 0:
            raise ValueError(f"SummaryConfig: sigma must be > 0; got {self.sigma}")
        if self.max_iters < 0 or self.min_count < 1:
            raise ValueError(
                f"SummaryConfig: max_iters must be >= 0 and min_count >= 1; got "
                f"{self.max_iters}, {self.min_count}"
            )

    @property
    def n_gsr(self) -> int:
        return len(self.quadrants) * (len(self.gsr_edges) - 1)

    @property
    def n_tb(self) -> int:
        return len(self.tb_edges) - 1

    @property
    def n_values(self) -> int:
        """Total number of summaries (52 for the defaults)."""
        return 2 * self.n_gsr + 2 * self.n_tb


def summary_names(config: SummaryConfig | None = None) -> tuple[str, ...]:
    """Names of the summaries in their order, e.g. ``vgsr_mean_Q1_r30-56``,
    ``vgsr_sigma_Q4_r134-160``, ``vtb_mean_r30-51.67``, ``vtb_sigma_r138.3-160``."""
    c = SummaryConfig() if config is None else config

    def rng(e, i):
        return f"r{e[i]:.4g}-{e[i + 1]:.4g}"

    g = [
        f"{q}_{rng(c.gsr_edges, i)}" for q in c.quadrant_names for i in range(len(c.gsr_edges) - 1)
    ]
    t = [rng(c.tb_edges, i) for i in range(len(c.tb_edges) - 1)]
    return tuple(
        [f"vgsr_mean_{s}" for s in g]
        + [f"vgsr_sigma_{s}" for s in g]
        + [f"vtb_mean_{s}" for s in t]
        + [f"vtb_sigma_{s}" for s in t]
    )


class Summaries(eqx.Module):
    """The binned summaries of one (or, batched, many) star sets.

    - `values`: (..., 52) the summaries in :func:`summary_names` order [km/s]; flagged bins
      hold ``config.fill_value`` (:meth:`values_or_nan` puts NaN there instead).
    - `counts`: (..., 52) weighted number of stars in each entry's bin, before clipping.
    - `n_kept`: (..., 52) the same after clipping.
    - `flags`: (..., 52) True where ``counts < config.min_count``.
    - `names`: the 52 names (static).
    """

    values: Float[Array, "*batch k"]
    counts: Float[Array, "*batch k"]
    n_kept: Float[Array, "*batch k"]
    flags: Bool[Array, "*batch k"]
    names: tuple[str, ...] = eqx.field(static=True)

    def values_or_nan(self) -> Array:
        """The values with NaN in the flagged entries (bins with fewer than
        ``min_count`` stars): the convention of the inference layer, whose estimators take
        NaN as "missing" and add indicator features. Jit-safe (a ``jnp.where``); the
        ``values`` field keeps ``config.fill_value`` (0.0 by default)."""
        return jnp.where(self.flags, jnp.asarray(jnp.nan, self.values.dtype), self.values)

    def poisson_errors(self) -> Array:
        """The Poisson (finite-sample) error of each entry, (..., 52) [km/s]: s/√N for a
        mean and s/√(2N) for a dispersion, where s is the bin's clipped dispersion and N its
        number of stars kept after clipping (at least 1); the large-N errors of a Gaussian
        sample's mean and standard deviation."""
        names = self.names
        sig_of = np.array([names.index(n.replace("_mean_", "_sigma_")) if "_mean_" in n else i
                           for i, n in enumerate(names)])
        is_mean = np.array(["_mean_" in n for n in names])
        kept = jnp.maximum(self.n_kept, 1.0)
        s = self.values[..., jnp.asarray(sig_of)]
        return s / jnp.sqrt(jnp.where(jnp.asarray(is_mean), 1.0, 2.0) * kept)

    @property
    def means(self) -> Array:
        """The mean entries, (..., n_gsr + n_tb): v_GSR means then v_t,b means."""
        n = len(self.names)
        idx = [i for i in range(n) if "_mean_" in self.names[i]]
        return self.values[..., jnp.asarray(idx)]


def poisson_deviation(summaries_a: Summaries, summaries_ref: Summaries) -> Array:
    """|a − ref| of each summary in units of the reference's Poisson error
    (:meth:`Summaries.poisson_errors`), (..., 52); NaN where either is flagged. How far
    apart two simulations of the same stars are, on the scale that matters for inference
    (e.g. cheaper numerics against a converged reference)."""
    d = jnp.abs(summaries_a.values - summaries_ref.values) / summaries_ref.poisson_errors()
    return jnp.where(summaries_a.flags | summaries_ref.flags, jnp.nan, d)


# ---------------------------------------------------------------------------------------
# Clipped statistics
# ---------------------------------------------------------------------------------------


def _weighted_median(x: Array, w: Array) -> Array:
    """Median of x with non-negative weights w (exact for integer weights: the median of the
    sample with each value repeated w times, as ``np.median``)."""
    order = jnp.argsort(jnp.where(w > 0, x, jnp.inf))
    xs, ws = x[order], w[order]
    cw = jnp.cumsum(ws)
    total = cw[-1]
    k1 = jnp.floor((total - 1.0) / 2.0)
    k2 = jnp.floor(total / 2.0)
    i1 = jnp.clip(jnp.searchsorted(cw, k1, side="right"), 0, x.shape[0] - 1)
    i2 = jnp.clip(jnp.searchsorted(cw, k2, side="right"), 0, x.shape[0] - 1)
    return 0.5 * (xs[i1] + xs[i2])


def sigma_clipped_stats(
    x: Float[Array, " n"],
    weights: Float[Array, " n"],
    sigma: float = 3.0,
    max_iters: int = 5,
    cenfunc: str = "mean",
    ddof: int = 0,
) -> tuple[Array, Array, Array, Array]:
    """Iterated σ-clipped weighted mean and dispersion of one set (module docstring).

    Stars with weight 0 (or non-finite x) are ignored. The iteration is a
    ``lax.while_loop`` of at most `max_iters` passes that stops when a pass removes
    nothing (astropy's ``sigma_clip`` semantics, including its final mask: every star
    inside the last bounds).

    **Returns:** (mean, dispersion, weighted count before clipping, weighted count after);
    mean and dispersion are 0 when nothing is kept.
    """
    x = jnp.asarray(x)
    w = jnp.asarray(weights, dtype=x.dtype)
    active = (w > 0) & jnp.isfinite(x)
    w = jnp.where(active, w, 0.0)
    x = jnp.where(active, x, 0.0)

    def moments(m):
        ww = jnp.where(m, w, 0.0)
        tot = ww.sum()
        safe = jnp.where(tot > 0, tot, 1.0)
        mu = jnp.sum(ww * x) / safe
        var = jnp.sum(ww * (x - mu) ** 2) / safe
        return tot, mu, var

    def body(state):
        m, _, _, it, _ = state
        _, mu, var = moments(m)
        c = mu if cenfunc == "mean" else _weighted_median(x, jnp.where(m, w, 0.0))
        s = jnp.sqrt(var)
        lo, hi = c - sigma * s, c + sigma * s
        m2 = m & (x >= lo) & (x <= hi)
        return m2, lo, hi, it + 1, jnp.sum(m & ~m2)

    def cond(state):
        return (state[3] < max_iters) & (state[4] > 0)

    inf = jnp.asarray(jnp.inf, x.dtype)
    init = (active, -inf, inf, jnp.asarray(0), jnp.asarray(1))
    _, lo, hi, _, _ = jax.lax.while_loop(cond, body, init)
    final = active & (x >= lo) & (x <= hi)
    n_kept, mu, var = moments(final)
    denom = n_kept - ddof
    disp = jnp.sqrt(jnp.where(denom > 0, var * n_kept / jnp.where(denom > 0, denom, 1.0), 0.0))
    return mu, disp, w.sum(), n_kept


# ---------------------------------------------------------------------------------------
# Per-star quantities
# ---------------------------------------------------------------------------------------


def star_velocities(data, frame: F.GalactocentricFrame | None = None):
    """(r_gal, l, b, v_GSR, v_t,b) [kpc, deg, deg, km/s, km/s] of particles or stars.

    `data` is an (N, 6) Galactocentric array (kpc, km/s) or a :class:`Catalogue` (v_GSR
    from v_los, v_t,b from μ_b and the distance; NaN where the observable is missing).
    """
    if isinstance(data, Catalogue):
        d_ok = jnp.isfinite(data.distance) & (data.distance > 0)
        d = jnp.where(d_ok, data.distance, 1.0)
        zero = jnp.zeros_like(d)
        pmb_ok = jnp.isfinite(data.pm_b)
        w = F.galactic_to_galactocentric(
            data.l, data.b, d, zero, zero, jnp.where(pmb_ok, data.pm_b, 0.0), frame=frame
        )
        r = jnp.linalg.norm(w[..., :3], axis=-1)
        r = jnp.where(d_ok, r, jnp.nan)
        vgsr = F.v_los_to_v_gsr(data.l, data.b, data.v_los, frame=frame)
        vtb = jnp.where(pmb_ok & d_ok, F.v_tb(w, frame=frame), jnp.nan)
        return r, data.l, data.b, vgsr, vtb
    w = jnp.asarray(data)
    if w.ndim < 1 or w.shape[-1] != 6:
        raise ValueError(
            f"summaries: particles must have shape (N, 6) (x, y, z [kpc], v_x, v_y, v_z [km/s]); "
            f"got {w.shape}"
        )
    gal = F.galactocentric_to_galactic(w, frame=frame)
    r = jnp.linalg.norm(w[..., :3], axis=-1)
    return r, gal.l, gal.b, F.v_gsr(w, frame=frame), F.v_tb(w, frame=frame)


def _bin_onehot(r: Array, edges: Sequence[float]) -> Array:
    """(n_bins, N) membership: e_i ≤ r < e_{i+1}, the last bin closed."""
    e = np.asarray(edges, dtype=float)
    lo, hi = e[:-1, None], e[1:, None]
    last = np.zeros((len(e) - 1, 1), dtype=bool)
    last[-1] = True
    return (r[None, :] >= lo) & ((r[None, :] < hi) | (last & (r[None, :] == hi)))


def _quadrant_onehot(l: Array, b: Array, quadrants) -> Array:
    """(n_quadrants, N) membership: the first closed box containing (l, b)."""
    inside = jnp.stack(
        [(l >= q[0]) & (l <= q[1]) & (b >= q[2]) & (b <= q[3]) for q in quadrants]
    )
    earlier = jnp.cumsum(inside.astype(jnp.int32), axis=0) - inside.astype(jnp.int32)
    return inside & (earlier == 0)


@eqx.filter_jit
def _summaries_core(r, l, b, vgsr, vtb, weights, config: SummaryConfig) -> Summaries:
    c = config
    n_g, n_t = c.n_gsr, c.n_tb
    ok_r = jnp.isfinite(r)
    r = jnp.where(ok_r, r, -1.0)
    q1h = _quadrant_onehot(jnp.mod(l, 360.0), b, c.quadrants)  # (Q, N)
    g1h = _bin_onehot(r, c.gsr_edges)  # (G, N)
    t1h = _bin_onehot(r, c.tb_edges)  # (T, N)
    mem_g = (q1h[:, None, :] & g1h[None, :, :]).reshape(n_g, -1)
    w_g = jnp.where(mem_g & jnp.isfinite(vgsr)[None, :], weights[None, :], 0.0)
    w_t = jnp.where(t1h & jnp.isfinite(vtb)[None, :], weights[None, :], 0.0)

    def stats(x, w):
        return sigma_clipped_stats(x, w, c.sigma, c.max_iters, c.cenfunc, c.ddof)

    # one clipping loop for all n_g + n_t groups (one while_loop to compile)
    xs = jnp.concatenate(
        [jnp.broadcast_to(vgsr, w_g.shape), jnp.broadcast_to(vtb, w_t.shape)], axis=0
    )
    m_all, s_all, n_all, k_all = jax.vmap(stats)(xs, jnp.concatenate([w_g, w_t], axis=0))
    mg, sg, ng, kg = m_all[:n_g], s_all[:n_g], n_all[:n_g], k_all[:n_g]
    mt, st, nt, kt = m_all[n_g:], s_all[n_g:], n_all[n_g:], k_all[n_g:]
    values = jnp.concatenate([mg, sg, mt, st])
    counts = jnp.concatenate([ng, ng, nt, nt])
    kept = jnp.concatenate([kg, kg, kt, kt])
    flags = counts < c.min_count
    values = jnp.where(flags, jnp.asarray(c.fill_value, values.dtype), values)
    return Summaries(values, counts, kept, flags, summary_names(c))


def summaries(
    data,
    config: SummaryConfig | None = None,
    *,
    frame: F.GalactocentricFrame | None = None,
    weights=None,
) -> Summaries:
    """The binned summaries (52 with the defaults) of particles or observed stars.

    **Arguments:**

    - `data`: an (N, 6) Galactocentric particle array (x, y, z [kpc], v_x, v_y, v_z
      [km/s]; what ``jg.simulation.simulate(...).particles`` returns), a batch (B, N, 6)
      (mapped with ``jax.vmap``), or a :class:`Catalogue` of observed stars (observed
      values, errors not deconvolved; stars missing v_los or μ_b drop out of the v_GSR or
      v_t,b statistics).
    - `config`: a :class:`SummaryConfig` (default: the paper's bins, quadrants and 3σ
      clipping with 5 iterations; see the module docstring for every convention).
    - `frame`: the :class:`jaxgal.frames.GalactocentricFrame` (default astropy's, as Brooks et al.).
    - `weights`: optional (N,) non-negative weights per star (e.g. bootstrap multiplicities).

    **Returns:** a :class:`Summaries` (``.values``, ``.counts``, ``.n_kept``, ``.flags``,
    ``.names``). Pure JAX: jit- and vmap-able over simulations (fixed shapes; no NaN unless `config.fill_value` is NaN).
    """
    c = SummaryConfig() if config is None else config
    if not isinstance(data, Catalogue):
        arr = jnp.asarray(data)
        if arr.ndim == 3:
            wb = None if weights is None else jnp.asarray(weights)
            if wb is None:
                return jax.vmap(lambda p: summaries(p, c, frame=frame))(arr)
            return jax.vmap(lambda p, w: summaries(p, c, frame=frame, weights=w))(arr, wb)
        if arr.ndim != 2 or arr.shape[-1] != 6:
            raise ValueError(
                "summaries: expected an (N, 6) Galactocentric particle array (kpc, km/s), a "
                f"(B, N, 6) batch or a Catalogue; got shape {arr.shape}"
            )
        data = arr
    elif data.l.ndim != 1:
        return jax.vmap(lambda cat: summaries(cat, c, frame=frame))(data)
    r, l, b, vgsr, vtb = star_velocities(data, frame)
    n = r.shape[-1]
    w = jnp.ones(n, dtype=r.dtype) if weights is None else jnp.asarray(weights, dtype=r.dtype)
    if w.shape != (n,):
        raise ValueError(f"summaries: weights must have shape ({n},); got {w.shape}")
    return _summaries_core(r, l, b, vgsr, vtb, w, c)
