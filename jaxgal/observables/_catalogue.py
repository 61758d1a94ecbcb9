"""Observed star catalogues: the :class:`Catalogue` pytree, its validation and its I/O.

A catalogue is a set of N stars with heliocentric Galactic observables and their errors,

    l, b [deg], distance [kpc], v_los [km/s], pm_l_cosb, pm_b [mas/yr],
    distance_err [kpc], v_los_err [km/s], pm_l_cosb_err, pm_b_err [mas/yr],
    pm_corr (the correlation coefficient of μ_l cos b and μ_b, in [−1, 1]),

each an array of shape (N,) (or (B, N) for a batch of B catalogues, the layout
:func:`jaxgal.observables.fit_reflex` vmaps over). A missing velocity observable (a star
without a radial velocity, say) is NaN; every consumer (summaries, the reflex fit) treats a
non-finite value, or a non-finite error, as "not observed" and never propagates it.

Tables are read through ``astropy.table.Table.read`` (ECSV, FITS, CSV, ... whatever astropy
reads), with Galactic (l, b, pm_l_cosb, pm_b, v_los) or ICRS (ra, dec, pm_ra_cosdec, pm_dec,
radial_velocity) columns; ICRS proper motions and their covariance are rotated to Galactic.
Columns with units are converted; columns without units are taken in the units above.
"""

from __future__ import annotations

import os
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import frames as F
from .. import units as U

__all__ = [
    "Catalogue",
    "CATALOGUE_COLUMNS",
    "make_catalogue",
    "catalogue_from_table",
    "read_catalogue",
    "write_catalogue",
    "catalogue_to_table",
]

#: Column names of a catalogue, in order, and their units.
CATALOGUE_COLUMNS: dict[str, str] = {
    "l": "deg",
    "b": "deg",
    "distance": "kpc",
    "v_los": "km/s",
    "pm_l_cosb": "mas/yr",
    "pm_b": "mas/yr",
    "distance_err": "kpc",
    "v_los_err": "km/s",
    "pm_l_cosb_err": "mas/yr",
    "pm_b_err": "mas/yr",
    "pm_corr": "",
}

_ERR_COLUMNS = ("distance_err", "v_los_err", "pm_l_cosb_err", "pm_b_err")

# Accepted aliases (lower-case) for each canonical column.
_ALIASES: dict[str, tuple[str, ...]] = {
    "l": ("l", "glon", "gal_l"),
    "b": ("b", "glat", "gal_b"),
    "ra": ("ra",),
    "dec": ("dec",),
    "distance": ("distance", "dist", "d", "d_helio"),
    "v_los": ("v_los", "vlos", "radial_velocity", "rv", "vrad"),
    "pm_l_cosb": ("pm_l_cosb", "pml", "pm_l"),
    "pm_b": ("pm_b", "pmb"),
    "pm_ra_cosdec": ("pm_ra_cosdec", "pmra"),
    "pm_dec": ("pm_dec", "pmdec"),
    "distance_err": ("distance_err", "dist_err", "d_err", "e_distance"),
    "v_los_err": ("v_los_err", "vlos_err", "radial_velocity_err", "rv_err", "vrad_err"),
    "pm_l_cosb_err": ("pm_l_cosb_err", "pml_err", "pm_l_err"),
    "pm_b_err": ("pm_b_err", "pmb_err"),
    "pm_ra_cosdec_err": ("pm_ra_cosdec_err", "pmra_err", "pmra_error"),
    "pm_dec_err": ("pm_dec_err", "pmdec_err", "pmdec_error"),
    "pm_corr": ("pm_corr", "pml_pmb_corr", "pmra_pmdec_corr"),
}


