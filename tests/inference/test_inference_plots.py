"""The inference figures are written as PNG and PDF and show what they claim."""

import os

import jax
import numpy as np

import jaxgal.inference as inf


def _ok(paths):
    assert [os.path.splitext(p)[1] for p in paths] == [".png", ".pdf"]
    for p in paths:
        assert os.path.getsize(p) > 1000
        head = open(p, "rb").read(8)
        assert head.startswith(b"\x89PNG") or head.startswith(b"%PDF")


def test_corner_tarp_sbc_ppc_figures(tmp_path):
    rng = np.random.default_rng(0)
    draws = {"a": rng.normal(size=3000), "b": rng.normal(size=3000) * 2 + 1, "c": rng.uniform(size=3000)}
    other = {k: v + 0.3 for k, v in draws.items()}
    fig = inf.plot_corner([("one", draws), ("two", other)], truths={"a": 0.0, "b": 1.0, "c": 0.5},
                          path=str(tmp_path / "corner.png"))
    _ok([str(tmp_path / "corner.png"), str(tmp_path / "corner.pdf")])
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 6  # lower triangle of a 3 × 3 grid
    # TARP with its band, SBC histograms
    th = rng.normal(size=(200, 2))
    s = 0.5 * th[:, None, :] + np.sqrt(0.5) * rng.normal(size=(200, 100, 2))
    tr = inf.tarp_coverage(s, th, key=jax.random.key(0))
    fig = inf.plot_tarp(tr, path=str(tmp_path / "tarp"))
    _ok([str(tmp_path / "tarp.png"), str(tmp_path / "tarp.pdf")])
    assert "ATC" in fig.axes[0].texts[0].get_text()
    sb = inf.sbc_test(inf.sbc_ranks(s, th), 100, names=["a", "b"])
    fig = inf.plot_sbc(sb, path=str(tmp_path / "sbc"))
    _ok([str(tmp_path / "sbc.png"), str(tmp_path / "sbc.pdf")])
    assert fig.axes[0].get_title().startswith("a")
    # predictive check with one flagged summary per panel type
    names = ["vgsr_mean_Q1_r30-56", "vgsr_mean_Q1_r56-82", "vtb_sigma_r30-51.67", "vtb_sigma_r51.67-73.33"]
    pred = rng.normal(size=(300, 4)) * 10 + 50
    obs = np.array([50.0, 120.0, 52.0, 49.0])
    from jaxgal.inference._ppc import _summarise

    res = _summarise(names, obs, pred, 3.0)
    assert res.flagged_names == ("vgsr_mean_Q1_r56-82",)
    fig = inf.plot_ppc(res, path=str(tmp_path / "ppc"))
    _ok([str(tmp_path / "ppc.png"), str(tmp_path / "ppc.pdf")])
    assert len(fig.axes) == 2  # one panel per summary type
