"""Stream data in the GD-1 frame: reading member catalogues and published tracks.

A stream data set is a :class:`StreamData`: for each star its φ1 [deg] and the five track
observables :data:`COMPONENTS` (φ2 [deg], distance [kpc], μ_φ1* = μ_φ1 cos φ2 and μ_φ2
[mas/yr], heliocentric radial velocity [km/s]) with their 1σ errors. A missing value (no
radial velocity for a star, say) is NaN, both in the value and in its error.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from importlib import resources
from typing import NamedTuple

import numpy as np

from .. import frames

__all__ = [
    "COMPONENTS",
    "UNITS",
    "StreamData",
    "read_stream",
    "concatenate",
    "GD1_TRACKS",
    "load_gd1_track",
    "load_bonaca2020_members",
    "DistanceTrack",
    "gd1_distance_track",
    "gd1_track_members",
    "GD1_TRACK_SCATTER",
]

#: The five track observables, in the order of the last axis of :attr:`StreamData.y`.
COMPONENTS: tuple[str, ...] = ("phi2", "distance", "pm_phi1_cosphi2", "pm_phi2", "radial_velocity")
#: Their units.
UNITS: dict[str, str] = {
    "phi1": "deg",
    "phi2": "deg",
    "distance": "kpc",
    "pm_phi1_cosphi2": "mas/yr",
    "pm_phi2": "mas/yr",
    "radial_velocity": "km/s",
}

_ICRS_COLUMNS = ("ra", "dec", "pm_ra_cosdec", "pm_dec")


class StreamData(NamedTuple):
    """Stream members (or track points) in the GD-1 frame.

    **Fields:**

    - `phi1`: (N,) stream longitude [deg].
    - `y`: (N, 5) the observables of :data:`COMPONENTS` (NaN = missing).
    - `y_err`: (N, 5) their 1σ errors (NaN where the value is missing).
    """

    phi1: np.ndarray
    y: np.ndarray
    y_err: np.ndarray

    def column(self, name: str) -> np.ndarray:
        """The values of one observable (``"phi2"``, ``"distance"``, …) or ``"phi1"``."""
        if name == "phi1":
            return self.phi1
        return self.y[:, COMPONENTS.index(name)]

    def error(self, name: str) -> np.ndarray:
        """The 1σ errors of one observable."""
        return self.y_err[:, COMPONENTS.index(name)]

    def __len__(self) -> int:  # number of stars, not the number of fields
        return int(self.phi1.shape[0])

    def select(self, mask) -> "StreamData":
        """The stars where the boolean ``mask`` is true."""
        mask = np.asarray(mask, bool)
        return StreamData(self.phi1[mask], self.y[mask], self.y_err[mask])


def _unit_for(name: str) -> str:
    base = name.removesuffix("_err")
    if base in UNITS:
        return UNITS[base]
    return "deg" if base in ("ra", "dec") else "mas/yr"


def _as_columns(obj) -> dict[str, np.ndarray]:
    """Path / astropy Table / mapping → dict of float arrays in the documented units."""
    from astropy.table import Table

    from .. import units as U

    if isinstance(obj, (str, os.PathLike)):
        path = os.fspath(obj)
        if not os.path.exists(path):
            raise FileNotFoundError(f"read_stream: no such file {path!r}")
        fmt = "ascii.csv" if path.lower().endswith((".csv", ".csv.gz")) else None
        obj = Table.read(path, format=fmt) if fmt else Table.read(path)
    if isinstance(obj, Table):
        cols = {}
        for name in obj.colnames:
            col = obj[name]
            base = name.removesuffix("_err")
            if (base in UNITS or base in _ICRS_COLUMNS) and getattr(col, "unit", None) is not None:
                q = col.quantity if hasattr(col, "quantity") else col
                cols[name] = np.ma.filled(np.ma.asarray(U.to_value(q, _unit_for(name)), dtype=float), np.nan)
                continue
            try:
                cols[name] = np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)
            except (TypeError, ValueError):
                continue
        return cols
    if hasattr(obj, "keys"):
        return {k: np.asarray(U.to_value(v, _unit_for(k)), float) for k, v in obj.items()
                if k.removesuffix("_err") in UNITS or k.removesuffix("_err") in _ICRS_COLUMNS}
    raise TypeError(f"read_stream: expected a path, an astropy Table or a mapping of columns; got {type(obj)}")


def read_stream(path_or_table) -> StreamData:
    """Read a stream's 6D data into the GD-1 frame.

    **Arguments:**

    - `path_or_table`: a file astropy can read (FITS, ECSV, CSV, …), an
      ``astropy.table.Table`` or a mapping of arrays, with columns ``phi1``, ``phi2`` [deg],
      ``distance`` [kpc], ``pm_phi1_cosphi2``, ``pm_phi2`` [mas/yr], ``radial_velocity``
      [km/s], each with an ``_err`` column (``phi1_err`` is optional and ignored: φ1 is the
      independent variable). Instead of ``phi1, phi2, pm_phi1_cosphi2, pm_phi2`` an ICRS
      catalogue may give ``ra, dec, pm_ra_cosdec, pm_dec`` (with ``pm_ra_cosdec_err``,
      ``pm_dec_err``); it is rotated to GD-1 (Koposov et al. 2010), the proper-motion errors
      taken as the quadrature mean of the two (the rotation mixes them). Columns with units
      are converted; plain columns are taken in the units above. A missing value is NaN.

    **Returns:** a :class:`StreamData` sorted by φ1.

    **Raises:** ``ValueError`` naming a missing column, a non-finite φ1, a negative or
    missing error for a present value, or an empty table.
    """
    cols = _as_columns(path_or_table)
    if "phi1" not in cols and all(c in cols for c in _ICRS_COLUMNS):
        sky = frames.icrs_to_gd1(cols["ra"], cols["dec"], cols["pm_ra_cosdec"], cols["pm_dec"])
        cols["phi1"], cols["phi2"] = np.asarray(sky.phi1), np.asarray(sky.phi2)
        cols["pm_phi1_cosphi2"], cols["pm_phi2"] = np.asarray(sky.pm_phi1_cosphi2), np.asarray(sky.pm_phi2)
        cols.setdefault("phi2_err", np.zeros_like(cols["phi1"]))
        if "pm_ra_cosdec_err" in cols and "pm_dec_err" in cols:
            e = np.sqrt(0.5 * (cols["pm_ra_cosdec_err"] ** 2 + cols["pm_dec_err"] ** 2))
            cols.setdefault("pm_phi1_cosphi2_err", e)
            cols.setdefault("pm_phi2_err", e)
    needed = ("phi1",) + COMPONENTS + tuple(c + "_err" for c in COMPONENTS)
    missing = [c for c in needed if c not in cols]
    if missing:
        raise ValueError(
            f"read_stream: missing column(s) {missing}; need phi1, "
            + ", ".join(COMPONENTS)
            + " and an _err column for each (NaN marks a missing value)"
        )
    phi1 = np.asarray(cols["phi1"], float)
    if phi1.ndim != 1 or phi1.size == 0:
        raise ValueError(f"read_stream: phi1 must be a non-empty 1-d column; got shape {phi1.shape}")
    if not np.all(np.isfinite(phi1)):
        raise ValueError(f"read_stream: phi1 has {np.sum(~np.isfinite(phi1))} non-finite value(s)")
    y = np.stack([np.asarray(cols[c], float) for c in COMPONENTS], axis=-1)
    e = np.stack([np.asarray(cols[c + "_err"], float) for c in COMPONENTS], axis=-1)
    present = np.isfinite(y)
    for j, c in enumerate(COMPONENTS):
        bad = present[:, j] & ~(np.isfinite(e[:, j]) & (e[:, j] >= 0))
        if bad.any():
            raise ValueError(
                f"read_stream: {c}_err must be finite and >= 0 where {c} is given; "
                f"{bad.sum()} star(s) fail (first at row {np.flatnonzero(bad)[0]})"
            )
    e = np.where(present, e, np.nan)
    order = np.argsort(phi1, kind="stable")
    return StreamData(phi1[order], y[order], e[order])


def concatenate(*datasets: StreamData) -> StreamData:
    """Stack several :class:`StreamData` (e.g. pseudo-members and real members) into one,
    sorted by φ1."""
    if not datasets:
        raise ValueError("concatenate: give at least one StreamData")
    phi1 = np.concatenate([d.phi1 for d in datasets])
    y = np.concatenate([d.y for d in datasets])
    e = np.concatenate([d.y_err for d in datasets])
    order = np.argsort(phi1, kind="stable")
    return StreamData(phi1[order], y[order], e[order])


# ---------------------------------------------------------------------------------------
# GD-1 tracks from galstreams (BSD-3) and the Bonaca et al. (2020) members (MIT)
# ---------------------------------------------------------------------------------------
#: The GD-1 tracks of the galstreams library used here: name → (file in ``galstreams/tracks/``,
#: reference). I21: a 7th-degree polynomial fit to the Ibata et al. (2021) STREAMFINDER
#: members (6D, with a distance track); I24: Ibata et al. (2024), whose radial velocities
#: follow the spectroscopic members but whose distance column is a placeholder (1 kpc).
GD1_TRACKS: dict[str, tuple[str, str]] = {
    "i21": ("track.st.GD-1.ibata2021.ecsv", "Ibata et al. (2021), ApJ 914, 123"),
    "i24": ("track.st.GD-1.ibata2024.ecsv", "Ibata et al. (2024), ApJ 967, 89"),
}

_GALSTREAMS_HINT = (
    "the GD-1 tracks are read from the galstreams package (BSD-3, C. Mateu): "
    "pip install 'jaxgal[streams]' (or pip install galstreams)"
)


def _galstreams_track_file(name: str):
    if name not in GD1_TRACKS:
        raise ValueError(f"GD-1 track must be one of {sorted(GD1_TRACKS)}; got {name!r}")
    try:
        import galstreams  # noqa: F401
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(_GALSTREAMS_HINT) from err
    path = resources.files("galstreams") / "tracks" / GD1_TRACKS[name][0]
    if not path.is_file():
        raise FileNotFoundError(f"galstreams has no {GD1_TRACKS[name][0]} (galstreams >= 1.2 ships it); "
                                + _GALSTREAMS_HINT)
    return path


def load_gd1_track(name: str = "i21") -> dict[str, np.ndarray]:
    """A published GD-1 6D track from the galstreams library, in the GD-1 frame.

    **Arguments:**

    - `name`: ``"i21"`` (GD-1-I21: Ibata et al. 2021, 10,209 points of a 7th-degree
      polynomial, φ1 ∈ [−92.1°, 10.2°]) or ``"i24"`` (GD-1-I24: Ibata et al. 2024, 11,864
      points, φ1 ∈ [−102.5°, 16.6°]; its distance column is a 1 kpc placeholder and is
      returned as NaN).

    **Returns:** a dict of arrays sorted by φ1: ``phi1, phi2`` [deg], ``distance`` [kpc],
    ``pm_phi1_cosphi2, pm_phi2`` [mas/yr] (heliocentric), ``radial_velocity`` [km/s]
    (heliocentric, not reflex-corrected).

    **Raises:** ``ModuleNotFoundError`` when galstreams is not installed (it is the optional
    extra ``jaxgal[streams]``).
    """
    return {k: v.copy() for k, v in _load_gd1_track(name).items()}


@functools.lru_cache(maxsize=4)
def _load_gd1_track(name: str) -> dict[str, np.ndarray]:
    from astropy.table import Table

    with resources.as_file(_galstreams_track_file(name)) as p:
        t = Table.read(p)
    sky = frames.icrs_to_gd1(
        np.asarray(t["ra"], float), np.asarray(t["dec"], float),
        np.asarray(t["pm_ra_cosdec"], float), np.asarray(t["pm_dec"], float),
    )
    dist = np.asarray(t["distance"], float)
    if name == "i24":
        dist = np.full_like(dist, np.nan)  # placeholder column, not a measurement
    out = {
        "phi1": np.asarray(sky.phi1),
        "phi2": np.asarray(sky.phi2),
        "distance": dist,
        "pm_phi1_cosphi2": np.asarray(sky.pm_phi1_cosphi2),
        "pm_phi2": np.asarray(sky.pm_phi2),
        "radial_velocity": np.asarray(t["radial_velocity"], float),
    }
    order = np.argsort(out["phi1"])
    return {k: v[order] for k, v in out.items()}


def load_bonaca2020_members() -> StreamData:
    """The 43 GD-1 members (``mem == 1``, φ1 ∈ [−46°, −29°]) of the MMT/Hectochelle catalogue
    of Bonaca et al. (2020, ApJL 892, L37): Gaia DR2 positions and proper motions, radial
    velocities with their errors, no distances (NaN). Package data
    (``jaxgal/data/gd1_bonaca2020_members.csv``, MIT licence, ``LICENSE.spur_rv``; provenance
    in ``jaxgal/data/README.md``)."""
    with resources.as_file(resources.files("jaxgal") / "data" / "gd1_bonaca2020_members.csv") as p:
        return read_stream(p)


def spline_basis(knots, x, derivative: int = 0) -> np.ndarray:
    """B (len(x), K) with spline(x) = B @ values for the C² not-a-knot cubic spline through
    ``knots`` (interpax ``cubic2``, the track splines of ``docs/streams.md``); ``derivative`` = 1, 2 gives the
    derivatives' basis. Points outside the knots are extrapolated with the end polynomials."""
    from scipy.interpolate import CubicSpline

    knots = np.asarray(knots, float)
    cs = CubicSpline(knots, np.eye(knots.shape[0]), bc_type="not-a-knot", extrapolate=True)
    return np.asarray(cs(np.asarray(x, float), int(derivative)))


