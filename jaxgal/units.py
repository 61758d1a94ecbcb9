"""The internal unit system of jaxgal and conversions at the public boundary.

Inside jit-compiled code every quantity is in **kpc, Myr, Msun**, so velocities are in
kpc/Myr and accelerations in kpc/Myr². The public entry points take and return plain floats
in **kpc, km/s, Myr, Msun** (accelerations in km/s/Myr) or ``astropy.units.Quantity``
objects, converted here and never inside a traced function.

The gravitational constant is astropy's (CODATA 2018), the value AGAMA, gala and galpy use:

    G = 4.300917270036279e-6 kpc (km/s)² / Msun = 4.498502151469554e-12 kpc³ / (Msun Myr²).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "G",
    "G_KMS",
    "KMS_TO_KPC_MYR",
    "KPC_MYR_TO_KMS",
    "KMS2_TO_KPC2_MYR2",
    "MASYR_KPC_TO_KMS",
    "H0_DEFAULT",
    "to_value",
]

#: Gravitational constant in kpc³ Msun⁻¹ Myr⁻² (astropy's G).
G: float = 4.498502151469554e-12
#: Gravitational constant in kpc (km/s)² Msun⁻¹.
G_KMS: float = 4.300917270036279e-6
#: One km/s expressed in kpc/Myr (astropy's conversion, Julian year and IAU parsec; DESIGN.md quotes
#: 1.0227121650537077e-3, which differs by 8e-12 and would make G and G_KMS inconsistent).
KMS_TO_KPC_MYR: float = 1.022712165045695e-3
#: One kpc/Myr expressed in km/s.
KPC_MYR_TO_KMS: float = 1.0 / KMS_TO_KPC_MYR
#: One (km/s)² expressed in kpc²/Myr² (a specific energy or potential).
KMS2_TO_KPC2_MYR2: float = KMS_TO_KPC_MYR**2
#: Proper motion × distance → tangential speed: v [km/s] = MASYR_KPC_TO_KMS · μ [mas/yr] · d [kpc].
#: Equal to 1 AU / 1 yr in km/s (4.740470463533348...).
MASYR_KPC_TO_KMS: float = 4.740470463533348
#: Hubble constant used for ρ_crit [km/s/Mpc]: 67.6, as in Brooks et al. and the reference values.
H0_DEFAULT: float = 67.6

_UNIT_NAMES = {
    "kpc": "kpc",
    "km/s": "km / s",
    "Myr": "Myr",
    "Msun": "solMass",
    "deg": "deg",
    "mas/yr": "mas / yr",
    "km/s/Myr": "km / (s Myr)",
    "(km/s)^2": "km2 / s2",
    "Msun/kpc^3": "solMass / kpc3",
}


def to_value(value, unit: str):
    """Strip an astropy Quantity to a plain array in ``unit``; pass anything else through.

    **Arguments:**

    - `value`: a number, array or `astropy.units.Quantity`.
    - `unit`: one of ``"kpc"``, ``"km/s"``, ``"Myr"``, ``"Msun"``, ``"deg"``, ``"mas/yr"``,
      ``"km/s/Myr"``, ``"(km/s)^2"``, ``"Msun/kpc^3"``.

    **Returns:** the value in ``unit`` (a NumPy array for a Quantity, the input otherwise).
    """
    if hasattr(value, "unit") and hasattr(value, "to_value"):
        import astropy.units as u

        return np.asarray(value.to_value(u.Unit(_UNIT_NAMES[unit])))
    return value
