"""Parameter checks of the potential classes, in the wording of ``jaxgal._validation``
(skipped for traced values)."""

from __future__ import annotations

from .. import _validation as V

__all__ = ["as_param", "check_positive", "check_range"]


def as_param(value, unit: str | None = None, name: str = "parameter"):
    """A parameter leaf: strip a Quantity to ``unit`` and make it an inexact JAX array
    (text raises ``TypeError``)."""
    return V.as_float_array(value, name, unit)


def check_positive(cls_name: str, **values) -> None:
    """Raise ``ValueError`` naming ``cls_name: name`` unless each concrete value is finite and > 0."""
    for name, value in values.items():
        V.check_positive(value, f"{cls_name}: {name}")


def check_range(cls_name: str, name: str, value, lo: float, hi: float, *, closed=(True, True)) -> None:
    """Raise ``ValueError`` unless a concrete ``value`` is finite and in [lo, hi] (open ends per ``closed``)."""
    V.check_range(value, f"{cls_name}: {name}", lo, hi, closed=closed)
