"""Shared helpers of the observables tests (not a test module)."""

import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import DATA, SHARED_REFERENCE

import jaxgal.observables as obs
from jaxgal import frames as F

REFLEX_DIR = os.path.join(SHARED_REFERENCE, "reflex_kgiants")
#: solar parameters assumed by the published fits of the reflex_kgiants tables
REFLEX_FRAME = F.GalactocentricFrame(8.3, 0.02, (11.1, 244.24, 7.25))
SIM_FIXTURE = os.path.join(DATA, "sim_mock_theta_r30-160.npz")


@functools.partial(jax.jit, static_argnames="n")
def halo(key, n, v_travel=(0.0, 0.0, 0.0), sigma=100.0, r_min=20.0, r_max=200.0):
    """Isotropic halo: ρ ∝ r^-3.5 in [r_min, r_max], Gaussian isotropic velocities of
    dispersion sigma and mean −v_travel (kpc, km/s). One compiled program per n (run eagerly
    it compiled a dozen one-op programs for every n)."""
    k1, k2, k3 = jax.random.split(key, 3)
    u = jax.random.uniform(k1, (n,))
    a = -0.5  # p(r) ∝ r^2 r^-3.5 = r^-1.5 → CDF ∝ r^-0.5
    r = (r_min**a + u * (r_max**a - r_min**a)) ** (1 / a)
    dirs = jax.random.normal(k2, (n, 3))
    dirs = dirs / jnp.linalg.norm(dirs, axis=1, keepdims=True)
    v = sigma * jax.random.normal(k3, (n, 3)) - jnp.asarray(v_travel)
    return jnp.concatenate([r[:, None] * dirs, v], 1)


def load_reflex_table(name):
    """A reflex_kgiants table (17 rows: x, y, z, vx, vy, vz, l, b, d, v_los, μ_l*, μ_b, their
    errors and ρ) as a Catalogue, read in place from ../shared/reference (no licence to copy
    it); skipped when absent."""
    path = os.path.join(REFLEX_DIR, name)
    if not os.path.exists(path):
        pytest.skip(
            f"reference data absent: {path} (the shared reference folder "
            "../shared/reference/reflex_kgiants, present in CI, is not in this checkout)"
        )
    a = np.loadtxt(path)
    return obs.make_catalogue(*a[6:17])


def load_sim_fixture():
    """(particles (N, 6) float64, meta dict) of tests/data/sim_mock_theta_r30-160.npz: one
    simulate run at the default observation's θ (independent key), 30 ≤ r_gal ≤ 160 kpc."""
    with np.load(SIM_FIXTURE, allow_pickle=False) as f:
        return jnp.asarray(f["particles"], dtype=float), json.loads(str(f["meta"]))


def pad_particles(p, n):
    """Pad an (N, 6) particle array with NaN rows to n rows (NaN particles are never
    observed), so that particle sets of different sizes share one compilation."""
    p = jnp.asarray(p, dtype=float)
    if p.shape[0] > n:
        raise ValueError(f"pad_particles: {p.shape[0]} > {n}")
    return jnp.concatenate([p, jnp.full((n - p.shape[0], 6), jnp.nan)], 0)