# ---------------------------------------------------------------------------------------
# distance tracks
# ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DistanceTrack:
    r"""A stream's heliocentric distance as a function of φ1, given as data (not fitted).

    The track is the cubic spline (not-a-knot, as the track splines) through the nodes (φ1_k, d_k); the distance of a
    star (or of the track) at φ1 is d = s D(φ1) + δ with a shared systematic scale s and
    offset δ that the track fit samples as nuisance parameters with Gaussian priors
    s ~ N(1, `scale_sigma`²), δ ~ N(0, `offset_sigma`²) (σ = 0 fixes them). This is how the
    GD-1 paper uses a literature distance track and carries its systematic error.

    **Fields:**

    - `phi1`: (K,) strictly increasing node longitudes [deg].
    - `distance`: (K,) distances at the nodes [kpc], > 0.
    - `scale_sigma`: prior σ of the shared scale s (dimensionless; 0.05 = 5 %).
    - `offset_sigma`: prior σ of the shared offset δ [kpc].
    - `name`: a label for reports.
    """

    phi1: np.ndarray
    distance: np.ndarray
    scale_sigma: float = 0.05
    offset_sigma: float = 0.0
    name: str = ""

    def __post_init__(self):
        p = np.asarray(self.phi1, float)
        d = np.asarray(self.distance, float)
        if p.ndim != 1 or p.shape != d.shape or p.size < 3:
            raise ValueError(f"DistanceTrack: phi1 and distance must be 1-d of equal length >= 3; "
                             f"got {p.shape} and {d.shape}")
        if not (np.all(np.isfinite(p)) and np.all(np.diff(p) > 0)):
            raise ValueError("DistanceTrack: phi1 must be finite and strictly increasing")
        if not (np.all(np.isfinite(d)) and np.all(d > 0)):
            raise ValueError("DistanceTrack: distance must be finite and > 0 kpc at every node")
        for name in ("scale_sigma", "offset_sigma"):
            v = float(getattr(self, name))
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"DistanceTrack: {name} must be finite and >= 0; got {v}")
        if float(self.scale_sigma) >= 0.5:
            raise ValueError(f"DistanceTrack: scale_sigma must be < 0.5 (a fractional error); got {self.scale_sigma}")
        object.__setattr__(self, "phi1", p)
        object.__setattr__(self, "distance", d)

    @property
    def phi1_range(self) -> tuple[float, float]:
        return float(self.phi1[0]), float(self.phi1[-1])

    def basis(self, phi1, derivative: int = 0) -> np.ndarray:
        """(len(phi1), K) matrix B with D^(derivative)(φ1) = B @ distance (no extrapolation:
        every φ1 must lie inside the nodes)."""
        phi1 = np.atleast_1d(np.asarray(phi1, float))
        lo, hi = self.phi1_range
        if np.any(phi1 < lo - 1e-9) or np.any(phi1 > hi + 1e-9):
            raise ValueError(f"DistanceTrack{' ' + self.name if self.name else ''} covers phi1 in "
                             f"[{lo:.2f}, {hi:.2f}] deg; asked for [{phi1.min():.2f}, {phi1.max():.2f}]")
        return spline_basis(self.phi1, phi1, derivative)

    def __call__(self, phi1, derivative: int = 0) -> np.ndarray:
        """D(φ1) [kpc] (or its ``derivative``-th φ1 derivative, per degree) at the nominal
        s = 1, δ = 0."""
        return self.basis(phi1, derivative) @ self.distance

    @classmethod
    def from_table(cls, path_or_table, **kwargs) -> "DistanceTrack":
        """From a table (file astropy reads, Table or mapping) with columns ``phi1`` [deg] and
        ``distance`` [kpc] (sorted here; duplicates are an error). ``kwargs``: the other fields."""
        cols = _as_columns(path_or_table)
        for c in ("phi1", "distance"):
            if c not in cols:
                raise ValueError(f"DistanceTrack.from_table: missing column {c!r}")
        o = np.argsort(cols["phi1"])
        return cls(cols["phi1"][o], cols["distance"][o], **kwargs)