class Catalogue(eqx.Module):
    """N observed (or mock) stars: heliocentric Galactic observables and their errors.

    Fields (each (N,) or (B, N) for a batch; units in the module docstring): `l`, `b`,
    `distance`, `v_los`, `pm_l_cosb`, `pm_b`, `distance_err`, `v_los_err`, `pm_l_cosb_err`,
    `pm_b_err`, `pm_corr`. NaN marks an unobserved quantity. Build one with
    :func:`make_catalogue` (validates), :func:`read_catalogue` (a file) or
    :func:`jaxgal.observables.mock_catalogue` (from particles).
    """

    l: Float[Array, "*batch n"]
    b: Float[Array, "*batch n"]
    distance: Float[Array, "*batch n"]
    v_los: Float[Array, "*batch n"]
    pm_l_cosb: Float[Array, "*batch n"]
    pm_b: Float[Array, "*batch n"]
    distance_err: Float[Array, "*batch n"]
    v_los_err: Float[Array, "*batch n"]
    pm_l_cosb_err: Float[Array, "*batch n"]
    pm_b_err: Float[Array, "*batch n"]
    pm_corr: Float[Array, "*batch n"]

    @property
    def n_stars(self) -> int:
        """Number of stars (the last axis)."""
        return self.l.shape[-1]

    def __len__(self) -> int:
        return self.n_stars

    def select(self, index) -> "Catalogue":
        """The catalogue restricted to ``index`` (a boolean mask or integer indices, applied
        to the star axis)."""
        return jax.tree_util.tree_map(lambda a: a[..., index], self)

    def to_table(self):
        """The catalogue as an ``astropy.table.QTable`` (see :func:`catalogue_to_table`)."""
        return catalogue_to_table(self)


def _as_float_array(x, name: str) -> Array:
    a = jnp.asarray(U.to_value(x, CATALOGUE_COLUMNS[name]) if CATALOGUE_COLUMNS[name] else x)
    if not jnp.issubdtype(a.dtype, jnp.inexact):
        a = a.astype(jnp.result_type(float))
    return a


def make_catalogue(
    l,
    b,
    distance,
    v_los,
    pm_l_cosb,
    pm_b,
    distance_err=0.0,
    v_los_err=0.0,
    pm_l_cosb_err=0.0,
    pm_b_err=0.0,
    pm_corr=0.0,
    *,
    validate: bool = True,
) -> Catalogue:
    """Build a :class:`Catalogue` from arrays (units of the module docstring, Quantities
    accepted), broadcast to a common shape. Longitudes are wrapped to [0°, 360°).

    With ``validate=True`` (the default; skipped for traced values) a bad value raises a
    ``ValueError`` naming the column: |b| > 90°, distance ≤ 0, a negative error, |pm_corr| > 1.
    NaN is allowed (it means "not observed") and is reported by :func:`read_catalogue`.
    """
    vals = dict(
        l=l,
        b=b,
        distance=distance,
        v_los=v_los,
        pm_l_cosb=pm_l_cosb,
        pm_b=pm_b,
        distance_err=distance_err,
        v_los_err=v_los_err,
        pm_l_cosb_err=pm_l_cosb_err,
        pm_b_err=pm_b_err,
        pm_corr=pm_corr,
    )
    arrs = {k: _as_float_array(v, k) for k, v in vals.items()}
    dtype = jnp.result_type(*arrs.values())
    try:
        shape = jnp.broadcast_shapes(*(a.shape for a in arrs.values()))
    except ValueError as err:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in arrs.items())
        raise ValueError(f"make_catalogue: columns do not broadcast together: {shapes}") from err
    if len(shape) == 0:
        shape = (1,)
    arrs = {k: jnp.broadcast_to(a.astype(dtype), shape) for k, a in arrs.items()}
    arrs["l"] = jnp.mod(arrs["l"], 360.0)
    if validate and not any(isinstance(a, jax.core.Tracer) for a in arrs.values()):
        _validate(arrs)
    return Catalogue(**arrs)


