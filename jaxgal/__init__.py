"""jaxgal: JAX-accelerated, differentiable galactic dynamics and its inference stack.

Importing jaxgal switches JAX to 64-bit floats (``jax_enable_x64``), the precision of every
science result; set the environment variable ``JAXGAL_NO_X64=1`` before import to keep JAX's
32-bit default. float32 is then an explicit, per-call choice (see ``jaxgal.integrators``).

Units at the public boundary: kpc, km/s, Myr, Msun (accelerations km/s/Myr, angles deg).
"""

import os as _os

import jax as _jax

if _os.environ.get("JAXGAL_NO_X64", "0") in ("", "0"):
    _jax.config.update("jax_enable_x64", True)

from . import df, frames, integrators, observables, potentials, simulation, streams, units  # noqa: E402

__version__ = "0.1.0"
__all__ = ["df", "frames", "integrators", "observables", "potentials", "simulation", "streams", "units", "__version__"]
