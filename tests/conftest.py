"""Shared test configuration: float64 on, `--runslow` for the long science checks."""

import os

import jax
import pytest

jax.config.update("jax_enable_x64", True)

HERE = os.path.dirname(__file__)
DATA = os.path.join(HERE, "data")
SHARED_REFERENCE = os.path.abspath(os.path.join(HERE, "..", "..", "shared", "reference"))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow science checks")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow science check: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
