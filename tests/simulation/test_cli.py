"""The command line in a fresh process: ``jaxgal suite OUT --n-sims 16 --devices 2`` must
set the device count before JAX starts (it used to fail with "--devices must be set before
JAX is imported"), and ``import jaxgal`` must not start JAX."""

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT


def _run(args, tmp_path, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "jaxgal.cli", *args], cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=timeout,
    )


def test_import_jaxgal_does_not_start_jax():
    code = "import sys, jaxgal, jaxgal.cli; assert 'jax' not in sys.modules, 'import jaxgal imported jax'; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_suite_devices_flag_sets_two_devices(tmp_path):
    """--plan stops after parsing, setting the devices and starting JAX: the suite would
    run on 2 CPU devices."""
    out = _run(["suite", str(tmp_path / "s"), "--n-sims", "16", "--devices", "2", "--plan"], tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "16 simulations" in out.stdout and "on 2 cpu device(s)" in out.stdout, out.stdout


@pytest.mark.slow
def test_suite_runs_on_two_devices(tmp_path):
    """The real thing: 2 small simulations, one chunk, split over 2 devices, stored."""
    out = _run(
        ["suite", str(tmp_path / "s"), "--n-sims", "2", "--n-particles", "64", "--chunk-size", "2", "--devices", "2"],
        tmp_path, timeout=1200,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "on 2 cpu device(s)" in out.stdout and "2 of 2 simulations stored" in out.stdout, out.stdout
    import jaxgal.simulation as S

    suite = S.load_suite(str(tmp_path / "s"))
    assert suite["theta"].shape == (2, 12) and np.all(np.isfinite(suite["derived_m_mw_50"]))
