"""Mixed precision (``GravityTerm(potential, compute_dtype=jnp.float32)``, what
``SimulationConfig(force_dtype=jnp.float32)`` uses): the force in float32 is the float64 force to float32 round-off,
and its forward-mode derivative is the float64 force's — finite even where float32
tangents overflow (1/r³ near the centre of a cusp)."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgal.integrators._terms import GravityTerm
from jaxgal.potentials import milky_way


def _force(m200, x, dtype):
    return GravityTerm(milky_way(m200, c200=10.0), compute_dtype=dtype).acceleration(0.0, x, None, None)


def test_float32_force_and_its_float64_tangent():
    rng = np.random.default_rng(2)
    pts = np.concatenate([
        10 ** rng.uniform(-9, 2.3, (200, 1)) * rng.normal(size=(200, 3)),
        [[1e-9, 0.0, 0.0], [0.0, 0.0, 1e-8]],
    ])
    tans = (jnp.asarray(1e10), jnp.asarray([1.0, -0.5, 0.25]))

    def jvp_at(dtype):
        one = lambda x: jax.jvp(lambda m, xx: _force(m, xx, dtype), (jnp.asarray(1e12), x), tans)  # noqa: E731
        return jax.jit(jax.vmap(one))(jnp.asarray(pts))

    p64, t64 = jvp_at(None)
    p32, t32 = jvp_at(jnp.float32)
    assert p32.dtype == jnp.float64 and t32.dtype == jnp.float64
    # float32 evaluation: a few float32 ulps of |a|
    scale = np.linalg.norm(np.asarray(p64), axis=1, keepdims=True)
    assert np.all(np.abs(np.asarray(p32) - np.asarray(p64)) <= 2e-6 * scale)
    # the tangent is the float64 one (finite, also at r = 1e-9 kpc)
    assert np.all(np.isfinite(np.asarray(t32)))
    np.testing.assert_allclose(np.asarray(t32), np.asarray(t64), rtol=1e-12, atol=0)
