"""Stream-track accelerations (SPEC §F; Nibauer et al. GD-1 paper).

- ``_data.py``: :func:`read_stream` (member catalogues → GD-1 frame, :class:`StreamData`),
  the packaged GD-1-I21 track (:func:`load_gd1_track`) and pseudo-members about it;
- ``_mock.py``: particle-spray mock streams (Fardal et al. 2015 offsets) and observational errors;
- ``_track.py``: natural-cubic-spline track model and its NUTS fit, :func:`fit_track`;
- ``_nuts.py``: several blackjax NUTS chains with window adaptation, R-hat and ESS;
- ``_accelerations.py``: :func:`accelerations` from the track, enclosed mass, flattening, bands;
- ``_models.py``: the McMillan-like comparison preset and the halo models of the fits;
- ``_halo.py``: NUTS fits of the accelerations with flattened and tilted triaxial NFW haloes;
- ``_plotting.py``: the figures; ``cli.py``: ``jaxgal stream fit CONFIG.toml``.
"""

from ._accelerations import (
    accelerations,
    bands,
    cylindrical,
    cylindrical_positions,
    enclosed_mass,
    potential_flattening,
    preset_accelerations,
    track_phase_space,
)
from ._data import (
    COMPONENTS,
    GD1_TRACK_SCATTER,
    GD1_TRACKS,
    DistanceTrack,
    StreamData,
    concatenate,
    gd1_distance_track,
    gd1_track_members,
    load_bonaca2020_members,
    load_gd1_track,
    read_stream,
)
from ._halo import HALO_MODELS, AccelerationData, HaloFit, acceleration_data, find_modes, fit_halo
from ._mock import gd1_progenitor, observe_stream, spray_stream
from ._models import flattened_halo_model, mcmillan_like, triaxial_halo_model
from ._nuts import NutsResult, run_nuts
from ._plotting import plot_accelerations, plot_corner, plot_track
from ._track import (
    N22_COMPONENTS,
    PAPER_COMPONENTS,
    TRACK_MODELS,
    ComponentSpec,
    TrackFit,
    TrackPosterior,
    fit_track,
    intrinsic_scatter,
    spline_basis,
    stream_direction,
)

__all__ = [
    "AccelerationData",
    "COMPONENTS",
    "ComponentSpec",
    "DistanceTrack",
    "GD1_TRACKS",
    "GD1_TRACK_SCATTER",
    "N22_COMPONENTS",
    "PAPER_COMPONENTS",
    "TRACK_MODELS",
    "HALO_MODELS",
    "HaloFit",
    "NutsResult",
    "StreamData",
    "TrackFit",
    "TrackPosterior",
    "acceleration_data",
    "accelerations",
    "bands",
    "concatenate",
    "cylindrical",
    "cylindrical_positions",
    "enclosed_mass",
    "find_modes",
    "fit_halo",
    "fit_track",
    "flattened_halo_model",
    "gd1_distance_track",
    "gd1_progenitor",
    "gd1_track_members",
    "intrinsic_scatter",
    "load_bonaca2020_members",
    "load_gd1_track",
    "mcmillan_like",
    "observe_stream",
    "plot_accelerations",
    "plot_corner",
    "plot_track",
    "potential_flattening",
    "preset_accelerations",
    "read_stream",
    "run_nuts",
    "spline_basis",
    "spray_stream",
    "stream_direction",
    "track_phase_space",
    "triaxial_halo_model",
]