def _validate(arrs: dict) -> None:
    def bad(name, cond, what):
        a = np.asarray(arrs[name])
        with np.errstate(invalid="ignore"):
            m = cond(a) & np.isfinite(a)
        if np.any(m):
            i = int(np.flatnonzero(m.ravel())[0])
            raise ValueError(
                f"catalogue column {name!r}: {what}; {int(m.sum())} star(s), the first at "
                f"index {i} with value {a.ravel()[i]}"
            )

    bad("b", lambda a: np.abs(a) > 90.0, "|b| must be <= 90 deg")
    bad("distance", lambda a: a <= 0.0, "distance must be > 0 kpc")
    for name in _ERR_COLUMNS:
        bad(name, lambda a: a < 0.0, "errors must be >= 0")
    bad("pm_corr", lambda a: np.abs(a) > 1.0, "|pm_corr| must be <= 1")


def _find(colnames_lower: dict, canonical: str):
    for alias in _ALIASES[canonical]:
        if alias in colnames_lower:
            return colnames_lower[alias]
    return None


def _column(table, name: str | None, unit: str) -> np.ndarray:
    col = table[name]
    if np.asarray(col).dtype.kind not in "biuf":
        raise ValueError(
            f"catalogue column {name!r} must hold numbers (in {unit or 'its unit'}); "
            f"it holds {np.asarray(col).dtype} values such as {np.asarray(col).ravel()[:1]}"
        )
    if getattr(col, "unit", None) is not None and unit:
        import astropy.units as u

        q = u.Quantity(col)
        out = q.to_value(U._UNIT_NAMES.get(unit, unit))
    else:
        out = np.asarray(col)
    if np.ma.isMaskedArray(col) or hasattr(col, "mask"):
        mask = np.ma.getmaskarray(np.ma.asarray(col))
        out = np.where(mask, np.nan, np.asarray(out, dtype=float))
    return np.asarray(out, dtype=float)


