"""TabulatedSphericalPotential: the spline of M(<r) against closed forms (NumPy/SciPy), its
convergence order, its ends, float32 positions, derivatives, and the simulation's tracer
Milky Way built with it.

The Milky Way's halo and bulge of ``milky_way(1e12)``: NFW, M(<r) = M_s [ln(1 + x) − x/(1 + x)];
power law with cutoff, M(<r) = M P(3/2 − α/2, r²/r_c²) with SciPy's regularised P.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from jaxgal import units as U
from jaxgal import simulation as S
from jaxgal.potentials import NFW, CompositePotential, MiyamotoNagai, TabulatedSphericalPotential, milky_way
from jaxgal.simulation import _stages

#: (km/s)²/kpc per km/s/Myr
ACC_TO_KMS2_PER_KPC = 1.0 / U.KMS_TO_KPC_MYR


def _halo_bulge(m200=1e12):
    mw = milky_way(m200)
    return mw["halo"], mw["bulge"]


def _mass_closed_form(halo, bulge, r):
    """M(<r) [Msun] of the NFW halo plus the bulge, NumPy/SciPy."""
    x = r / float(halo.r_s)
    m_halo = float(halo.m_s) * (np.log1p(x) - x / (1.0 + x))
    a = 1.5 - 0.5 * float(bulge.alpha)
    m_bulge = float(bulge.mass) * special.gammainc(a, (r / float(bulge.r_c)) ** 2)
    return m_halo + m_bulge


def _points(r, seed=0):
    d = np.random.default_rng(seed).normal(size=(len(r), 3))
    return d / np.linalg.norm(d, axis=1, keepdims=True) * r[:, None]


@pytest.fixture(scope="module")
def mw_parts():
    halo, bulge = _halo_bulge()
    return halo, bulge, CompositePotential((halo, bulge))


def test_force_against_closed_form_and_fourth_order(mw_parts):
    """Force and M(<r) at 4,000 radii from 1e-5.5 to 1e5.8 kpc against the closed forms: max
    relative error ≤ 5e-9 with 32 cells per octave of r² (the default; measured 3.7e-9, at
    r ≈ 2.9 kpc where the bulge's cutoff bends M(<r) most) and the error falls ≥ 10× from
    32 to 64 cells (a cubic Hermite spline: h⁴, 16×; measured 15.8×)."""
    halo, bulge, sph = mw_parts
    r = np.logspace(-5.5, 5.8, 4000)
    x = _points(r)
    m_ref = _mass_closed_form(halo, bulge, r)
    acc_ref = -U.G_KMS * m_ref[:, None] * x / r[:, None] ** 3
    worst = {}
    for cells in (32, 64):
        tab = TabulatedSphericalPotential(sph, cells_per_octave=cells)
        acc = np.asarray(tab.acceleration(x)) * ACC_TO_KMS2_PER_KPC
        rel = np.linalg.norm(acc - acc_ref, axis=1) / np.linalg.norm(acc_ref, axis=1)
        m_rel = np.abs(np.asarray(tab.mass_enclosed(r)) / m_ref - 1.0)
        worst[cells] = max(rel.max(), m_rel.max())
    assert worst[32] <= 5e-9, worst
    assert worst[32] / worst[64] >= 10.0, worst


def test_ends_are_point_masses(mw_parts):
    """Beyond r_max and inside r_min the force is that of the point mass M(<r_max),
    M(<r_min) (closed forms) at the centre, to 1e-8; Φ and ρ are the components' own."""
    halo, bulge, sph = mw_parts
    tab = TabulatedSphericalPotential(sph, r_min=1e-3, r_max=300.0)
    for r_end, r in ((300.0, np.array([400.0, 3e3, 1e5])), (1e-3, np.array([5e-4, 1e-5]))):
        x = _points(r, seed=1)
        # the table's ends are the octaves of r² around r_min, r_max
        r_edge = np.sqrt(2.0 ** (np.floor(np.log2(r_end**2)) if r_end < 1 else np.ceil(np.log2(r_end**2))))
        acc_ref = -U.G_KMS * _mass_closed_form(halo, bulge, r_edge) * x / r[:, None] ** 3
        acc = np.asarray(tab.acceleration(x)) * ACC_TO_KMS2_PER_KPC
        np.testing.assert_allclose(acc, acc_ref, rtol=1e-8)
    xs = _points(np.array([1e-4, 1.0, 500.0]), seed=2)
    np.testing.assert_allclose(np.asarray(tab.potential(xs)), np.asarray(sph.potential(xs)), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(tab.density(xs)), np.asarray(sph.density(xs)), rtol=1e-14)
    assert np.all(np.asarray(tab.acceleration(np.zeros(3))) == 0.0)


def test_float32_positions(mw_parts):
    """Positions in float32 (mixed precision, ``force_dtype=float32``) read the same cells
    from float32's bit layout: the force within 1e-6 of the float64 evaluation."""
    *_, sph = mw_parts
    tab = TabulatedSphericalPotential(sph)
    r = np.logspace(-4, 5, 500)
    x64 = jnp.asarray(_points(r, seed=3))
    x32 = x64.astype(jnp.float32)
    g64 = jax.vmap(lambda p: tab.grad_phi(p, 0.0))(x32.astype(jnp.float64))
    g32 = jax.vmap(lambda p: tab.grad_phi(p, 0.0))(x32)
    assert g32.dtype == jnp.float32
    rel = np.linalg.norm(np.asarray(g32, float) - np.asarray(g64), axis=1) / np.linalg.norm(np.asarray(g64), axis=1)
    assert rel.max() <= 1e-6, rel.max()


def test_derivatives_match_the_components(mw_parts):
    """Forward-mode tangents of the tabulated force with respect to position (the spline's
    derivative, O(h³)) and to M200 (through the table's construction) equal the
    components' own to 1e-6 and 1e-8."""
    *_, sph = mw_parts
    tab = TabulatedSphericalPotential(sph)
    x = jnp.asarray(_points(np.logspace(-3, 3, 60), seed=4))
    dx = jnp.asarray(np.random.default_rng(5).normal(size=x.shape))
    jv = jax.vmap(lambda p, v: jax.jvp(lambda q: tab.grad_phi(q, 0.0), (p,), (v,))[1])(x, dx)
    jv_ref = jax.vmap(lambda p, v: jax.jvp(lambda q: sph.grad_phi(q, 0.0), (p,), (v,))[1])(x, dx)
    rel = np.linalg.norm(np.asarray(jv - jv_ref), axis=1) / np.linalg.norm(np.asarray(jv_ref), axis=1)
    assert rel.max() <= 1e-6, rel.max()

    def force(log_m200, tabulate):
        p = CompositePotential(_halo_bulge(10.0**log_m200))
        p = TabulatedSphericalPotential(p) if tabulate else p
        return jax.vmap(lambda q: p.grad_phi(q, 0.0))(x)

    d_tab = jax.jvp(lambda m: force(m, True), (12.0,), (1.0,))[1]
    d_ref = jax.jvp(lambda m: force(m, False), (12.0,), (1.0,))[1]
    rel = np.linalg.norm(np.asarray(d_tab - d_ref), axis=1) / np.linalg.norm(np.asarray(d_ref), axis=1)
    assert rel.max() <= 1e-8, rel.max()


def test_tracer_milky_way_uses_the_table():
    """``simulate``'s tracers feel the Milky Way's halo and bulge through one table (the
    default ``table_cells_per_octave``) and the disc as before: the force within 5e-9 of
    ``milky_way``'s own (float64 bulge series) at points from 0.01 to 500 kpc, in and off
    the plane; with the table off, the components are unchanged."""
    mw = milky_way(1e12)
    tracer = _stages._tracer_milky_way(mw, S.SimulationConfig())
    assert tracer.names == ("spherical", "disc")
    assert isinstance(tracer["spherical"], TabulatedSphericalPotential)
    x = _points(np.logspace(-2, 2.7, 300), seed=6)
    rel = np.linalg.norm(np.asarray(tracer.acceleration(x) - mw.acceleration(x)), axis=1) / np.linalg.norm(
        np.asarray(mw.acceleration(x)), axis=1
    )
    assert rel.max() <= 5e-9, rel.max()
    exact = _stages._tracer_milky_way(mw, S.SimulationConfig(table_cells_per_octave=None, bulge_dtype=None))
    assert exact.names == mw.names


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(cells_per_octave=24), "power of two"),
        (dict(cells_per_octave=1), "power of two"),
        (dict(r_min=1.0, r_max=0.5), "r_max"),
        (dict(r_min=0.0), "r_min"),
    ],
)
def test_bad_arguments_raise(mw_parts, kwargs, match):
    with pytest.raises(ValueError, match=match):
        TabulatedSphericalPotential(mw_parts[2], **kwargs)


def test_non_spherical_component_raises():
    with pytest.raises(TypeError, match="spherical"):
        TabulatedSphericalPotential(NFW(1e12, 20.0) + MiyamotoNagai(5e10, 3.0, 0.3))
    with pytest.raises(ValueError, match="table_cells_per_octave"):
        S.SimulationConfig(table_cells_per_octave=24)
