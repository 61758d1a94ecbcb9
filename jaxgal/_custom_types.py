"""Shape-annotated type aliases shared by jaxgal's modules (jaxtyping).

Under pytest these annotations are checked at run time (jaxtyping + beartype, see
``pyproject.toml``), so a wrong shape fails the test that produced it.
"""

from __future__ import annotations

from jaxtyping import Array, ArrayLike, Float, Real

__all__ = ["RealScalarLike", "FloatScalarLike", "Vec3", "Scalar"]

#: A real scalar: Python int/float, NumPy scalar or 0-d array (e.g. a time in Myr).
RealScalarLike = Real[ArrayLike, ""]
#: A floating-point scalar.
FloatScalarLike = Float[ArrayLike, ""]
#: One position, velocity or acceleration vector.
Vec3 = Float[Array, "3"]
#: A floating-point 0-d array.
Scalar = Float[Array, ""]
