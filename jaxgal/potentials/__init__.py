"""Pure-JAX gravitational potentials as equinox Modules.

Every potential implements Φ(x, t) for one position (internal units: kpc, Myr, Msun) and
inherits vectorised ``potential`` [(km/s)²], ``acceleration`` [km/s/Myr], ``hessian``,
``density`` [Msun/kpc³], ``circular_velocity`` [km/s] and ``mass_enclosed`` [Msun] for
positions of any batch shape (..., 3) in kpc. Parameters are differentiable leaves.
"""

from ._base import AbstractPotential, AbstractSphericalPotential, CompositePotential
from ._disc import FittedExponentialDisc, MiyamotoNagai, MN3ExponentialDisc
from ._expdisc import ExponentialDisc
from ._ellipsoidal import FlattenedNFW, TriaxialNFW, rotation_matrix_pitch_yaw_roll
from ._moving import TranslatingPotential
from ._presets import DISC_MODELS, MilkyWayPotential2022, MWPotential2014, lmc, lmc_scale_radius, milky_way, solve_c200
from ._spherical import NFW, Hernquist, Plummer, PowerLawCutoff, r200_from_m200, rho_crit
from ._tabulated import TabulatedSphericalPotential, tabulate_spherical

__all__ = [
    "AbstractPotential",
    "AbstractSphericalPotential",
    "CompositePotential",
    "DISC_MODELS",
    "ExponentialDisc",
    "FittedExponentialDisc",
    "FlattenedNFW",
    "Hernquist",
    "MiyamotoNagai",
    "MN3ExponentialDisc",
    "MilkyWayPotential2022",
    "MWPotential2014",
    "NFW",
    "Plummer",
    "PowerLawCutoff",
    "TabulatedSphericalPotential",
    "TranslatingPotential",
    "TriaxialNFW",
    "lmc",
    "lmc_scale_radius",
    "milky_way",
    "r200_from_m200",
    "rho_crit",
    "rotation_matrix_pitch_yaw_roll",
    "solve_c200",
    "tabulate_spherical",
]
