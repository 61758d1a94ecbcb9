"""Careless inputs at the streams boundary raise a named error within a second."""

import jax
import numpy as np
import pytest
from astropy.table import Table

import jaxgal as jg

S = jg.streams


def test_missing_columns_are_named(raises_quickly):
    raises_quickly(ValueError, lambda: S.read_stream(Table({"phi1": [1.0, 2.0]})), match="missing column")


def test_text_column_is_named(raises_quickly):
    cols = {c: np.zeros(3) for c in ("phi1", "phi2", "distance", "pm_phi1_cosphi2", "pm_phi2", "radial_velocity")}
    cols.update({f"{c}_err": np.ones(3) for c in list(cols)[1:]})
    cols["phi2"] = np.array(["a", "b", "c"])
    raises_quickly((ValueError, TypeError), lambda: S.read_stream(Table(cols)), match="phi2")


def test_knot_count_below_three(raises_quickly):
    data = S.read_stream(Table({
        **{c: np.linspace(-60, -20, 30) if c == "phi1" else np.zeros(30)
           for c in ("phi1", "phi2", "distance", "pm_phi1_cosphi2", "pm_phi2", "radial_velocity")},
        **{f"{c}_err": np.ones(30) for c in ("phi2", "distance", "pm_phi1_cosphi2", "pm_phi2", "radial_velocity")},
    }))
    raises_quickly(ValueError, lambda: S.fit_track(jax.random.PRNGKey(0), data, n_knots=(1,)), match="knot count", limit=3.0)
