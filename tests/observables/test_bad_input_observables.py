"""Careless inputs at the observables boundary raise a named error within a second
(never a silent result or a hang)."""

import os

import jax
import numpy as np
import pytest

import jaxgal as jg

O = jg.observables


@pytest.fixture(scope="module")
def table():
    return O.default_observation().catalogue.to_table()


def _written(tmp_path, tab, name="cat.ecsv"):
    path = os.fspath(tmp_path / name)
    tab.write(path)
    return path


def test_text_column_is_named(raises_quickly, table, tmp_path):
    tab = table.copy()
    tab["distance"] = tab["distance"].value.astype(str)
    path = _written(tmp_path, tab)
    raises_quickly(ValueError, lambda: O.read_catalogue(path), match="column 'distance' must hold numbers")


def test_missing_column_is_named(raises_quickly, table, tmp_path):
    tab = table.copy()
    tab.remove_column("pm_b")
    path = _written(tmp_path, tab)
    raises_quickly(KeyError, lambda: O.read_catalogue(path), match="pm_b")


def test_unusable_rows_raise_when_not_dropped(raises_quickly, table):
    tab = table.copy()
    tab["b"][0] = 120.0 * tab["b"].unit  # |b| > 90°: astropy refuses such a latitude too
    raises_quickly(ValueError, lambda: O.catalogue_from_table(tab, drop_invalid=False), match="unusable")
    with pytest.warns(UserWarning, match="1 of"):
        cat = O.catalogue_from_table(tab)
    assert len(cat) == len(tab) - 1


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(b=120.0), "'b'"), (dict(distance=-5.0), "'distance'"), (dict(pm_corr=1.5), "'pm_corr'"),
     (dict(v_los_err=-1.0), "'v_los_err'")],
)
def test_make_catalogue_names_the_bad_column(raises_quickly, kwargs, match):
    cols = dict(l=10.0, b=20.0, distance=50.0, v_los=0.0, pm_l_cosb=0.0, pm_b=0.0)
    cols.update(kwargs)
    raises_quickly(ValueError, lambda: O.make_catalogue(**cols), match=match)


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda: O.read_catalogue("/nonexistent/catalogue.ecsv"), FileNotFoundError, "no such file"),
        (lambda: O.summaries(np.zeros((100, 5))), ValueError, r"\(N, 6\)"),
        (lambda: O.fit_reflex(O.default_observation().catalogue, "quadratic"), ValueError, "constant' or 'linear"),
        (lambda: O.mock_catalogue(jax.random.PRNGKey(0), np.full((100, 6), 50.0), 0), ValueError, "n_stars"),
        (lambda: O.mock_catalogue(jax.random.PRNGKey(0), np.full((100, 6), 50.0), 2.5), ValueError, "n_stars"),
        (lambda: O.bootstrap_summaries(jax.random.PRNGKey(0), O.default_observation().catalogue, 0), ValueError, "n_boot"),
        (lambda: O.reflex_targets(jax.random.PRNGKey(0), np.full((100, 6), 50.0), r_range=(120, 40)), ValueError, "r_range"),
    ],
)
def test_bad_calls_raise_a_named_error(raises_quickly, call, err, match):
    O.default_observation()  # cached: its loading is not what is timed
    raises_quickly(err, call, match=match)


def test_too_few_stars_for_the_reflex_fit(raises_quickly, table):
    cat = O.catalogue_from_table(table[:3])
    raises_quickly(ValueError, lambda: O.fit_reflex(cat, "constant"), match="only 3 usable stars")
