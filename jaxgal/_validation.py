"""Checks at the public boundary: one place that turns careless input into a named error.

Every public function of jaxgal validates what it receives here before anything is traced:
numbers are finite and inside a stated range (with their unit), counts are positive
integers, arrays have the documented shape, and step counts stay within a budget that
finishes in minutes rather than hours. Errors name the argument, the accepted range and
the value received. Values that are being traced (inside the caller's ``jax.jit`` or
``jax.vmap``) cannot be inspected and are passed through: the same checks then happen
where the values are concrete, or inside jit with ``equinox.error_if`` where a silent NaN
would otherwise result.

The helpers are deliberately generic (no jaxgal object is imported here) so that every
package — potentials, integrators, satellites, frames, simulation, and the observables,
streams and inference layers — can use the same wording.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import jax
import numpy as np

from . import units as U

__all__ = [
    "MAX_STEPS",
    "is_concrete",
    "concrete_array",
    "as_float_array",
    "check_finite_scalar",
    "check_int",
    "check_power_of_two",
    "check_range",
    "check_positive",
    "check_shape",
    "check_phase_space",
    "check_step_budget",
    "warn_clipped",
]

#: Largest number of steps per orbit an integration may take (10⁷: a 10 Gyr orbit at a
#: 1 kyr step). More almost always means a time in years instead of Myr.
MAX_STEPS = 10_000_000


def is_concrete(value: Any) -> bool:
    """True unless ``value`` (or a leaf of it) is a JAX tracer."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(value))


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def concrete_array(value: Any, name: str) -> np.ndarray | None:
    """``value`` as a float NumPy array, or ``None`` if it is traced. Raises ``TypeError``
    naming ``name`` for text, ``None`` and other non-numeric input."""
    if not is_concrete(value):
        return None
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(value)}")
    try:
        arr = np.asarray(value)
    except Exception as err:  # ragged lists and the like
        raise TypeError(f"{name} must be a number or an array of numbers; got {_describe(value)}") from err
    if arr.dtype.kind in "USV":
        raise TypeError(f"{name} must be numeric, not text; got {_describe(value)}")
    if arr.dtype == object:
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be numeric; got {_describe(value)}") from err
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} must be numeric, not boolean; got {_describe(value)}")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be real-valued; got dtype {arr.dtype}")
    return arr.astype(float)


def as_float_array(value: Any, name: str, unit: str | None = None):
    """Strip a Quantity to ``unit`` and return a float JAX array (tracers pass through);
    non-numeric input raises ``TypeError`` naming ``name``."""
    import jax.numpy as jnp

    if unit is not None:
        value = _to_unit(value, unit, name)
    if not is_concrete(value):
        return value
    concrete_array(value, name)
    arr = jnp.asarray(value)
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    return arr


def _to_unit(value: Any, unit: str, name: str):
    try:
        return U.to_value(value, unit)
    except Exception as err:  # astropy UnitConversionError and friends
        raise ValueError(f"{name} must be in {unit} (or convertible to it); got {_describe(value)}") from err


def _range_text(lo, hi, closed, unit) -> str:
    lb = "[" if closed[0] else "("
    rb = "]" if closed[1] else ")"
    u = f" {unit}" if unit else ""
    return f"{lb}{lo:g}, {hi:g}{rb}{u}"


def check_range(
    value: Any,
    name: str,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    unit: str | None = None,
    closed: tuple[bool, bool] = (True, True),
    allow_nan: bool = False,
) -> Any:
    """Raise ``ValueError`` unless every element of a concrete ``value`` is finite and in
    [lo, hi] (open ends per ``closed``; NaN passes with ``allow_nan``, e.g. a missing
    measurement); returns ``value`` unchanged. ``unit`` only labels the message (convert
    first)."""
    arr = concrete_array(value, name)
    if arr is None:
        return value
    nan = np.isnan(arr) if allow_nan else np.zeros(arr.shape, bool)
    arr = np.where(nan, 0.5 * (max(lo, -1e300) + min(hi, 1e300)), arr)
    ok = np.isfinite(arr)
    ok &= (arr >= lo) if closed[0] else (arr > lo)
    ok &= (arr <= hi) if closed[1] else (arr < hi)
    if not np.all(ok):
        bad = arr[~ok] if arr.ndim else arr
        shown = np.asarray(bad).ravel()[:3].tolist()
        raise ValueError(
            f"{name} must be finite and in {_range_text(lo, hi, closed, unit)}; got {shown[0] if arr.ndim == 0 else shown}"
        )
    return value


def check_positive(value: Any, name: str, *, unit: str | None = None) -> Any:
    """``check_range`` for a strictly positive quantity."""
    return check_range(value, name, 0.0, math.inf, unit=unit, closed=(False, True))


