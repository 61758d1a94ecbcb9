"""End to end on mock catalogues at θ not in the training suite (docs/inference.md, "End to end").

    python scripts/inference/e2e_mocks.py make [START]  # simulate + observe mocks START… (~1 min each here)
    python scripts/inference/e2e_mocks.py infer   # posteriors with the shipped estimator, table + figures

``make``: twelve θ drawn from the Table 1 prior, six with ``PRNGKey(E2E_SEED)`` and six with
``PRNGKey(E2E_SEED + 500)`` (the training suites use seeds 2026 and 2027), then log10 M200
spread over its prior and, for mock 0, M_LMC set near its lower bound (3×10¹⁰ Msun, prior
2.5×10¹⁰–5×10¹¹). Each is simulated (20,000 stars, key
``PRNGKey(E2E_SEED + 1 + i)``) and observed with ``selection_matched_mock`` against the
embedded observation's catalogue (same footprint, same errors: the catalogue the shipped
estimator was trained for). The truth of each target is recorded: log10 M200 and β0 from θ,
M_MW(<50) and M_LMC(<50) from ``simulate``'s derived quantities, and v_travel(100 kpc) and
(v_x, v_y, v_z) at 40/120 kpc from ``reflex_targets`` of the simulation's stars observed
through the same error model as the training suite (the quantity the estimator learned).
Written to ``docs/inference/e2e/mock_<i>.ecsv`` and ``truth.json``.

``infer``: the posterior of each mock with the shipped estimators (``jaxgal/data/npe`` and,
if present, ``jaxgal/data/npe_reflex``), conditioned on each mock's true LMC coordinates and
γ; writes ``docs/inference/e2e/results.json``, the markdown table ``results.md`` and
``figures/inference/e2e_intervals.png/.pdf``.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "docs", "inference", "e2e")
FIG = os.path.join(ROOT, "figures", "inference")
E2E_SEED = 31337
N_MOCKS = 12
LOG10_M200 = [11.3, 10.8, 11.6, 12.1, 12.35, 11.05]
LOG10_M200_2 = [10.6, 11.15, 11.45, 11.9, 12.2, 12.45]
EXTRA = ["ra_lmc", "dec_lmc", "d_lmc", "vlos_lmc", "pmra_lmc", "pmdec_lmc", "gamma"]


def _thetas() -> np.ndarray:
    """θ of the mocks (module docstring): two batches of six, the second drawn with another key."""
    import jax

    from jaxgal import simulation as S

    names = list(S.THETA_NAMES)
    batches = []
    for b, (seed, logm) in enumerate(((E2E_SEED, LOG10_M200), (E2E_SEED + 500, LOG10_M200_2))):
        th = np.array(S.sample_prior(jax.random.PRNGKey(seed), len(logm)))
        th[:, names.index("log10_m200")] = logm
        if b == 0:
            th[0, names.index("m_lmc")] = 3.0e10
        batches.append(th)
    return np.concatenate(batches)[:N_MOCKS]


def make(start: int = 0) -> None:
    """Simulate and observe mocks ``start``… (earlier ones are kept from ``truth.json``)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from jaxgal import observables as O
    from jaxgal import simulation as S

    obs = O.default_observation()
    model = O.CatalogueErrorModel.from_catalogue(obs.catalogue, source="jaxgal default observation (mock)")
    th = _thetas()
    names = list(S.THETA_NAMES)
    os.makedirs(OUT, exist_ok=True)
    truths = json.load(open(os.path.join(OUT, "truth.json")))["mocks"][:start] if start else []
    if len(truths) != start:
        raise SystemExit(f"truth.json holds {len(truths)} mocks; cannot start at {start}")
    for i in range(start, N_MOCKS):
        t0 = time.time()
        theta = dict(zip(names, th[i].tolist()))
        res = S.simulate(theta, jax.random.PRNGKey(E2E_SEED + 1 + i), 20_000)
        p = np.asarray(res.particles)
        k_mock, k_ref = jax.random.split(jax.random.PRNGKey(E2E_SEED + 100 + i))
        mock = O.selection_matched_mock(k_mock, p, obs.catalogue)
        O.write_catalogue(mock, os.path.join(OUT, f"mock_{i}.ecsv"), overwrite=True,
                          meta={"description": "selection-matched mock of the embedded observation (jaxgal)",
                                "theta": theta, "generator": "python scripts/inference/e2e_mocks.py make"})
        r = O.reflex_targets(k_ref, p, model).as_dict()
        d = {k: float(v) for k, v in res.derived.items()}
        truth = {"theta": theta, "derived": d, "reflex": {k: float(v) for k, v in r.items()},
                 "log10_m200": theta["log10_m200"], "beta0": theta["beta0"], "m_mw_50": d["m_mw_50"],
                 "m_lmc_50": d["m_lmc_50"], "v_travel_100": float(r["v_travel_100"])}
        truths.append(truth)
        print(f"[e2e] mock {i}: log10 M200 = {theta['log10_m200']:.2f}, M_LMC = {theta['m_lmc']:.3g}, "
              f"v_travel(100) = {truth['v_travel_100']:.1f} km/s ({time.time() - t0:.0f} s)", file=sys.stderr)
        with open(os.path.join(OUT, "truth.json"), "w") as fh:
            json.dump({"seed": E2E_SEED, "mocks": truths}, fh, indent=1)


