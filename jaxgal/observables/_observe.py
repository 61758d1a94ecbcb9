r"""Observation models: simulated particles observed like a survey.

An observation model turns the N particles of one simulation (Galactocentric x, v) into N
*observed* stars with the same fixed shape, as the survey would have seen them:

1. exact heliocentric observables (l, b, d, v_los, μ_l cos b, μ_b) in a Galactocentric frame;
2. per-star errors drawn from the model: a fractional distance error f, a line-of-sight
   velocity error σ_v, proper-motion errors σ_l, σ_b and their correlation ρ, and a
   pattern of missing observables (a star without a spectrum has no v_los, say);
3. the observed values (as :func:`jaxgal.observables.apply_errors`):
   d_obs = d · max(1 + f ε_d, 0.05), reported distance error f · d_obs;
   v_los,obs = v_los + σ_v ε_v; (μ_l*, μ_b)_obs = (μ_l*, μ_b) + (σ_l ε_1,
   σ_b (ρ ε_1 + √(1 − ρ²) ε_2)), ε ~ N(0, 1) independent; a missing observable is NaN;
4. the survey's quality cuts (:class:`QualityCuts`), evaluated on the *observed* values
   and reported errors as the survey evaluates them: a star failing them is kept in the
   arrays but marked unselected (``ObservedStars.selected``), so shapes stay fixed and
   everything is jit/vmap-able over simulations.

The observed stars then go through the same 3σ-clipped summaries as the data
(:func:`observed_summaries`), binned by their *observed* r_gal, so stars scatter between
distance bins as real stars do, and the dispersions contain the measurement errors
(k d_obs σ_b in v_t,b).

Two implementations share this interface (:class:`AbstractObservationModel`):

- :class:`CatalogueErrorModel` (``from_catalogue(cat)``): the errors of a given catalogue.
  Each particle takes the errors and the missing-observable pattern of one observed star
  drawn at random among the `k_nearest` stars closest to it in heliocentric distance within
  the same sky region (by default the four quadrants of Brooks et al.; a region with fewer
  than `min_region_stars` stars uses the whole sky). Beyond the catalogue's distance range
  a particle takes the errors of the nearest stars in distance (no extrapolation of the
  proper-motion errors with magnitude).
- :class:`jaxgal.observables.ErrorModel`: the analytic Gaia-DR3-like model (10 %
  distances, 3 km/s v_los, σ_μ(G) of a tracer of absolute magnitude M_G).

Models are saved without pickle (:meth:`AbstractObservationModel.save`: a ``.npz`` of
arrays with a JSON header) and carry a stable :attr:`~AbstractObservationModel.identifier`
(a SHA-256 of their settings and arrays) for a suite's manifest.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import json
import os
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from .. import frames as F
from ._catalogue import Catalogue, catalogue_from_particles

__all__ = [
    "QualityCuts",
    "ObservedStars",
    "StarErrors",
    "AbstractObservationModel",
    "CatalogueErrorModel",
    "observe",
]

_FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class QualityCuts:
    """Quality cuts of a survey, applied to the *observed* values and reported errors.

    **Arguments:**

    - `max_frac_distance_err`: keep stars with reported σ_d / d_obs below this (e.g. 0.25);
      None: no cut.
    - `max_pm_err` [mas/yr]: keep stars whose reported proper-motion errors are both below
      this (stars without proper motions pass); None: no cut.
    - `require_v_los`: keep only stars with a line-of-sight velocity.

    A star with no velocity observable at all, or without a finite positive distance, is
    never selected.
    """

    max_frac_distance_err: float | None = None
    max_pm_err: float | None = None
    require_v_los: bool = False

    def __post_init__(self):
        if self.max_frac_distance_err is not None and not self.max_frac_distance_err > 0:
            raise ValueError(
                f"QualityCuts: max_frac_distance_err must be > 0 or None; got "
                f"{self.max_frac_distance_err}"
            )
        if self.max_pm_err is not None and not self.max_pm_err > 0:
            raise ValueError(f"QualityCuts: max_pm_err must be > 0 or None; got {self.max_pm_err}")

    def select(self, cat: Catalogue) -> Bool[Array, "*batch n"]:
        """Boolean mask of the stars of `cat` that pass the cuts."""
        d_ok = jnp.isfinite(cat.distance) & (cat.distance > 0)
        has_v = jnp.isfinite(cat.v_los)
        has_pm = jnp.isfinite(cat.pm_l_cosb) & jnp.isfinite(cat.pm_b)
        ok = d_ok & (has_v | has_pm)
        if self.max_frac_distance_err is not None:
            frac = cat.distance_err / jnp.where(d_ok, cat.distance, 1.0)
            ok = ok & jnp.isfinite(frac) & (frac < self.max_frac_distance_err)
        if self.max_pm_err is not None:
            m = self.max_pm_err
            pm_ok = (cat.pm_l_cosb_err < m) & (cat.pm_b_err < m)
            ok = ok & (pm_ok | ~has_pm)
        if self.require_v_los:
            ok = ok & has_v
        return ok

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class StarErrors(eqx.Module):
    """Per-star errors drawn by an observation model (each (N,)): fractional distance error
    `frac_distance`, `v_los_err` [km/s], `pm_l_err`, `pm_b_err` [mas/yr], `pm_corr`, and
    which observables exist: `has_v_los`, `has_pm_l`, `has_pm_b`."""

    frac_distance: Float[Array, " n"]
    v_los_err: Float[Array, " n"]
    pm_l_err: Float[Array, " n"]
    pm_b_err: Float[Array, " n"]
    pm_corr: Float[Array, " n"]
    has_v_los: Bool[Array, " n"]
    has_pm_l: Bool[Array, " n"]
    has_pm_b: Bool[Array, " n"]


class ObservedStars(eqx.Module):
    """Simulated particles as observed: `catalogue` (a :class:`Catalogue` of the N stars,
    NaN for missing observables) and `selected` (N,) True for stars that pass the quality
    cuts. Use ``selected`` as weights (:attr:`weights`) in the summaries."""

    catalogue: Catalogue
    selected: Bool[Array, "*batch n"]

    @property
    def weights(self) -> Array:
        return self.selected.astype(self.catalogue.distance.dtype)


def _observed_catalogue(key, true: Catalogue, e: StarErrors) -> Catalogue:
    """Perturb exact observables with drawn errors (module docstring, step 3)."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    n = true.l.shape
    dt = true.distance.dtype
    d_obs = true.distance * jnp.maximum(1.0 + e.frac_distance * jax.random.normal(k1, n, dt), 0.05)
    v_obs = true.v_los + e.v_los_err * jax.random.normal(k2, n, dt)
    e1 = jax.random.normal(k3, n, dt)
    e2 = jax.random.normal(k4, n, dt)
    rho = jnp.clip(e.pm_corr, -1.0, 1.0)
    pml = true.pm_l_cosb + e.pm_l_err * e1
    pmb = true.pm_b + e.pm_b_err * (rho * e1 + jnp.sqrt(1.0 - rho * rho) * e2)
    nan = jnp.asarray(jnp.nan, dt)
    return Catalogue(
        true.l,
        true.b,
        d_obs,
        jnp.where(e.has_v_los, v_obs, nan),
        jnp.where(e.has_pm_l, pml, nan),
        jnp.where(e.has_pm_b, pmb, nan),
        e.frac_distance * d_obs,
        jnp.where(e.has_v_los, e.v_los_err, nan),
        jnp.where(e.has_pm_l, e.pm_l_err, nan),
        jnp.where(e.has_pm_b, e.pm_b_err, nan),
        jnp.where(e.has_pm_l & e.has_pm_b, rho, 0.0),
    )