def check_finite_scalar(
    value: Any,
    name: str,
    *,
    unit: str | None = None,
    lo: float = -math.inf,
    hi: float = math.inf,
    closed: tuple[bool, bool] = (True, True),
) -> float:
    """A concrete real number (a Quantity is converted to ``unit``) in [lo, hi] → float.

    Refuses tracers (the value fixes a static quantity such as a number of steps), arrays
    of any other shape, text and NaN, naming ``name``."""
    if unit is not None:
        value = _to_unit(value, unit, name)
    if not is_concrete(value):
        raise ValueError(
            f"{name} must be a concrete number (it fixes a static quantity such as a number of "
            "steps under jit); close over it instead of passing it as a traced argument"
        )
    arr = concrete_array(value, name)
    if arr.shape != ():
        raise ValueError(f"{name} must be a scalar{' in ' + unit if unit else ''}; got shape {arr.shape}")
    check_range(arr, name, lo, hi, unit=unit, closed=closed)
    return float(arr)


def check_int(value: Any, name: str, lo: int = 1, hi: int | None = None) -> int:
    """An integer count in [lo, hi] (Python or NumPy integer, or a float with an integral
    value); bools, text and fractional values raise, naming ``name``."""
    if isinstance(value, bool) or isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an integer ≥ {lo}; got {_describe(value)}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:
        try:
            f = float(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be an integer ≥ {lo}; got {_describe(value)}") from err
        if not math.isfinite(f) or f != int(f):
            raise ValueError(f"{name} must be an integer ≥ {lo}; got {value!r}")
        v = int(f)
    if v < lo or (hi is not None and v > hi):
        limit = f"≥ {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an integer {limit}; got {v}")
    return v


def check_power_of_two(value: Any, name: str, lo: int = 2, hi: int = 2**20) -> int:
    """A Python or NumPy integer (not a bool) that is a power of two in [lo, hi]; anything
    else raises ``ValueError`` naming ``name``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or not lo <= int(value) <= hi or int(value) & (int(value) - 1):
        raise ValueError(f"{name} must be a power of two from {lo} to {hi}; got {value!r}")
    return int(value)


def check_float_dtype(value: Any, name: str, *, or_none: bool = False):
    """A floating-point dtype (``jnp.float32``, ``"float32"``, ``np.dtype``…) as a NumPy
    dtype; anything else raises ``ValueError`` naming ``name``. With ``or_none`` None is
    accepted and returned."""
    import jax.numpy as jnp

    if or_none and value is None:
        return None
    what = "a float dtype or None" if or_none else "a float dtype"
    try:
        dtype = jnp.dtype(value)
    except TypeError as err:
        raise ValueError(f"{name} must be {what}; got {value!r}") from err
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{name} must be {what}; got {value!r}")
    return dtype


def check_shape(shape: tuple[int, ...], name: str, expected: str, ok: bool) -> None:
    """Raise ``ValueError`` ``"{name} must have shape {expected}; got {shape}"`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name} must have shape {expected}; got shape {tuple(shape)}")


def check_phase_space(w: Any, name: str = "w", *, batch: str = "...") -> Any:
    """A phase-space array (..., 6): x, y, z [kpc], v_x, v_y, v_z [km/s] → a float JAX
    array. A single Quantity (it cannot carry kpc and km/s at once) raises ``ValueError``."""
    if hasattr(w, "unit") and hasattr(w, "to_value"):
        raise ValueError(
            f"{name} mixes kpc and km/s, so it cannot be a single astropy Quantity; pass a plain "
            "array of shape (..., 6): x, y, z [kpc], v_x, v_y, v_z [km/s]"
        )
    arr = as_float_array(w, name)
    shape = np_shape(arr)
    check_shape(shape, name, f"({batch}, 6) (x, y, z [kpc], v_x, v_y, v_z [km/s])", len(shape) >= 1 and shape[-1] == 6)
    return arr


def np_shape(value: Any) -> tuple[int, ...]:
    """The shape of an array, tracer or nested list."""
    return tuple(getattr(value, "shape", np.shape(value)))


def check_step_budget(n_steps: int, n_orbits: int = 1, *, what: str = "the integration") -> None:
    """Refuse more than :data:`MAX_STEPS` steps per orbit (usually a time in years or a step
    in Gyr), naming the count and the limit."""
    if n_steps > MAX_STEPS:
        raise ValueError(
            f"{what} needs {n_steps:.3g} steps per orbit, more than the limit of {MAX_STEPS:.0e} "
            "(jaxgal._validation.MAX_STEPS): times are in Myr (2.2 Gyr = 2200 Myr) and steps in "
            "Myr; use a longer step or a shorter interval"
        )


def warn_clipped(message: str) -> None:
    """Emit a ``UserWarning`` for a value a preset had to clip (the caller documents it)."""
    warnings.warn(message, UserWarning, stacklevel=3)
