"""How many CPU devices JAX creates — set before JAX starts, without importing JAX.

On a CPU, XLA runs one computation on about one core; jaxgal splits orbits (or
simulations) over devices, so K host devices use K cores. JAX reads the count from
``XLA_FLAGS=--xla_force_host_platform_device_count=K`` when it creates its CPU backend
(its first computation), so the command line and the benchmarks call
:func:`set_host_device_count` before that; the library itself never does on import.

This module imports nothing from JAX (nor from the rest of jaxgal), so it can run first.
"""

from __future__ import annotations

import os
import re
import sys

__all__ = ["set_host_device_count", "backends_started"]

_FLAG = "--xla_force_host_platform_device_count"
_TIMEOUT_FLAG = "--xla_cpu_collective_call_terminate_timeout_seconds"


def backends_started() -> bool:
    """True once JAX has created a backend in this process (the count is then fixed)."""
    xb = sys.modules.get("jax._src.xla_bridge")
    return bool(xb is not None and getattr(xb, "_backends", None))


def set_host_device_count(k: int | None) -> None:
    """Make JAX create ``k`` CPU devices (``None``: leave the default).

    **Arguments:** `k`: an integer ≥ 1.

    Replaces any device count already in ``XLA_FLAGS``. Raises ``RuntimeError`` if JAX has
    already created its backends in this process (then only a new process can change it),
    ``ValueError``/``TypeError`` for a count that is not a positive integer.
    """
    if k is None:
        return
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"the host device count must be an integer ≥ 1; got {k!r}")
    if k < 1:
        raise ValueError(f"the host device count must be an integer ≥ 1; got {k}")
    if backends_started():
        raise RuntimeError(
            "--devices must be set before JAX starts computing (its CPU backend already exists in this "
            f"process); set XLA_FLAGS={_FLAG}={k} in the environment instead"
        )
    flags = re.sub(rf"{_FLAG}=\S+", "", os.environ.get("XLA_FLAGS", ""))
    flags = f"{flags.strip()} {_FLAG}={k}".strip()
    if k > 1 and _TIMEOUT_FLAG not in flags:
        # XLA's CPU collectives abort when one device is > 40 s behind another (a busy
        # machine, a long lane tail): wait up to an hour instead.
        flags += f" {_TIMEOUT_FLAG}=3600"
    os.environ["XLA_FLAGS"] = flags