def gd1_distance_track(source: str = "i21", *, node_spacing: float = 2.0, scale_sigma: float = 0.05,
                       offset_sigma: float = 0.0) -> DistanceTrack:
    """GD-1's distance track from a galstreams track, as a :class:`DistanceTrack`.

    Only GD-1-I21 carries a distance track in galstreams (I24's is a placeholder); the
    paper's subgiant-branch track (Valluri et al. 2025) is not available offline, so this is
    the I21 polynomial sampled every ``node_spacing`` degrees (interpolation error of the
    spline through these nodes < 1e-4 kpc). The systematic scale/offset priors are
    ``scale_sigma`` (default 5 %) and ``offset_sigma`` [kpc].
    """
    if source != "i21":
        raise ValueError(f"gd1_distance_track: only 'i21' has a distance track in galstreams; got {source!r}")
    if not node_spacing > 0:
        raise ValueError(f"gd1_distance_track: node_spacing must be > 0 deg; got {node_spacing}")
    tr = load_gd1_track("i21")
    lo, hi = tr["phi1"][0], tr["phi1"][-1]
    nodes = np.linspace(lo, hi, int(np.ceil((hi - lo) / node_spacing)) + 1)
    return DistanceTrack(nodes, np.interp(nodes, tr["phi1"], tr["distance"]), scale_sigma=scale_sigma,
                         offset_sigma=offset_sigma, name="GD-1-I21")


