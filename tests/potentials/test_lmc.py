"""The LMC of Brooks et al. (jaxgal.potentials.lmc): M(<8.7 kpc) = 1.7×10¹⁰ Msun from the
Hernquist enclosed-mass formula, and the floor of its scale radius."""

import numpy as np
import pytest

from jaxgal import potentials as P


@pytest.mark.parametrize("m_lmc", [2.5e10, 1.5e11, 5e11])
def test_lmc_scale_radius_gives_mass_inside_8p7_kpc(m_lmc):
    lmc = P.lmc(m_lmc)
    a = float(lmc.r_s)
    assert abs(m_lmc * 8.7**2 / (8.7 + a) ** 2 / 1.7e10 - 1) < 1e-12
    np.testing.assert_allclose(float(lmc.mass_enclosed(8.7)), 1.7e10, rtol=1e-6)


def test_lmc_scale_radius_floor():
    assert float(P.lmc_scale_radius(1e6)) == P._presets.LMC_A_FLOOR
    with pytest.raises(ValueError, match="m_lmc"):
        P.lmc_scale_radius(-1.0)
