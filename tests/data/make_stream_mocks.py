"""Regenerate the cached mock streams of tests/streams/ (run from the repo root):

    python tests/data/make_stream_mocks.py

Writes ``stream_mock_spherical.npy`` and ``stream_mock_triaxial.npy``: (1500, 6)
Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s] today of particle-spray GD-1-like
streams (``jaxgal.streams.spray_stream``, 2×10⁴ Msun progenitor placed on the GD-1-I21
track at φ1 = −40°), subsampled at random to 1,500 particles with φ1 ∈ [−85°, 5°]:

- spherical: MWPotential2014, t_total = 3000 Myr, dt = 1 Myr, release every 3 steps, key 1;
- triaxial: MWPotential2014's disc and bulge + a triaxial NFW (M_s and r_s of
  MWPotential2014's halo, 1 : 0.75 : 0.70, pitch 25°, yaw 200°), same settings, key 1.

The potentials are rebuilt in the tests from these numbers (``TRIAXIAL_TRUTH`` there).
"""

import os

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import jaxgal as jg  # noqa: E402
from jaxgal.streams import _mock, _models  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRIAXIAL = dict(q_y=0.75, q_z=0.70, pitch=25.0, yaw=200.0)


def main():
    halo = jg.potentials.MWPotential2014()["halo"]
    pots = {
        "spherical": jg.potentials.MWPotential2014(),
        "triaxial": _models.triaxial_halo_model(float(np.log10(halo.m_s)), float(halo.r_s), **TRIAXIAL),
    }
    w0 = _mock.gd1_progenitor(-40.0)
    for name, pot in pots.items():
        w, _ = _mock.spray_stream(jax.random.key(1), pot, w0, t_total=3000.0, dt=1.0, release_every=3)
        phi1 = np.asarray(jg.frames.galactocentric_to_gd1(w).phi1)
        idx = np.flatnonzero((phi1 > -85.0) & (phi1 < 5.0))
        rng = np.random.default_rng(0)
        idx = np.sort(rng.choice(idx, size=min(1500, idx.size), replace=False))
        np.save(os.path.join(HERE, f"stream_mock_{name}.npy"), np.round(w[idx], 6))
        print(name, idx.size, "particles; phi1 range", phi1[idx].min(), phi1[idx].max())


if __name__ == "__main__":
    main()