#: The per-star scatter used to turn a GD-1 track into pseudo-members
#: (:func:`gd1_track_members`): (intrinsic σ, observational σ) of each observable.
#: Intrinsic: GD-1's Gaussian width ≈ 0.2° (Price-Whelan & Bonaca 2018), 0.1 kpc in distance,
#: 0.1 mas/yr and 3 km/s velocity dispersion; observational: positions exact, distances from a
#: distance track with 0.3 kpc per star (the spread of literature tracks), Gaia DR3 proper
#: motions at G ≈ 19 (0.3 mas/yr), spectroscopic RVs 2 km/s.
GD1_TRACK_SCATTER: dict[str, tuple[float, float]] = {
    "phi2": (0.2, 0.0),
    "distance": (0.1, 0.3),
    "pm_phi1_cosphi2": (0.1, 0.3),
    "pm_phi2": (0.1, 0.3),
    "radial_velocity": (3.0, 2.0),
}


def gd1_track_members(
    seed: int = 0,
    n_stars: int = 910,
    n_rv: int = 245,
    phi1_range: tuple[float, float] = (-90.0, 10.0),
    scatter: dict[str, tuple[float, float]] | None = None,
    *,
    rv_phi1_range: tuple[float, float] | None = None,
    rv_track: str = "i21",
) -> StreamData:
    """Pseudo-members scattered about the GD-1 tracks, the stand-in for the paper's member
    catalogue (same numbers of stars: 910 with astrometry, 245 of them with RVs).

    φ1 is drawn uniformly in ``phi1_range``; each observable is the track value plus
    Gaussian noise of variance σ_int² + σ_obs² (:data:`GD1_TRACK_SCATTER` unless ``scatter``
    overrides entries) and its error column is σ_obs (so the fit must estimate σ_int itself,
    as in the paper). φ2, distance and proper motions follow GD-1-I21; radial velocities
    follow ``rv_track`` (``"i21"`` or ``"i24"``) and are kept for ``n_rv`` random stars with
    φ1 inside ``rv_phi1_range`` (default ``phi1_range``). NumPy's ``default_rng(seed)``: same
    arguments, same catalogue.
    """
    sc = dict(GD1_TRACK_SCATTER)
    if scatter:
        unknown = set(scatter) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"gd1_track_members: unknown scatter component(s) {sorted(unknown)}")
        sc.update(scatter)
    if not 0 < n_rv <= n_stars:
        raise ValueError(f"gd1_track_members: need 0 < n_rv <= n_stars; got n_rv={n_rv}, n_stars={n_stars}")
    tr = load_gd1_track("i21")
    tr_rv = tr if rv_track == "i21" else load_gd1_track(rv_track)
    lo, hi = phi1_range
    if not (tr["phi1"][0] <= lo < hi <= tr["phi1"][-1]):
        raise ValueError(
            f"gd1_track_members: phi1_range {phi1_range} must lie inside the track's "
            f"[{tr['phi1'][0]:.2f}, {tr['phi1'][-1]:.2f}] deg"
        )
    rlo, rhi = phi1_range if rv_phi1_range is None else rv_phi1_range
    if not (lo <= rlo < rhi <= hi):
        raise ValueError(f"gd1_track_members: rv_phi1_range {(rlo, rhi)} must be increasing and inside "
                         f"phi1_range {phi1_range}")
    rng = np.random.default_rng(seed)
    phi1 = np.sort(rng.uniform(lo, hi, n_stars))
    y = np.empty((n_stars, 5))
    e = np.empty((n_stars, 5))
    for j, c in enumerate(COMPONENTS):
        s_int, s_obs = sc[c]
        src = tr_rv if c == "radial_velocity" else tr
        mean = np.interp(phi1, src["phi1"], src[c])
        y[:, j] = mean + np.hypot(s_int, s_obs) * rng.standard_normal(n_stars)
        e[:, j] = s_obs
    in_rv = np.flatnonzero((phi1 >= rlo) & (phi1 <= rhi))
    if in_rv.size < n_rv:
        raise ValueError(f"gd1_track_members: only {in_rv.size} stars fall in rv_phi1_range {(rlo, rhi)}; "
                         f"need n_rv = {n_rv}")
    keep = rng.permutation(in_rv)[:n_rv]
    no_rv = np.setdiff1d(np.arange(n_stars), keep)
    y[no_rv, 4] = np.nan
    e[no_rv, 4] = np.nan
    return StreamData(phi1, y, e)
