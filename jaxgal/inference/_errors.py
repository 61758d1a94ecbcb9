"""Named errors of the inference layer (each a ``ValueError`` subclass, so a caller that
catches ``ValueError`` at a boundary still catches them)."""

from __future__ import annotations

__all__ = [
    "NPEError",
    "EstimatorVersionError",
    "EstimatorFileError",
    "InputMismatchError",
    "MissingInputError",
    "LeakageError",
    "TooFewStarsError",
    "CatalogueColumnsError",
]


class NPEError(ValueError):
    """Base class of the neural-posterior-estimation errors below."""


class EstimatorVersionError(NPEError):
    """A saved estimator was written in another file-format version than this jaxgal reads."""


class EstimatorFileError(NPEError):
    """A saved estimator's weights do not match its metadata (wrong, truncated or altered
    weights file, or metadata missing a required key)."""


class InputMismatchError(NPEError):
    """Inputs given to an estimator do not match the inputs it was trained on (wrong number,
    wrong names or wrong order)."""


class MissingInputError(NPEError):
    """An input is missing (NaN) that the estimator never saw missing during training, so it
    cannot marginalise over it; retrain without that input (``train_npe(..., drop=[...])``)
    or with training rows in which it is missing."""


class LeakageError(NPEError):
    """Rejection sampling inside the target bounds accepted too few draws: the posterior
    estimate puts almost all of its mass outside the bounds (the observation is far outside
    the training set, or the bounds are wrong)."""


class TooFewStarsError(MissingInputError):
    """The catalogue has fewer stars than the summaries' minimum (5) in a distance bin whose
    summary the estimator needs and never saw missing in training; the message lists the
    bins and their star counts."""


class CatalogueColumnsError(NPEError, KeyError):
    """The catalogue given to :func:`jaxgal.inference.posterior` lacks columns the summaries
    need (positions, distances, velocities, proper motions and their errors); the message
    names them. Also a ``KeyError``, as :func:`jaxgal.observables.read_catalogue` raises."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
