"""Write ``sim_mock_theta_r30-160.npz``: the particles of one ``jg.simulation.simulate`` run at
the default observation's θ (``jaxgal.simulation._default_observation.MOCK_THETA``), with a
key independent of the one that made the default observation, keeping those at
30 ≤ r_gal ≤ 160 kpc (the summaries' range), stored as float32.

Run from the repository root:  PYTHONPATH=$PWD python tests/data/make_observables_fixture.py
"""

import json
import os
import subprocess
import time

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import jaxgal as jg  # noqa: E402
from jaxgal.simulation._default_observation import MOCK_THETA  # noqa: E402

SEED = 7  # the default observation used PRNGKey(2026); this realisation is independent
N_PARTICLES = 20_000
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sim_mock_theta_r30-160.npz")


def main():
    t0 = time.time()
    res = jg.simulation.simulate(MOCK_THETA, jax.random.PRNGKey(SEED), N_PARTICLES)
    w = np.asarray(res.particles)
    elapsed = time.time() - t0
    r = np.linalg.norm(w[:, :3], axis=1)
    keep = (r >= 30.0) & (r <= 160.0) & np.all(np.isfinite(w), axis=1)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except Exception:  # pragma: no cover
        commit = "unknown"
    meta = {
        "what": "particles of jg.simulation.simulate(MOCK_THETA, PRNGKey(7), 20000) with "
        "30 <= r_gal <= 160 kpc; Galactocentric x, y, z [kpc], vx, vy, vz [km/s], float32",
        "theta": MOCK_THETA,
        "seed": SEED,
        "n_particles": N_PARTICLES,
        "n_kept": int(keep.sum()),
        "derived": {k: float(v) for k, v in res.derived.items()},
        "jaxgal_commit": commit,
        "generator": "PYTHONPATH=$PWD python tests/data/make_observables_fixture.py",
        "simulate_seconds": round(elapsed, 1),
    }
    np.savez_compressed(OUT, particles=w[keep].astype(np.float32), meta=np.array(json.dumps(meta)))
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
