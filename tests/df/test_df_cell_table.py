"""The DF sampler's cell table (``jaxgal.df._interp.cell_table``): the cells it finds, and
the speeds drawn through it, must equal what the binary search gives, to the last bit."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgal.df import ConstantBetaDF, stellar_halo_density
from jaxgal.df._interp import cell_table, find_cell, hermite
from jaxgal.df._sampling import _sample_speed
from jaxgal.potentials import milky_way


def _knots(rng, n, spread):
    """Increasing knots whose spacing varies by ``spread`` (like the DF's ξ grid)."""
    dx = np.exp(rng.uniform(0.0, np.log(spread), n - 1))
    return jnp.asarray(np.concatenate([[-1.6], -1.6 + np.cumsum(dx) * 0.01]))


def test_cells_equal_searchsorted_on_uneven_knots():
    rng = np.random.default_rng(3)
    x = _knots(rng, 256, 5.0)
    table = cell_table(x, 4 * 256)
    assert bool(table.fits)
    # random queries, every knot exactly, and points beyond both ends
    q = jnp.concatenate([
        jnp.asarray(rng.uniform(float(x[0]) - 0.5, float(x[-1]) + 0.5, 100_000)),
        x, jnp.nextafter(x, -jnp.inf), jnp.nextafter(x, jnp.inf),
    ])
    want = jnp.clip(jnp.searchsorted(x, q, side="right") - 1, 0, x.shape[0] - 2)
    np.testing.assert_array_equal(np.asarray(find_cell(x, table, q)), np.asarray(want))
    y, m = jnp.sin(x), jnp.cos(x)
    np.testing.assert_array_equal(np.asarray(hermite(x, y, m, q, table)), np.asarray(hermite(x, y, m, q)))


def test_table_reports_bins_holding_too_many_knots():
    # a cluster of 10 knots inside one bin: the table must say it does not fit, and the
    # interpolation must then fall back to the search
    x = jnp.asarray(np.concatenate([np.linspace(0.0, 1.0, 50), 1.0 + 1e-4 * np.arange(1, 11), np.linspace(1.1, 2.0, 40)]))
    table = cell_table(x, 100)
    assert not bool(table.fits)
    assert bool(cell_table(x, 100_000).fits)
    # hermite then searches: still the right values
    q = jnp.linspace(-0.5, 2.5, 10_001)
    y, m = jnp.exp(x), jnp.exp(x)
    np.testing.assert_array_equal(np.asarray(hermite(x, y, m, q, table)), np.asarray(hermite(x, y, m, q)))


def test_sampled_speeds_equal_the_searched_ones():
    """The speeds of 1,000 stars of a radially anisotropic halo in the Milky Way, through the
    table and through the search: identical."""
    df = ConstantBetaDF.build(milky_way(1e12), stellar_halo_density(15.0, 4.0), 0.6)
    table = cell_table(df.xi, 4 * df.xi.shape[0])
    assert bool(table.fits)
    key_r, key_u = jax.random.split(jax.random.PRNGKey(0))
    psi = df.grid.psi_at(jax.random.uniform(key_r, (1000,), minval=df.grid.ln_r[0], maxval=df.grid.ln_r[-1]))
    u = jax.random.uniform(key_u, (1000,))
    fast = jax.jit(jax.vmap(lambda p, uu: _sample_speed(df, p, uu, 256, table)))(psi, u)
    slow = jax.jit(jax.vmap(lambda p, uu: _sample_speed(df, p, uu, 256)))(psi, u)
    np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))
