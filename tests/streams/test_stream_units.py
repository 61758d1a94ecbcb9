"""Stream accelerations: unit conversions at the GD-1 paper's point (enclosed mass, potential
flattening, cylindrical components) — independent checks against the paper's own numbers."""

import numpy as np
import pytest

import jaxgal as jg
from jaxgal import streams as st

# The paper's published point and accelerations (abstract): (R, z, φ) = (11.9 kpc, 7.3 kpc,
# 171.1°), a = (−2.5, 0.2, −1.8) km/s/Myr (a_R, a_φ, a_z).
PAPER_RZPHI = (11.9, 7.3, 171.1)
PAPER_A = (-2.5, 0.2, -1.8)


def _paper_xyz():
    R, z, phi = PAPER_RZPHI
    p = np.deg2rad(phi)
    return np.array([R * np.cos(p), R * np.sin(p), z])


def _cyl_to_cart(x, a_cyl):
    phi = np.arctan2(x[1], x[0])
    c, s = np.cos(phi), np.sin(phi)
    return np.array([a_cyl[0] * c - a_cyl[1] * s, a_cyl[0] * s + a_cyl[1] * c, a_cyl[2]])


# ---------------------------------------------------------------------------------------
# unit checks: M(<14 kpc) = 1.37e11 Msun and q_Φ = 0.92 from the paper's accelerations
# ---------------------------------------------------------------------------------------
def test_enclosed_mass_from_paper_acceleration():
    x = _paper_xyz()
    a = _cyl_to_cart(x, PAPER_A)
    m = st.enclosed_mass(x, a)
    assert m == pytest.approx(1.37e11, rel=0.01)
    # radial component only: 1.36e11
    assert st.enclosed_mass(x, a, radial_only=True) == pytest.approx(1.36e11, rel=0.01)


def test_potential_flattening_from_paper_point():
    R, z, _ = PAPER_RZPHI
    q = st.potential_flattening(R, z, PAPER_A[0], PAPER_A[2])
    # the paper's accelerations imply a *potential* flattening q_Φ ≈ 0.92; its 0.81 is the
    # fitted halo's *density* flattening q_ρ,z, a different quantity
    assert q == pytest.approx(0.923, abs=0.002)
    assert np.isnan(st.potential_flattening(R, z, 1.0, -1.0))


def test_cylindrical_round_trip_and_sun_azimuth():
    x = _paper_xyz()
    cyl = st.cylindrical(x, _cyl_to_cart(x, PAPER_A))
    np.testing.assert_allclose(cyl, PAPER_A, atol=1e-12)
    np.testing.assert_allclose(st.cylindrical_positions(x), PAPER_RZPHI, atol=1e-9)
    # the Sun sits at φ = 180° in the astropy frame
    sun = np.asarray(jg.frames.GalactocentricFrame().sun_position())
    assert st.cylindrical_positions(sun)[2] == pytest.approx(180.0)


def test_enclosed_mass_matches_spherical_potential():
    nfw = jg.potentials.NFW(8e11, 16.0)
    x = np.array([[3.0, -8.0, 9.0], [12.0, 1.0, -2.0]])
    a = np.asarray(nfw.acceleration(x))
    np.testing.assert_allclose(st.enclosed_mass(x, a), np.asarray(nfw.mass_enclosed(np.linalg.norm(x, axis=1))),
                               rtol=1e-10)




def test_spline_basis_is_interpax_cubic2():
    """The track splines' linear basis equals interpax's ``cubic2`` spline (the paper's
    package; not-a-knot ends) of the identity, for K = 3 (a parabola) and 7 unevenly spaced knots, derivatives 0–2, inside and
    outside the knots (extrapolation)."""
    import interpax
    import jax
    import jax.numpy as jnp

    x = np.linspace(-100.0, 20.0, 41)

    def ref(kn):
        return jnp.stack([interpax.interp1d(jnp.asarray(x), kn, jnp.eye(kn.shape[0]), method="cubic2", derivative=der,
                                            extrap=True) for der in (0, 1, 2)])

    ref = jax.jit(ref)
    for k in (3, 7):
        kn = np.sort(np.r_[-80.0, -80.0 + 80.0 * np.random.default_rng(k).uniform(0.1, 0.9, k - 2), 0.0])
        r = np.asarray(ref(jnp.asarray(kn)))
        for der in (0, 1, 2):
            np.testing.assert_allclose(st.spline_basis(kn, x, der), r[der], atol=1e-12 * 10.0 ** (-der) + 1e-13,
                                       err_msg=f"K={k}, derivative {der}")
