"""Checks of potential parameters at construction (skipped when the values are traced)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["as_param", "check_positive", "check_range"]


def as_param(value, unit: str | None = None):
    """A parameter leaf: strip a Quantity to ``unit`` and make it an inexact JAX array."""
    if unit is not None:
        from .. import units as U

        value = U.to_value(value, unit)
    if isinstance(value, jax.core.Tracer):
        return value
    arr = jnp.asarray(value)
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(float)
    return arr


def _concrete(value):
    if isinstance(value, jax.core.Tracer):
        return None
    try:
        return np.asarray(value)
    except Exception:  # pragma: no cover - exotic array types
        return None


def check_positive(cls_name: str, **values) -> None:
    """Raise ``ValueError`` naming the parameter if a concrete value is not finite and > 0."""
    for name, value in values.items():
        v = _concrete(value)
        if v is not None and not (np.all(np.isfinite(v)) and np.all(v > 0)):
            raise ValueError(f"{cls_name}: {name} must be finite and > 0; got {v}")


def check_range(cls_name: str, name: str, value, lo: float, hi: float, *, closed=(True, True)):
    """Raise ``ValueError`` if a concrete ``value`` lies outside [lo, hi] (or the open ends)."""
    v = _concrete(value)
    if v is None:
        return
    ok_lo = np.all(v >= lo) if closed[0] else np.all(v > lo)
    ok_hi = np.all(v <= hi) if closed[1] else np.all(v < hi)
    if not (np.all(np.isfinite(v)) and ok_lo and ok_hi):
        lb = "[" if closed[0] else "("
        rb = "]" if closed[1] else ")"
        raise ValueError(f"{cls_name}: {name} must lie in {lb}{lo}, {hi}{rb}; got {v}")
