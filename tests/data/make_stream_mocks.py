"""Regenerate the cached mock streams and fits of tests/streams/ (run from the repo root):

    python tests/data/make_stream_mocks.py [spray] [orbit] [n22]      (default: all three)

Writes ``stream_mock_spherical.npy`` and ``stream_mock_triaxial.npy``: (1500, 6)
Galactocentric x, y, z [kpc], v_x, v_y, v_z [km/s] today of particle-spray GD-1-like
streams (``jaxgal.streams.spray_stream``, 2×10⁴ Msun progenitor placed on the GD-1-I21
track at φ1 = −40°), subsampled at random to 1,500 particles with φ1 ∈ [−85°, 5°]:

- spherical: MWPotential2014, t_total = 3000 Myr, dt = 1 Myr, release every 3 steps, key 1;
- triaxial: MWPotential2014's disc and bulge + a triaxial NFW (M_s and r_s of
  MWPotential2014's halo, 1 : 0.75 : 0.70, pitch 25°, yaw 200°), same settings, key 1.

The potentials are rebuilt in the tests from these numbers (``TRIAXIAL_TRUTH`` there).

``orbit`` writes ``stream_orbit_mw2014.npy``: (161, 6) Galactocentric x [kpc], v [km/s] of one
orbit in MWPotential2014 through the GD-1 progenitor point (φ1 = −40° on GD-1-I21), ±40 Myr in
0.5 Myr leapfrog steps (``jaxgal.integrators.integrate_orbits``), sorted by φ1 (the zero-width
stream of ``test_acceleration_of_an_orbit_is_exact``).

``n22`` writes ``stream_mock_n22_posterior.npz``: the previous (n22) track model fitted to the
spherical mock as ``tests/streams/test_stream_track.py`` observes it (observation key 2:
400 stars in φ1 ∈ [−80°, 0°], 150 radial velocities in [−75°, −5°]; fit key 4, K = 5, 4 knots
for v_r, 2 chains × 150 warm-up + 150 draws): ``knots_<quantity>`` and ``samples_<quantity>``
(draws × knots) of the five quantities, ``phi1_range``, and the fit's largest R-hat,
smallest ESS and divergences (``diagnostics``). The default suite checks these cached draws;
the live fit is the slow test ``test_n22_model_on_a_mock_live``.
"""

import os

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import jaxgal as jg  # noqa: E402
from jaxgal.streams import _mock, _models  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRIAXIAL = dict(q_y=0.75, q_z=0.70, pitch=25.0, yaw=200.0)


def orbit():
    pot = jg.potentials.MWPotential2014()
    w0 = _mock.gd1_progenitor(-40.0)
    fwd = jg.integrators.integrate_orbits(pot, w0[None], 0.0, 40.0, 0.5, save_every=1)
    bwd = jg.integrators.integrate_orbits(pot, w0[None], 0.0, -40.0, -0.5, save_every=1)
    w = np.concatenate([np.asarray(bwd.w)[::-1, 0], np.asarray(fwd.w)[1:, 0]])
    phi1 = np.asarray(jg.frames.galactocentric_to_gd1(w).phi1)
    w = w[np.argsort(phi1)]
    np.save(os.path.join(HERE, "stream_orbit_mw2014.npy"), w)
    print("orbit", w.shape, "phi1", phi1.min(), phi1.max())


def n22():
    from jaxgal import streams as st

    w = np.load(os.path.join(HERE, "stream_mock_spherical.npy"))
    d = _mock.observe_stream(jax.random.key(2), w, n_stars=400, phi1_range=(-80.0, 0.0), n_rv=150,
                             rv_phi1_range=(-75.0, -5.0))
    post = st.fit_track(jax.random.key(4), d, model="n22", n_knots_rv=4, n_knots=(5,), n_chains=2, n_warmup=150,
                        n_samples=150)
    f = post.fits[0]
    out = {f"knots_{c}": f.knots[c] for c in st.N22_COMPONENTS}
    out.update({f"samples_{c}": f.samples[c] for c in st.N22_COMPONENTS})
    out["phi1_range"] = np.asarray(post.phi1_range)
    out["diagnostics"] = np.array([f.nuts.max_rhat(), f.nuts.min_ess(), float(np.sum(f.nuts.divergences))])
    np.savez_compressed(os.path.join(HERE, "stream_mock_n22_posterior.npz"), **out)
    print("n22 posterior", f.n_draws, "draws; R-hat, ESS, divergences", out["diagnostics"])


def spray():
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
    import sys

    todo = sys.argv[1:] or ["spray", "orbit", "n22"]
    for name in todo:
        {"spray": spray, "orbit": orbit, "n22": n22}[name]()