def mock_posteriors(est, n: int = 10_000):
    """For each mock of ``truth.json``: ``(i, truth, catalogue, conditions, draws)``, the
    draws of `est`'s posterior (key ``key(100 + i)``) conditioned on the mock's own LMC
    coordinates and γ."""
    import jax

    from jaxgal import inference as inf
    from jaxgal import observables as O

    for i, t in enumerate(json.load(open(os.path.join(OUT, "truth.json")))["mocks"]):
        cat = O.read_catalogue(os.path.join(OUT, f"mock_{i}.ecsv"))
        cond = {k: t["theta"][k] for k in EXTRA}
        yield i, t, cat, cond, inf.posterior(jax.random.key(100 + i), cat, n, est, **cond)


def infer(n: int = 10_000) -> dict:
    import jax

    from jaxgal import inference as inf
    from jaxgal.inference._results import posterior_table

    est = inf.load_shipped_estimator()
    reflex_path = os.path.join(os.path.dirname(inf.shipped_estimator_path()), "npe_reflex")
    est_r = inf.load_npe(reflex_path) if os.path.exists(os.path.join(reflex_path, "metadata.json")) else None
    rows = []
    for i, t, cat, cond, draws in mock_posteriors(est, n):
        tab = posterior_table(draws, dict(t, m_lmc=t["theta"]["m_lmc"]))
        row = {"mock": i, "theta": t["theta"], "table": tab}
        if est_r is not None:
            dr = inf.posterior(jax.random.key(200 + i), cat, n, est_r, **cond)
            row["reflex_table"] = posterior_table(dr, {k: t["reflex"][k] for k in dr})
        rows.append(row)
    keys = ["m_mw_50", "m_lmc_50", "v_travel_100", "beta0", "log10_m200"]
    cover = {k: float(np.mean([r["table"][k]["in_68"] for r in rows])) for k in keys}
    res = {"n_draws": n, "mocks": rows, "coverage_68": cover, "n_mocks": len(rows),
           "estimator_n_train": est.metadata.get("n_train_used", est.info.n_train + est.info.n_val),
           "estimator_mocks_per_simulation": est.metadata.get("mocks_per_simulation"),
           "command": "python scripts/inference/e2e_mocks.py infer"}
    with open(os.path.join(OUT, "results.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    _markdown(rows, cover)
    _figure(rows)
    return res


def _fmt(r, scale, digits):
    return (f"{r['median'] / scale:.{digits}f} [{r['p16'] / scale:.{digits}f}, {r['p84'] / scale:.{digits}f}]"
            f" / {r['truth'] / scale:.{digits}f} {'✓' if r['in_68'] else '✗'}")


def _markdown(rows, cover) -> None:
    cols = [("m_mw_50", "M_MW(<50) [1e11 Msun]", 1e11, 2), ("m_lmc_50", "M_LMC(<50) [1e10 Msun]", 1e10, 1),
            ("v_travel_100", "v_travel(100) [km/s]", 1.0, 1), ("beta0", "β0", 1.0, 2)]
    lines = ["| mock | log10 M200 | M_LMC [1e10 Msun] | " + " | ".join(c[1] for c in cols) + " |",
             "|---:|---:|---:|" + "---:|" * len(cols)]
    for r in rows:
        th = r["theta"]
        lines.append(f"| {r['mock']} | {th['log10_m200']:.2f} | {th['m_lmc'] / 1e10:.1f} | "
                     + " | ".join(_fmt(r["table"][k], sc, dg) for k, _, sc, dg in cols) + " |")
    lines.append("| **in 68 %** | | | " + " | ".join(
        f"{int(round(cover[k] * len(rows)))}/{len(rows)}" for k, *_ in cols) + " |")
    text = ("Median [16th, 84th percentile] / truth, ✓ when the truth is inside the 68 % interval.\n\n"
            + "\n".join(lines) + "\n")
    open(os.path.join(OUT, "results.md"), "w").write(text)
    print(text)


def _figure(rows) -> None:
    from jaxgal.inference._plots import _figure as new_fig
    from jaxgal.inference._plots import save_figure

    keys = [("m_mw_50", "M_MW(<50 kpc) [1e11 Msun]", 1e11), ("m_lmc_50", "M_LMC(<50 kpc) [1e10 Msun]", 1e10),
            ("v_travel_100", "v_travel(100 kpc) [km/s]", 1.0), ("beta0", "β0", 1.0)]
    fig = new_fig((13, 3.4))
    for j, (k, lab, sc) in enumerate(keys):
        ax = fig.add_subplot(1, 4, j + 1)
        for i, r in enumerate(rows):
            t = r["table"][k]
            ax.errorbar([t["truth"] / sc], [t["median"] / sc],
                        yerr=[[(t["median"] - t["p16"]) / sc], [(t["p84"] - t["median"]) / sc]],
                        fmt="o", color="C0" if t["in_68"] else "C3", ms=4)
        lo = min(min(r["table"][k]["p16"], r["table"][k]["truth"]) for r in rows) / sc
        hi = max(max(r["table"][k]["p84"], r["table"][k]["truth"]) for r in rows) / sc
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8)
        ax.set(xlabel=f"truth: {lab}", ylabel="posterior median, 68 %")
    fig.suptitle("Shipped estimator on selection-matched mocks at θ outside the training suite "
                 "(blue: truth inside the 68 % interval)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, os.path.join(FIG, "e2e_intervals"))


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "infer"
    if what == "make":
        make(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    elif what == "infer":
        infer()
    else:
        raise SystemExit("usage: e2e_mocks.py make|infer")
