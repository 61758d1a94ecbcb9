"""Shared test configuration.

- float64 on, and **two CPU devices** (equinox's habit), so that the sharded paths run in
  process; a device count already set in ``XLA_FLAGS`` wins.
- **Strict dtype promotion** for the tests of the packages whose code is checked under it
  (``STRICT_PACKAGES``), by a module-scoped autouse fixture; the other packages' tests run with JAX's
  default promotion.
- Shapes checked at run time: ``pyproject.toml`` runs pytest with jaxtyping + beartype on
  the same packages.
- ``--runslow`` for the long science checks; ``raises_quickly`` for bad-input tests.
"""

import contextlib
import os
import signal
import sys
import time

import jax
import pytest

jax.config.update("jax_enable_x64", True)
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    jax.config.update("jax_num_cpu_devices", 2)

HERE = os.path.dirname(__file__)
DATA = os.path.join(HERE, "data")
SHARED_REFERENCE = os.path.abspath(os.path.join(HERE, "..", "..", "shared", "reference"))
ROOT = os.path.dirname(HERE)

#: JAX's persistent compilation cache for the test run: a program that several tests (or
#: both pytest-xdist workers) compile with identical HLO, e.g. ``simulate`` at the same
#: shapes, is compiled once and read back after (the key is the HLO, the compile options and
#: the jax/jaxlib versions, so a code change can never reuse a stale program). Programs
#: compiling in under a second are not stored. The cache lives in ``.pytest_cache/jax-lru`` and
#: so also serves later runs; every code change adds ~20 MB of new programs, so it is held
#: to 512 MB, least recently used evicted first (JAX's LRU cache; it needs ``filelock``, a
#: test extra). ``JAXGAL_TEST_COMPILE_CACHE=<dir>`` moves
#: it, ``=off`` turns it off.
_COMPILE_CACHE = os.environ.get("JAXGAL_TEST_COMPILE_CACHE", os.path.join(ROOT, ".pytest_cache", "jax-lru"))
if _COMPILE_CACHE.lower() not in ("off", "0", ""):
    jax.config.update("jax_compilation_cache_dir", _COMPILE_CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    jax.config.update("jax_compilation_cache_max_size", 512 * 2**20)

#: Test folders run under jax.numpy_dtype_promotion("strict").
STRICT_PACKAGES = ("potentials", "integrators", "satellites", "df", "frames", "simulation")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow science checks")


#: XLA:CPU's legacy fusion emitters for the fast suite. ~70 % of its CPU time is XLA
#: compilation (thousands of one-op eager programs and a few large ones), and the legacy
#: emitters compile a one-op program in 34–36 ms against 53–56 ms and a first ``simulate``
#: call takes 16 % less, while the compiled code runs ~2.4× slower (a 4,000-star
#: ``simulate``: 1.6 s against 0.6–0.7 s; ``benchmarks/compile_cost.py``). For the fast suite that is a net gain: 14.1 against 17.5 CPU-minutes on
#: this 2-core machine (README, "Tests and benchmarks"). Results agree to round-off (the
#: same HLO, other machine code). Not used with ``--runslow``, whose checks are dominated by
#: run time, nor when ``XLA_FLAGS`` already chooses, nor with
#: ``JAXGAL_TEST_FAST_COMPILE=off``; the flag is first tried in a subprocess, because XLA
#: aborts on a flag it does not know (a jaxlib that dropped it then just runs as it is).
FAST_COMPILE_FLAG = "--xla_cpu_use_fusion_emitters=false"


def _xla_knows(flag: str) -> bool:
    import subprocess
    import sys

    env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " " + flag).strip(), JAX_PLATFORMS="cpu")
    probe = "import jax, jax.numpy as jnp; jnp.ones(2).block_until_ready()"
    try:
        return subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def pytest_configure(config):
    # JAX reads XLA_FLAGS when its CPU backend starts (the first computation), which is
    # after this hook; pytest-xdist's workers inherit the environment set here.
    flags = os.environ.get("XLA_FLAGS", "")
    if (
        config.getoption("--runslow")
        or os.environ.get("JAXGAL_TEST_FAST_COMPILE", "on").lower() in ("off", "0", "no")
        or "xla_cpu_use_fusion_emitters" in flags
    ):
        return
    if _xla_knows(FAST_COMPILE_FLAG):
        os.environ["XLA_FLAGS"] = (flags + " " + FAST_COMPILE_FLAG).strip()


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow science check: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True, scope="module")
def _strict_dtype_promotion(request):
    """Strict promotion for a whole test module of ``STRICT_PACKAGES``, set in JAX's global
    configuration rather than its thread-local context: module-scoped fixtures (set up
    before any function-scoped one) and the threads of a Dask ``LocalCluster`` then trace
    under the same rule as the tests, and so reuse the tests' compiled programs (the jit
    cache is keyed on the promotion rule)."""
    rel = os.path.relpath(str(request.node.path), HERE).split(os.sep)
    if len(rel) > 1 and rel[0] in STRICT_PACKAGES:
        old = jax.config.jax_numpy_dtype_promotion
        jax.config.update("jax_numpy_dtype_promotion", "strict")
        try:
            yield
        finally:
            jax.config.update("jax_numpy_dtype_promotion", old)
    else:
        yield


@contextlib.contextmanager
def _alarm(seconds: int):
    def handler(signum, frame):
        raise TimeoutError(f"the call did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def gala_inertial_helpers():
    """``(gala_mw_lmc_inertial, run_gala_inertial)`` of ``benchmarks/_gala.py``: the MW and
    LMC as gala potentials moving on a jaxgal orbit, and gala's leapfrog in that inertial
    frame. Skips the calling test when gala is not installed."""
    pytest.importorskip("gala")
    bench = os.path.join(ROOT, "benchmarks")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    from _gala import gala_mw_lmc_inertial, run_gala_inertial

    return gala_mw_lmc_inertial, run_gala_inertial


@pytest.fixture
def raises_quickly():
    """``raises_quickly(Error, fn, match=..., limit=1.0)``: ``fn()`` raises ``Error`` (message
    matching ``match``) within ``limit`` seconds; a hang is stopped after 10 s."""

    def check(err, fn, *, match=None, limit: float = 1.0):
        tic = time.perf_counter()
        with _alarm(max(10, int(limit) + 1)), pytest.raises(err, match=match):
            fn()
        elapsed = time.perf_counter() - tic
        assert elapsed < limit, f"the error took {elapsed:.2f} s (limit {limit} s)"

    return check
