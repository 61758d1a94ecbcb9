"""jaxgal: JAX-accelerated, differentiable galactic dynamics and its inference stack.

Subpackages (``docs/architecture.md`` shows how they depend on each other): ``units``,
``frames``, ``potentials``, ``integrators``, ``satellites``, ``df``, ``observables``,
``simulation``, ``inference``, ``streams``. They are imported on first use (``jaxgal.potentials``,
``from jaxgal import simulation``), so that ``import jaxgal`` is cheap and does not start
JAX: the command line can still choose the number of CPU devices (``jaxgal --devices``).

jaxgal runs JAX in 64-bit floats (``jax_enable_x64``), the precision of every science
result; set the environment variable ``JAXGAL_NO_X64=1`` before import to keep JAX's
32-bit default. float32 is then an explicit, per-call choice (see ``jaxgal.integrators``).

Units at the public boundary: kpc, km/s, Myr, Msun (accelerations km/s/Myr, angles deg).
"""

import importlib as _importlib
import os as _os
import sys as _sys

if _os.environ.get("JAXGAL_NO_X64", "0") in ("", "0"):
    if "jax" in _sys.modules:
        _sys.modules["jax"].config.update("jax_enable_x64", True)
    else:
        # Read by JAX when it is imported (by the first jaxgal subpackage that needs it).
        _os.environ["JAX_ENABLE_X64"] = "1"

__version__ = "0.1.0"
_SUBPACKAGES = ("df", "frames", "inference", "integrators", "observables", "potentials", "satellites", "simulation", "streams", "units")
__all__ = list(_SUBPACKAGES) + ["__version__"]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        module = _importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'jaxgal' has no attribute {name!r}")
