"""Loading a saved observation model of any kind (:meth:`AbstractObservationModel.save`)."""

from __future__ import annotations

import json
import os

import jax.numpy as jnp
import numpy as np

from ._mocks import ErrorModel
from ._observe import _FORMAT_VERSION, AbstractObservationModel, CatalogueErrorModel, QualityCuts

__all__ = ["load_observation_model"]


def load_observation_model(path) -> AbstractObservationModel:
    """Load a model written by :meth:`AbstractObservationModel.save` (no pickle). Raises
    ``ValueError`` for an unknown kind or format version, or if the stored identifier does
    not match the loaded model."""
    path = os.fspath(path)
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["__meta__"]))
        arrays = {k: np.asarray(f[k]) for k in f.files if k != "__meta__"}
    if meta.get("format_version") != _FORMAT_VERSION:
        raise ValueError(
            f"load_observation_model: {path!r} has format version {meta.get('format_version')}; "
            f"this jaxgal reads version {_FORMAT_VERSION}"
        )
    cuts = QualityCuts(**meta["cuts"])
    kind, st = meta["kind"], meta["settings"]
    if kind == CatalogueErrorModel.kind:
        model = CatalogueErrorModel(
            **{k: jnp.asarray(v) for k, v in arrays.items()},
            regions=tuple(tuple(q) for q in st["regions"]),
            k_nearest=int(st["k_nearest"]),
            min_region_stars=int(st["min_region_stars"]),
            cuts=cuts,
            source=st["source"],
        )
    elif kind == ErrorModel.kind:
        model = ErrorModel(**st, cuts=cuts)
    else:
        raise ValueError(f"load_observation_model: unknown model kind {kind!r} in {path!r}")
    if "identifier" in meta and meta["identifier"] != model.identifier:
        raise ValueError(
            f"load_observation_model: {path!r} is corrupt or from an incompatible version: "
            f"stored identifier {meta['identifier']} != {model.identifier}"
        )
    return model