def catalogue_from_table(table, *, require_errors: bool = True, drop_invalid: bool = True):
    """Validate an astropy ``Table`` and turn it into a :class:`Catalogue`.

    **Arguments:**

    - `table`: an ``astropy.table.Table``/``QTable`` with either Galactic columns
      (``l``, ``b``, ``v_los``, ``pm_l_cosb``, ``pm_b``, errors ``v_los_err``,
      ``pm_l_cosb_err``, ``pm_b_err``, ``pm_corr``) or ICRS ones (``ra``, ``dec``,
      ``radial_velocity``, ``pm_ra_cosdec``, ``pm_dec``, ``pm_ra_cosdec_err``,
      ``pm_dec_err``, ``pmra_pmdec_corr``), plus ``distance`` and ``distance_err``.
      Common aliases are accepted (``pmra``, ``rv``, ``dist``...; case-insensitive).
      ``pm_corr`` is optional (0 when absent).
    - `require_errors`: if False, missing error columns are taken as 0 (exact values).
    - `drop_invalid`: exclude rows that cannot be used (non-finite l, b or distance,
      distance ≤ 0, |b| > 90°, no finite velocity observable at all, negative errors,
      |pm_corr| > 1), with a ``UserWarning`` giving their count. If False, raise instead.

    **Returns:** a :class:`Catalogue`. Raises ``KeyError`` naming every missing column, and
    ``ValueError`` if no valid star remains.
    """
    lower = {c.lower(): c for c in table.colnames}
    have = {k: _find(lower, k) for k in _ALIASES}
    galactic = have["l"] is not None and have["b"] is not None
    icrs = have["ra"] is not None and have["dec"] is not None
    if galactic:
        need = ["l", "b", "distance", "v_los", "pm_l_cosb", "pm_b"]
        need_err = ["distance_err", "v_los_err", "pm_l_cosb_err", "pm_b_err"]
    else:
        need = ["ra", "dec", "distance", "v_los", "pm_ra_cosdec", "pm_dec"]
        need_err = ["distance_err", "v_los_err", "pm_ra_cosdec_err", "pm_dec_err"]
    missing = [k for k in need if have[k] is None]
    if require_errors:
        missing += [k for k in need_err if have[k] is None]
    if not (galactic or icrs):
        missing = ["l, b (or ra, dec)"] + [m for m in missing if m not in ("ra", "dec")]
    if missing:
        raise KeyError(
            f"catalogue is missing column(s): {', '.join(missing)} (have: {', '.join(table.colnames)})"
        )

    n = len(table)
    units = {
        "ra": "deg",
        "dec": "deg",
        "pm_ra_cosdec": "mas/yr",
        "pm_dec": "mas/yr",
        "pm_ra_cosdec_err": "mas/yr",
        "pm_dec_err": "mas/yr",
        **CATALOGUE_COLUMNS,
    }

    def get(k, default=None):
        if have[k] is None:
            return np.full(n, default, dtype=float)
        return _column(table, have[k], units[k])

    d, d_err = get("distance"), get("distance_err", 0.0)
    v_los, v_err = get("v_los"), get("v_los_err", 0.0)
    corr = get("pm_corr", 0.0)
    if galactic:
        l, b = get("l"), get("b")
        pml, pmb = get("pm_l_cosb"), get("pm_b")
        el, eb = get("pm_l_cosb_err", 0.0), get("pm_b_err", 0.0)
    else:
        ra, dec = get("ra"), get("dec")
        pma, pmd = get("pm_ra_cosdec"), get("pm_dec")
        ea, ed = get("pm_ra_cosdec_err", 0.0), get("pm_dec_err", 0.0)
        l, b, pml, pmb, el, eb, corr = _icrs_pm_to_galactic(ra, dec, pma, pmd, ea, ed, corr)

    cols = dict(
        l=l,
        b=b,
        distance=d,
        v_los=v_los,
        pm_l_cosb=pml,
        pm_b=pmb,
        distance_err=d_err,
        v_los_err=v_err,
        pm_l_cosb_err=el,
        pm_b_err=eb,
        pm_corr=corr,
    )
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(l) | ~np.isfinite(b) | ~np.isfinite(d) | (d <= 0) | (np.abs(b) > 90)
        no_vel = ~(np.isfinite(v_los) | (np.isfinite(pml) & np.isfinite(pmb)))
        bad_err = (d_err < 0) | (v_err < 0) | (el < 0) | (eb < 0) | (np.abs(corr) > 1)
    reasons = {
        "non-finite or unphysical l, b or distance": bad,
        "no finite velocity observable": no_vel & ~bad,
        "negative error or |pm_corr| > 1": bad_err & ~bad & ~no_vel,
    }
    drop = bad | no_vel | bad_err
    if np.any(drop):
        detail = "; ".join(f"{int(m.sum())} with {r}" for r, m in reasons.items() if m.any())
        msg = f"catalogue: {int(drop.sum())} of {n} rows are unusable ({detail})"
        if not drop_invalid:
            raise ValueError(msg)
        warnings.warn(msg + "; they are excluded", UserWarning, stacklevel=3)
    keep = ~drop
    if not np.any(keep):
        raise ValueError(f"catalogue: no usable star among {n} rows")
    # the pm_corr of a star without both errors is irrelevant; NaN there would poison nothing
    cols["pm_corr"] = np.where(np.isfinite(corr), corr, 0.0)
    return make_catalogue(**{k: v[keep] for k, v in cols.items()})


