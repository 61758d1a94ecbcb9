"""Suite determinism (same seed, same bytes) and the manifest's bookkeeping.

Tiny suites as in test_simulation.py's resumability test (300 stars, leapfrog, chunks of 2,
seed 11), so the compiled simulation program is shared with it.
"""

import json
import os
import re

import numpy as np
import pytest

from jaxgal import simulation as S

# the small leapfrog simulations of test_simulation.py share one compiled program (one worker
# under pytest --dist loadgroup)
pytestmark = pytest.mark.xdist_group("simulate_small")
N_SMALL = 300
CFG = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=2.0)
KW = dict(seed=11, n_particles=N_SMALL, chunk_size=2, config=CFG, progress=False)


def _files(d):
    return sorted(f for f in os.listdir(d) if f.startswith(("chunk_", "particles_")))


def test_same_seed_same_bytes_and_manifest(tmp_path):
    """Two runs of a 3-simulation suite, one in a single call and one resumed in the other
    chunk order, give identical chunk and particle files byte for byte; the manifest counts
    what the chunks hold (flags, clipped c200, failed integrations), records the versions and
    the timing, and is rebuilt the same from the files alone."""
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    S.run_suite(a, 3, keep_particles=True, **KW)
    S.run_suite(b, 3, keep_particles=True, chunks=[1], **KW)
    S.run_suite(b, 3, keep_particles=True, **KW)
    assert _files(a) == _files(b) == ["chunk_00000.npz", "chunk_00001.npz", "particles_00000.npy", "particles_00001.npy"]
    for f in _files(a):
        assert open(os.path.join(a, f), "rb").read() == open(os.path.join(b, f), "rb").read(), f

    man = S.read_manifest(a)
    s = S.load_suite(a, missing="fill")
    summ = man["summary"]
    assert summ["sims_done"] == 3 and summ["chunks_done"] == summ["n_chunks"] == 2
    assert summ["flagged_bins"] == int(s["flags"].sum())
    assert summ["sims_with_flagged_bins"] == int(s["flags"].any(axis=1).sum())
    assert summ["c200_clipped"] == int(s["derived_c200_clipped"].sum())
    assert summ["failed_integrations"] == 0 and summ["failed_integrations_checked_sims"] == 3
    assert summ["nonfinite_values"] == {}
    assert summ["timed_chunks"] == 2 and summ["steady_chunks"] == 1 and summ["seconds_per_simulation"] > 0
    w = man["writers"][0]
    import equinox
    import jax

    assert w["jax"] == jax.__version__ and w["equinox"] == equinox.__version__ and w["numpy"] == np.__version__
    assert w["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}(-dirty)?", w["git_commit"])
    assert man["suite"] == json.load(open(os.path.join(a, "suite.json")))

    # a folder without a manifest (a suite written before manifests): rebuilt from the files
    os.remove(os.path.join(b, "manifest.json"))
    rebuilt = S.update_manifest(b)
    for k in ("sims_done", "flagged_bins", "c200_clipped", "failed_integrations", "nonfinite_values"):
        assert rebuilt["summary"][k] == summ[k], k
    assert rebuilt["summary"]["timed_chunks"] == 0


def test_chunk_quality_counts_failures():
    """A chunk with a non-finite particle and a non-finite stored value is counted as such."""
    from jaxgal.simulation._manifest import chunk_quality

    arrays = dict(index=np.arange(2), flags=np.array([[True, False], [False, False]]),
                  derived_c200_clipped=np.array([False, True]), derived_m_mw_50=np.array([1.0, np.inf]))
    p = np.zeros((2, 4, 6))
    p[1, 2, 3] = np.nan
    q = chunk_quality(arrays, p)
    assert q == dict(n_sims=2, c200_clipped=1, flagged_bins=1, sims_with_flagged_bins=1,
                     failed_integrations=1, nonfinite_values={"derived_m_mw_50": 1})


def test_settings_record_every_config_field_and_refuse_legacy_suites(tmp_path):
    """A suite's settings record every SimulationConfig field with its value, defaults
    included (``repr`` hides the defaults, so a change of the defaults between versions
    would have resumed a suite with other numerics); a suite written with the old,
    defaults-hidden record refuses to resume, saying why."""
    import dataclasses

    from jaxgal.simulation._chunk import _check_settings, _settings_of, config_record

    cfg = S.SimulationConfig()
    rec = config_record(cfg)
    for f in dataclasses.fields(cfg):
        assert f"{f.name}={getattr(cfg, f.name)!r}" in rec, f.name
    # the current defaults, with the tolerances resolved to the method's (never None)
    assert "tracer_method='dprkn6'" in rec and "inner_rtol=0.005" in rec and "lane_shrink=64" in rec
    assert config_record(S.SimulationConfig(inner_rtol=1e-5)) != rec
    assert "inner_rtol=0.0001" in config_record(S.SimulationConfig(tracer_method="dopri5"))
    settings = _settings_of(4, 0, 100, 2, cfg, S.SimulationModel(), None)
    assert settings["config"] == rec
    legacy = dict(settings, config="SimulationConfig()")
    os.makedirs(tmp_path / "old")
    with open(tmp_path / "old" / "suite.json", "w") as fh:
        json.dump(legacy, fh)
    with pytest.raises(ValueError, match="recorded only the non-default"):
        _check_settings(str(tmp_path / "old"), settings)
    with open(tmp_path / "old" / "suite.json", "w") as fh:  # an old record of a non-default config
        json.dump(dict(settings, config="SimulationConfig(tracer_rtol=1e-06)"), fh)
    with pytest.raises(ValueError, match="recorded only the non-default"):
        _check_settings(str(tmp_path / "old"), settings)
    with open(tmp_path / "old" / "suite.json", "w") as fh:  # a full record of a version with fewer fields
        json.dump(dict(settings, config=rec.replace(", table_cells_per_octave=32", "")), fh)
    with pytest.raises(ValueError, match="had fewer fields"):
        _check_settings(str(tmp_path / "old"), settings)
    other = _settings_of(4, 0, 100, 2, S.SimulationConfig(inner_rtol=1e-5), S.SimulationModel(), None)
    with open(tmp_path / "old" / "suite.json", "w") as fh:  # a full record that differs: the plain message
        json.dump(other, fh)
    with pytest.raises(ValueError, match="different settings") as err:
        _check_settings(str(tmp_path / "old"), settings)
    assert "non-default" not in str(err.value)
    _check_settings(str(tmp_path / "new"), settings)  # a new folder: written, then resumable
    _check_settings(str(tmp_path / "new"), settings)
