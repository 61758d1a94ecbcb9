"""Stream-track accelerations (Nibauer et al. 2022; Nibauer & Bonaca 2025, arXiv:2504.07187;
``docs/streams.md``).

- ``_data.py``: :func:`read_stream` (member catalogues → GD-1 frame, :class:`StreamData`),
  the galstreams GD-1 tracks (:func:`load_gd1_track`), the Bonaca et al. (2020) members,
  distance tracks (:class:`DistanceTrack`) and pseudo-members;
- ``_mock.py``: particle-spray mock streams (Fardal et al. 2015 offsets) and observational errors;
- ``_track.py``: the spline track models (the paper's φ2, v_GSR, |v| + distance track; the
  previous five-observable one) and their NUTS fit, :func:`fit_track`;
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
from ._halo import (
    HALO_MODELS,
    AccelerationData,
    HaloFit,
    acceleration_data,
    find_modes,
    fit_halo,
    shape_features,
)
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
    "shape_features",
    "spline_basis",
    "spray_stream",
    "stream_direction",
    "track_phase_space",
    "triaxial_halo_model",
]