def _icrs_pm_to_galactic(ra, dec, pma, pmd, ea, ed, corr):
    """Rotate ICRS proper motions and their covariance to Galactic: (μ_l*, μ_b) = R (μ_α*, μ_δ),
    C_gal = R C_icrs Rᵀ, with R from the transforms of unit proper motions."""
    one, zero = np.ones_like(ra), np.zeros_like(ra)
    pos = np.where(np.isfinite(ra) & np.isfinite(dec), 1.0, np.nan)
    g1 = F.icrs_to_galactic(ra, dec, one, zero, one * pos, zero)
    g2 = F.icrs_to_galactic(ra, dec, one, zero, zero, one * pos)
    r11, r21 = np.asarray(g1.pm_l_cosb), np.asarray(g1.pm_b)
    r12, r22 = np.asarray(g2.pm_l_cosb), np.asarray(g2.pm_b)
    l, b = np.asarray(g1.l), np.asarray(g1.b)
    pml = r11 * pma + r12 * pmd
    pmb = r21 * pma + r22 * pmd
    caa, cdd, cad = ea**2, ed**2, corr * ea * ed
    cll = r11 * r11 * caa + 2 * r11 * r12 * cad + r12 * r12 * cdd
    cbb = r21 * r21 * caa + 2 * r21 * r22 * cad + r22 * r22 * cdd
    clb = r11 * r21 * caa + (r11 * r22 + r12 * r21) * cad + r12 * r22 * cdd
    el, eb = np.sqrt(cll), np.sqrt(cbb)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(el * eb > 0, clb / (el * eb), 0.0)
    return l, b, pml, pmb, el, eb, c


def read_catalogue(path, *, format: str | None = None, require_errors: bool = True, **kwargs):
    """Read an observed catalogue from any astropy-readable table file (ECSV, FITS, CSV, ...).

    **Arguments:**

    - `path`: the file; the format is guessed from the extension unless `format` is given
      (e.g. ``"ascii.csv"``, ``"fits"``, ``"ascii.ecsv"``).
    - `require_errors`, further keywords: as :func:`catalogue_from_table`.

    **Returns:** a validated :class:`Catalogue`. A missing column raises ``KeyError``
    naming it; unusable rows (NaN or unphysical) are excluded with a warning giving their
    count.
    """
    from astropy.table import QTable

    if not os.path.exists(path):
        raise FileNotFoundError(f"read_catalogue: no such file {path!r}")
    fmt = format
    if fmt is None and str(path).lower().endswith(".csv"):
        fmt = "ascii.csv"
    table = QTable.read(path, format=fmt) if fmt else QTable.read(path)
    return catalogue_from_table(table, require_errors=require_errors, **kwargs)


def catalogue_to_table(cat: Catalogue, meta: dict | None = None):
    """A :class:`Catalogue` (unbatched) as an ``astropy.table.QTable`` with units."""
    import astropy.units as u
    from astropy.table import QTable

    if cat.l.ndim != 1:
        raise ValueError(f"catalogue_to_table: expected one catalogue (N,); got shape {cat.l.shape}")
    t = QTable(meta=dict(meta or {}))
    for name, unit in CATALOGUE_COLUMNS.items():
        a = np.asarray(getattr(cat, name), dtype=float)
        t[name] = a * u.Unit(U._UNIT_NAMES.get(unit, unit)) if unit else a
    return t


def write_catalogue(cat: Catalogue, path, *, meta: dict | None = None, overwrite: bool = False):
    """Write a catalogue to a table file (ECSV recommended: units and ``meta`` kept); the
    format follows the extension. Written to a temporary name and renamed, so a file at
    `path` is always complete."""
    t = catalogue_to_table(cat, meta)
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"write_catalogue: {path!r} exists (pass overwrite=True)")
    root, ext = os.path.splitext(path)
    tmp = f"{root}.tmp{os.getpid()}{ext}"
    fmt = {".ecsv": "ascii.ecsv", ".csv": "ascii.csv", ".fits": "fits"}.get(ext.lower())
    t.write(tmp, format=fmt, overwrite=True) if fmt else t.write(tmp, overwrite=True)
    os.replace(tmp, path)


def catalogue_from_particles(particles, frame: F.GalactocentricFrame | None = None) -> Catalogue:
    """Exact (error-free) heliocentric observables of (N, 6) Galactocentric particles; all
    errors zero."""
    gal = F.galactocentric_to_galactic(jnp.asarray(particles), frame=frame)
    z = jnp.zeros_like(gal.l)
    return Catalogue(gal.l, gal.b, gal.distance, gal.v_los, gal.pm_l_cosb, gal.pm_b, z, z, z, z, z)
