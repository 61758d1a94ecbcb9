"""Stream data in the GD-1 frame: reading member catalogues and published tracks.

A stream data set is a :class:`StreamData`: for each star its φ1 [deg] and the five track
observables :data:`COMPONENTS` (φ2 [deg], distance [kpc], μ_φ1* = μ_φ1 cos φ2 and μ_φ2
[mas/yr], heliocentric radial velocity [km/s]) with their 1σ errors. A missing value (no
radial velocity for a star, say) is NaN, both in the value and in its error.
"""

from __future__ import annotations

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
    "load_gd1_track",
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


# ---------------------------------------------------------------------------------------
# the packaged GD-1-I21 track (galstreams, BSD-3)
# ---------------------------------------------------------------------------------------
def load_gd1_track() -> dict[str, np.ndarray]:
    """The GD-1-I21 6D track of galstreams 1.2.1 (Ibata et al. 2021 members, 7th-degree
    polynomial; every 10th of its 10,209 points, BSD-3, ``jaxgal/data/LICENSE.galstreams``)
    in the GD-1 frame.

    **Returns:** a dict of (1022,) arrays ``phi1, phi2`` [deg], ``distance`` [kpc],
    ``pm_phi1_cosphi2, pm_phi2`` [mas/yr], ``radial_velocity`` [km/s] (heliocentric,
    not reflex-corrected), sorted by φ1 ∈ [−92.1°, 10.2°].
    """
    from astropy.table import Table

    with resources.as_file(resources.files("jaxgal") / "data" / "gd1_ibata2021_track.ecsv") as p:
        t = Table.read(p)
    sky = frames.icrs_to_gd1(
        np.asarray(t["ra"], float), np.asarray(t["dec"], float),
        np.asarray(t["pm_ra_cosdec"], float), np.asarray(t["pm_dec"], float),
    )
    out = {
        "phi1": np.asarray(sky.phi1),
        "phi2": np.asarray(sky.phi2),
        "distance": np.asarray(t["distance"], float),
        "pm_phi1_cosphi2": np.asarray(sky.pm_phi1_cosphi2),
        "pm_phi2": np.asarray(sky.pm_phi2),
        "radial_velocity": np.asarray(t["radial_velocity"], float),
    }
    order = np.argsort(out["phi1"])
    return {k: v[order] for k, v in out.items()}


#: The per-star scatter used to turn the GD-1-I21 track into pseudo-members
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
) -> StreamData:
    """Pseudo-members scattered about the GD-1-I21 track, the stand-in for the paper's
    member catalogue (same numbers of stars: 910 with astrometry, 245 of them with RVs).

    φ1 is drawn uniformly in ``phi1_range``; each observable is the track value plus
    Gaussian noise of variance σ_int² + σ_obs² (:data:`GD1_TRACK_SCATTER` unless
    ``scatter`` overrides entries) and its error column is σ_obs (so the fit must estimate
    σ_int itself, as in the paper). RVs are kept for a random subset of ``n_rv`` stars.
    NumPy's ``default_rng(seed)``: same seed, same catalogue.
    """
    sc = dict(GD1_TRACK_SCATTER)
    if scatter:
        unknown = set(scatter) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"gd1_track_members: unknown scatter component(s) {sorted(unknown)}")
        sc.update(scatter)
    if not 0 < n_rv <= n_stars:
        raise ValueError(f"gd1_track_members: need 0 < n_rv <= n_stars; got n_rv={n_rv}, n_stars={n_stars}")
    tr = load_gd1_track()
    lo, hi = phi1_range
    if not (tr["phi1"][0] <= lo < hi <= tr["phi1"][-1]):
        raise ValueError(
            f"gd1_track_members: phi1_range {phi1_range} must lie inside the track's "
            f"[{tr['phi1'][0]:.2f}, {tr['phi1'][-1]:.2f}] deg"
        )
    rng = np.random.default_rng(seed)
    phi1 = np.sort(rng.uniform(lo, hi, n_stars))
    y = np.empty((n_stars, 5))
    e = np.empty((n_stars, 5))
    for j, c in enumerate(COMPONENTS):
        s_int, s_obs = sc[c]
        mean = np.interp(phi1, tr["phi1"], tr[c])
        y[:, j] = mean + np.hypot(s_int, s_obs) * rng.standard_normal(n_stars)
        e[:, j] = s_obs
    no_rv = rng.permutation(n_stars)[n_rv:]
    y[no_rv, 4] = np.nan
    e[no_rv, 4] = np.nan
    return StreamData(phi1, y, e)
