"""The public methods of a potential (``potential``, ``acceleration``, ``mass_enclosed``, …)
validate their inputs and then run as one compiled program per potential structure, hook
and input shape (``jaxgal.potentials._base._evaluate``), not primitive by primitive.

References: the engine interface's single-point hooks (``grad_phi``, ``phi``) for the
values; equinox's trace counter for the compilation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxgal as jg
from jaxgal import units as U
from jaxgal.potentials._base import _evaluate


def test_one_program_per_structure_and_the_hooks_values():
    mw1, mw2 = jg.potentials.milky_way(1e12), jg.potentials.milky_way(1.4e12)
    x = jnp.asarray(np.random.default_rng(3).normal(size=(2, 4, 3)) * 20.0)
    a1 = mw1.acceleration(x)
    n = eqx.debug.get_num_traces(_evaluate)
    # same structure and shapes, other parameter values and positions: no new trace
    a2 = mw2.acceleration(x)
    a3 = mw1.acceleration(x + 1.0, 5.0)
    assert eqx.debug.get_num_traces(_evaluate) == n
    for pot, xx, got in ((mw1, x, a1), (mw2, x, a2), (mw1, x + 1.0, a3)):
        ref = -jax.vmap(lambda y: pot.grad_phi(y, 0.0))(xx.reshape(-1, 3)).reshape(xx.shape) / U.KMS_TO_KPC_MYR
        np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-13)
    assert not np.allclose(np.asarray(a1), np.asarray(a2), rtol=1e-3)
    # Φ in (km/s)² against the single-point hook, and the (...,) shape
    phi = mw2.potential(x)
    assert phi.shape == (2, 4)
    ref = jax.vmap(lambda y: mw2.phi(y, 0.0))(x.reshape(-1, 3)).reshape(2, 4) / U.KMS2_TO_KPC2_MYR2
    np.testing.assert_allclose(np.asarray(phi), np.asarray(ref), rtol=1e-13)


def test_public_methods_inside_jit_grad_and_vmap():
    """Called inside a user's transformations the compiled evaluation is inlined: d M(<50
    kpc)/d M200 by autodiff equals a central difference (rel 1e-6), and vmap over radii
    equals the batched call."""
    m = lambda m200: jg.potentials.milky_way(m200).mass_enclosed(50.0)  # noqa: E731
    g = float(jax.jit(jax.grad(m))(1e12))
    fd = float(m(1e12 * (1 + 1e-5)) - m(1e12 * (1 - 1e-5))) / (2e7)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    mw = jg.potentials.milky_way(1e12)
    r = jnp.linspace(1.0, 60.0, 5)
    np.testing.assert_allclose(np.asarray(jax.vmap(mw.circular_velocity)(r)), np.asarray(mw.circular_velocity(r)), rtol=1e-13)