def _canonical(obj):
    """JSON-ready copy with tuples as lists and floats kept exactly (repr round-trips)."""
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return obj


class AbstractObservationModel(eqx.Module):
    """How a survey observes a star: errors, missing observables, quality cuts.

    Concrete models implement :meth:`draw_errors` (per-star errors given the exact
    observables), `cuts` (a :class:`QualityCuts`) and :meth:`_settings` / :meth:`_arrays`
    (what :meth:`save` writes). :meth:`observe` is then shared: pure JAX, fixed shapes,
    jit/vmap-able over keys and particle sets.
    """

    kind: ClassVar[str] = "abstract"

    @abc.abstractmethod
    def draw_errors(self, key: PRNGKeyArray, true: Catalogue) -> StarErrors:
        """Per-star errors for the exact observables `true` (fields (N,))."""

    @property
    @abc.abstractmethod
    def quality_cuts(self) -> QualityCuts:
        """The survey's :class:`QualityCuts`."""

    @abc.abstractmethod
    def _settings(self) -> dict:
        """JSON-serialisable settings (everything static)."""

    def _arrays(self) -> dict[str, np.ndarray]:
        return {}

    def observe(
        self,
        key: PRNGKeyArray,
        particles: Float[Array, "n 6"],
        *,
        frame: F.GalactocentricFrame | None = None,
    ) -> ObservedStars:
        """Observe N particles (module docstring).

        **Arguments:** `key`; `particles` (N, 6) Galactocentric x, y, z [kpc], v_x, v_y,
        v_z [km/s] (a batch (B, N, 6) is vmapped with one key per simulation split from
        `key`); `frame`: the :class:`jaxgal.frames.GalactocentricFrame` (default astropy's).

        **Returns:** :class:`ObservedStars` with N stars (NaN = not observed) and the mask of
        those passing the quality cuts.
        """
        w = jnp.asarray(particles)
        if w.ndim == 3:
            keys = jax.random.split(key, w.shape[0])
            return jax.vmap(lambda k, p: self.observe(k, p, frame=frame))(keys, w)
        if w.ndim != 2 or w.shape[-1] != 6:
            raise ValueError(
                f"observe: particles must have shape (N, 6) (kpc, km/s) or (B, N, 6); got {w.shape}"
            )
        true = catalogue_from_particles(w, frame)
        k_err, k_obs = jax.random.split(key)
        errs = self.draw_errors(k_err, true)
        cat = _observed_catalogue(k_obs, true, errs)
        finite = jnp.all(jnp.isfinite(w), axis=-1)
        return ObservedStars(cat, self.quality_cuts.select(cat) & finite)

    # ------------------------------------------------------------------ persistence

    def metadata(self) -> dict:
        """The JSON header: format version, kind, settings, cuts."""
        return _canonical(
            {
                "format_version": _FORMAT_VERSION,
                "kind": self.kind,
                "settings": self._settings(),
                "cuts": self.quality_cuts.to_dict(),
            }
        )

    @property
    def identifier(self) -> str:
        """A stable identifier, ``"<kind>-<16 hex>"``: the SHA-256 of the canonical JSON
        header and of every array (little-endian float64 / int64 bytes, in name order).
        Equal models give equal identifiers across sessions and machines."""
        h = hashlib.sha256(json.dumps(self.metadata(), sort_keys=True).encode())
        for name, a in sorted(self._arrays().items()):
            a = np.asarray(a)
            a = a.astype("<i8") if a.dtype.kind in "biu" else a.astype("<f8")
            h.update(name.encode())
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a).tobytes())
        return f"{self.kind}-{h.hexdigest()[:16]}"

    def save(self, path) -> str:
        """Write the model to `path` (``.npz``: its arrays plus a JSON header; no pickle).
        Returns the path written. Load with :func:`load_observation_model`."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path = path + ".npz"
        meta = dict(self.metadata(), identifier=self.identifier)
        tmp = path[:-4] + f".tmp{os.getpid()}.npz"
        np.savez(tmp, __meta__=np.array(json.dumps(meta, sort_keys=True)), **self._arrays())
        os.replace(tmp, path)
        return path


class CatalogueErrorModel(AbstractObservationModel):
    """Errors drawn from an observed catalogue (module docstring). Build it with
    :meth:`from_catalogue`; the fields are its lookup tables.

    - `pool_distance` (R + 1, S): per sky region, the catalogue stars' observed heliocentric
      distances [kpc], sorted, padded with +inf; row R is the whole sky.
    - `pool_star` (R + 1, S): the star index of each entry; `pool_count` (R + 1,): stars
      per row; `region_used` (R,): whether region r has its own pool.
    - per catalogue star (S,): `frac_distance`, `v_los_err`, `pm_l_err`, `pm_b_err`,
      `pm_corr`, `has_v_los`, `has_pm_l`, `has_pm_b`.
    - static: `regions` (l_min, l_max, b_min, b_max) boxes [deg], `k_nearest`,
      `min_region_stars`, `cuts`, `source` (a free-text name of the catalogue).
    """

    kind: ClassVar[str] = "catalogue-errors"

    pool_distance: Float[Array, "r1 s"]
    pool_star: Int[Array, "r1 s"]
    pool_count: Int[Array, " r1"]
    region_used: Bool[Array, " r"]
    frac_distance: Float[Array, " s"]
    v_los_err: Float[Array, " s"]
    pm_l_err: Float[Array, " s"]
    pm_b_err: Float[Array, " s"]
    pm_corr: Float[Array, " s"]
    has_v_los: Bool[Array, " s"]
    has_pm_l: Bool[Array, " s"]
    has_pm_b: Bool[Array, " s"]
    regions: tuple[tuple[float, float, float, float], ...] = eqx.field(static=True)
    k_nearest: int = eqx.field(static=True)
    min_region_stars: int = eqx.field(static=True)
    cuts: QualityCuts = eqx.field(static=True)
    source: str = eqx.field(static=True)

    @property
    def quality_cuts(self) -> QualityCuts:
        return self.cuts

    @classmethod
    def from_catalogue(
        cls,
        catalogue: Catalogue,
        *,
        regions=None,
        k_nearest: int = 8,
        min_region_stars: int = 50,
        cuts: QualityCuts | None = None,
        source: str = "",
    ) -> "CatalogueErrorModel":
        """Build the model from an observed catalogue (done once, in numpy).

        **Arguments:**

        - `catalogue`: the observed :class:`Catalogue` (stars without a finite positive
          distance or distance error are left out of the pool).
        - `regions`: sky boxes (l_min, l_max, b_min, b_max) [deg], a star or particle taking
          the first that contains it (default the four quadrants of Brooks et al.).
        - `k_nearest`: each particle takes the errors of one of the `k_nearest` catalogue
          stars nearest in heliocentric distance within its region (8).
        - `min_region_stars`: a region with fewer catalogue stars uses the whole sky (50).
        - `cuts`: the survey's :class:`QualityCuts` (default: none).
        - `source`: a name recorded in the metadata.

        **Returns:** a :class:`CatalogueErrorModel`.
        """
        from ._summaries import PAPER_QUADRANTS

        if not isinstance(catalogue, Catalogue) or np.ndim(catalogue.l) != 1:
            raise TypeError("from_catalogue: expected one Catalogue with fields of shape (N,)")
        if k_nearest < 1:
            raise ValueError(f"from_catalogue: k_nearest must be >= 1; got {k_nearest}")
        regions = tuple(tuple(float(x) for x in q) for q in (regions or PAPER_QUADRANTS))
        for q in regions:
            if len(q) != 4:
                raise ValueError(f"from_catalogue: a region is (l_min, l_max, b_min, b_max); got {q}")
        cuts = QualityCuts() if cuts is None else cuts
        c = {k: np.asarray(getattr(catalogue, k), dtype=float) for k in catalogue.__dataclass_fields__}
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = (
                np.isfinite(c["distance"])
                & (c["distance"] > 0)
                & np.isfinite(c["distance_err"])
                & (c["distance_err"] >= 0)
                & np.isfinite(c["l"])
                & np.isfinite(c["b"])
            )
        if ok.sum() < k_nearest:
            raise ValueError(
                f"from_catalogue: only {int(ok.sum())} stars have a usable distance and "
                f"distance error; k_nearest={k_nearest} needs at least that many"
            )
        c = {k: v[ok] for k, v in c.items()}
        s = c["distance"].size
        has_v = np.isfinite(c["v_los"]) & np.isfinite(c["v_los_err"])
        has_l = np.isfinite(c["pm_l_cosb"]) & np.isfinite(c["pm_l_cosb_err"])
        has_b = np.isfinite(c["pm_b"]) & np.isfinite(c["pm_b_err"])
        region = _first_box(np.mod(c["l"], 360.0), c["b"], regions, np)
        rows_d, rows_i, counts, used = [], [], [], []
        for r in range(len(regions) + 1):
            members = np.flatnonzero(region == r) if r < len(regions) else np.arange(s)
            if r < len(regions):
                used.append(members.size >= min_region_stars)
            order = members[np.argsort(c["distance"][members], kind="stable")]
            dd = np.full(s, np.inf)
            ii = np.zeros(s, dtype=np.int64)
            dd[: order.size] = c["distance"][order]
            ii[: order.size] = order
            rows_d.append(dd)
            rows_i.append(ii)
            counts.append(order.size)
        z = lambda a: np.where(np.isfinite(a), a, 0.0)  # noqa: E731
        rho = np.where(has_l & has_b & np.isfinite(c["pm_corr"]), c["pm_corr"], 0.0)
        return cls(
            pool_distance=jnp.asarray(np.stack(rows_d)),
            pool_star=jnp.asarray(np.stack(rows_i), dtype=jnp.int32),
            pool_count=jnp.asarray(np.asarray(counts), dtype=jnp.int32),
            region_used=jnp.asarray(np.asarray(used, dtype=bool)),
            frac_distance=jnp.asarray(c["distance_err"] / c["distance"]),
            v_los_err=jnp.asarray(z(c["v_los_err"])),
            pm_l_err=jnp.asarray(z(c["pm_l_cosb_err"])),
            pm_b_err=jnp.asarray(z(c["pm_b_err"])),
            pm_corr=jnp.asarray(rho),
            has_v_los=jnp.asarray(has_v),
            has_pm_l=jnp.asarray(has_l),
            has_pm_b=jnp.asarray(has_b),
            regions=regions,
            k_nearest=int(k_nearest),
            min_region_stars=int(min_region_stars),
            cuts=cuts,
            source=str(source),
        )

    def draw_errors(self, key: PRNGKeyArray, true: Catalogue) -> StarErrors:
        n_reg = len(self.regions)
        reg = _first_box(jnp.mod(true.l, 360.0), true.b, self.regions, jnp)  # (N,) in [0, R]
        used = jnp.concatenate([self.region_used, jnp.asarray([True])])
        reg = jnp.where(used[reg], reg, n_reg)
        d = jnp.where(jnp.isfinite(true.distance), true.distance, 0.0)
        # position of each particle's distance in every row, then its own row's
        pos_all = jax.vmap(lambda row: jnp.searchsorted(row, d))(self.pool_distance)  # (R+1, N)
        pos = jnp.take_along_axis(pos_all, reg[None, :], axis=0)[0]
        n = self.pool_count[reg]
        kk = jnp.minimum(self.k_nearest, n)
        start = jnp.clip(pos - kk // 2, 0, n - kk)
        u = jax.random.uniform(key, d.shape, dtype=d.dtype)
        j = start + jnp.minimum(jnp.floor(u * kk).astype(jnp.int32), kk - 1)
        star = self.pool_star[reg, j]
        return StarErrors(
            self.frac_distance[star],
            self.v_los_err[star],
            self.pm_l_err[star],
            self.pm_b_err[star],
            self.pm_corr[star],
            self.has_v_los[star],
            self.has_pm_l[star],
            self.has_pm_b[star],
        )

    def _settings(self) -> dict:
        return {
            "regions": [list(q) for q in self.regions],
            "k_nearest": self.k_nearest,
            "min_region_stars": self.min_region_stars,
            "source": self.source,
        }

    def _arrays(self) -> dict[str, np.ndarray]:
        names = (
            "pool_distance", "pool_star", "pool_count", "region_used", "frac_distance",
            "v_los_err", "pm_l_err", "pm_b_err", "pm_corr", "has_v_los", "has_pm_l", "has_pm_b",
        )
        return {k: np.asarray(getattr(self, k)) for k in names}


def _first_box(l, b, boxes, xp):
    """Index of the first closed (l_min, l_max, b_min, b_max) box containing (l, b); len(boxes)
    if none."""
    out = xp.full(np.shape(l), len(boxes), dtype=np.int32)
    for i in reversed(range(len(boxes))):
        q = boxes[i]
        inside = (l >= q[0]) & (l <= q[1]) & (b >= q[2]) & (b <= q[3])
        out = xp.where(inside, i, out)
    return out


def observe(
    key: PRNGKeyArray,
    particles,
    model: AbstractObservationModel,
    *,
    frame: F.GalactocentricFrame | None = None,
) -> ObservedStars:
    """``model.observe(key, particles, frame=frame)``: particles (N, 6) or (B, N, 6)
    observed through an observation model (module docstring)."""
    if not isinstance(model, AbstractObservationModel):
        raise TypeError(f"observe: model must be an observation model; got {type(model)}")
    return model.observe(key, particles, frame=frame)


def observed_summaries(
    key: PRNGKeyArray,
    particles,
    model: AbstractObservationModel,
    config=None,
    *,
    frame: F.GalactocentricFrame | None = None,
):
    """The summaries of particles observed through `model`: the same 3σ-clipped statistics
    as the data (:func:`jaxgal.observables.summaries`), over the stars that pass the quality
    cuts, binned by their observed r_gal.

    **Arguments:** `key`; `particles` (N, 6) or a batch (B, N, 6) (one key per simulation,
    split from `key`); `model` an observation model; `config` a
    :class:`~jaxgal.observables.SummaryConfig`; `frame` the Galactocentric frame.

    **Returns:** :class:`~jaxgal.observables.Summaries` ((52,) or (B, 52) values). Pure JAX.
    """
    from ._summaries import summaries

    w = jnp.asarray(particles)
    if w.ndim == 3:
        keys = jax.random.split(key, w.shape[0])
        return jax.vmap(lambda k, p: observed_summaries(k, p, model, config, frame=frame))(keys, w)
    o = observe(key, w, model, frame=frame)
    return summaries(o.catalogue, config, frame=frame, weights=o.weights)
