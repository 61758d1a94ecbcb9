"""Re-observing a stored suite (``observe_suite``) and the suite's missing-bin convention.

A tiny suite (3 simulations of 300 stars, leapfrog numerics and chunks of 2, as the
resumability test in test_simulation.py, so the compiled programs are shared) is run once
with ``keep_particles=True``; the tests observe it through catalogue error models.
"""

import json
import os
import shutil

import jax
import numpy as np
import pytest

from jaxgal import observables as O
from jaxgal import simulation as S

# the small leapfrog simulations of test_simulation.py share one compiled program (one worker
# under pytest --dist loadgroup)
pytestmark = pytest.mark.xdist_group("simulate_small")
N_SMALL = 300
CFG = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=2.0)


@pytest.fixture(scope="module")
def tiny_suite(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("suite") / "s")
    S.run_suite(d, 3, seed=11, n_particles=N_SMALL, chunk_size=2, config=CFG, progress=False,
                keep_particles=True)
    return d


def _zero_error_model():
    """The default model's catalogue with every error set to zero: same pools and missing-
    observable pattern (so the same compiled program), but exact observables."""
    cat = O.default_observation().catalogue
    z = {f: np.where(np.isfinite(getattr(cat, f)), 0.0, np.nan)
         for f in ("v_los_err", "pm_l_cosb_err", "pm_b_err")}
    cat = type(cat)(cat.l, cat.b, cat.distance, cat.v_los, cat.pm_l_cosb, cat.pm_b,
                    np.zeros_like(np.asarray(cat.distance)), z["v_los_err"], z["pm_l_cosb_err"],
                    z["pm_b_err"], cat.pm_corr)
    return O.CatalogueErrorModel.from_catalogue(cat)


def test_observe_suite_chunking_keys_and_files(tiny_suite, tmp_path, capsys):
    """Observing chunk 1 then the rest equals observing in one call (``jaxgal observe``) byte
    for byte, the
    documented key fold_in(PRNGKey(seed), i) reproduces a row, the model is saved in the
    folder under its identifier, a second call is a no-op, and load_suite joins the
    columns (noise-free summaries kept as they are)."""
    model = S.default_observation_model()
    ident = model.identifier
    b = str(tmp_path / "b")
    shutil.copytree(tiny_suite, b)
    a = tiny_suite
    w1 = S.observe_suite(a, seed=5, chunks=[1], progress=False)
    w2 = S.observe_suite(a, seed=5, progress=False)
    assert [os.path.basename(p) for p in w1 + w2] == [f"observed_{ident}_00001.npz", f"observed_{ident}_00000.npz"]
    assert S.observe_suite(a, seed=5, progress=False) == []  # resumable: nothing left
    from jaxgal.cli import main

    assert main(["observe", b, "--seed", "5"]) == 0  # the command line, default model
    assert "catalogue-errors" in capsys.readouterr().out
    for c in (0, 1):
        fa = open(os.path.join(a, f"observed_{ident}_{c:05d}.npz"), "rb").read()
        fb = open(os.path.join(b, f"observed_{ident}_{c:05d}.npz"), "rb").read()
        assert fa == fb
    with pytest.raises(ValueError, match="other settings"):
        S.observe_suite(a, seed=6, progress=False)
    saved = O.load_observation_model(os.path.join(a, f"observation_{ident}.npz"))
    assert saved.identifier == ident and S.observation_identifiers(a) == (ident,)
    rec = json.load(open(os.path.join(a, "observations.json")))[ident]
    assert rec["seed"] == 5 and rec["n_observed"] == 3

    s = S.load_suite(a, observation="default")
    plain = S.load_suite(a)
    assert s["observed_summaries"].shape == (3, 52) and s["observed_flags"].shape == (3, 52)
    np.testing.assert_array_equal(s["summaries"], plain["summaries"])
    names = O.reflex_target_names()
    for nm in names:
        key = nm if nm.startswith("reflex_") else f"reflex_{nm}"
        assert s[key].shape == (3,), key
    # row 2 (the padded last chunk) from the documented key fold_in(PRNGKey(seed), i),
    # through the same compiled observation program (a batch of two copies)
    from jaxgal.simulation._observe_suite import _observe_batch

    w = np.load(os.path.join(a, "particles_00001.npy"))[0].astype(np.float64)
    k = jax.random.fold_in(jax.random.PRNGKey(5), 2)
    with jax.numpy_dtype_promotion("standard"):  # the observables layer is not strict-typed
        direct, t = _observe_batch(model, jax.numpy.stack([k, k]), jax.numpy.stack([w, w]), O.SummaryConfig(), 2000)
    np.testing.assert_array_equal(np.where(direct.flags[0], np.nan, direct.values[0]), s["observed_summaries"][2])
    np.testing.assert_array_equal(t.v_travel[0, 1], s["reflex_v_travel_100"][2])
    assert np.all(s["reflex_n_stars"] >= 0) and s["reflex_converged"].dtype == bool
    with pytest.raises(ValueError, match="not observed with"):
        S.load_suite(a, observation="catalogue-errors-0000000000000000")


def test_zero_error_observation_equals_noise_free_summaries(tiny_suite, tmp_path):
    """Observed through a model with zero errors (and no quality cuts), every star is seen
    exactly: the observed summaries must equal the noise-free ones computed at simulation
    time from the float64 particles (the stored particles are float32: tolerance 1e-4 km/s),
    and both suites flag the same bins, which load_suite returns as NaN."""
    d = str(tmp_path / "z")
    shutil.copytree(tiny_suite, d, ignore=shutil.ignore_patterns("observ*"))
    model = _zero_error_model()
    S.observe_suite(d, model, seed=0, progress=False)
    s = S.load_suite(d, observation=model.identifier)
    np.testing.assert_array_equal(s["observed_flags"], s["flags"])
    np.testing.assert_array_equal(s["observed_counts"], s["counts"])
    assert np.all(np.isnan(s["summaries"][s["flags"]]))
    assert np.all(np.isfinite(s["summaries"][~s["flags"]]))
    np.testing.assert_allclose(s["observed_summaries"], s["summaries"], rtol=0, atol=1e-4)
    filled = S.load_suite(d, missing="fill")
    assert np.all(filled["summaries"][filled["flags"]] == 0.0)
