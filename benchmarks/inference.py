"""Neural posterior estimation benchmark: jaxgal's flowjax MAF ensembles beside sbi's NPE (MAF).

    python benchmarks/inference.py [--sizes 1000,4000,16000] [--json out.json] [--no-sbi]
                                   [--members 2] [--quick]

**Problem** (the shape of the paper's: 12 targets, 59 inputs = 52 summaries + 6 LMC
coordinates + γ). θ ~ U(−1, 1)¹² (a prior box); x = tanh(θ W₁ + b₁) W₂ + 0.1 ε with fixed
seeded W₁ (12 × 32), b₁, W₂ (32 × 59) and ε ~ N(0, I₅₉): a smooth non-linear simulator.
For each training size n: n training pairs, 1,000 held-out pairs (the same for every
estimator).

**Estimators** (each trained with batch 200, Adam 5e-4, 10 % validation, 20 epochs of
patience, gradient clipping at 5):

- ``jaxgal``: ``train_npe`` default (5 MAF transforms × 50 tanh units, 1 hidden layer),
  float64;
- ``jaxgal f32``: the same in float32;
- ``jaxgal depth3``: 3 hidden layers per MADE, the architecture of sbi's ``maf`` (nflows
  MADE with an initial layer and ``num_blocks = 2`` hidden blocks, tanh);
- ``sbi``: ``sbi.inference.NPE`` with ``posterior_nn("maf", hidden_features=50,
  num_transforms=5)`` (CPU torch), if ``import sbi`` works; else the script prints that the
  peer was skipped.

**Accuracy** (``--accuracy``, no peer): the linear Gaussian problem of the tests
(θ ~ N(0, I₅), x = Aθ + ε, ε ~ N(0, I₆), A = 0.7 × a seeded normal 6 × 5 matrix; exact
Gaussian posterior), 5 flows trained on 10,000 draws; at 20 observations from the prior
predictive, sorted by their χ² p-value under it (1 = the centre, → 0 the tails): the C2ST
accuracy against 10,000 exact draws, the largest |Δmean|/σ and |σ_q/σ − 1| over the 5
parameters. It shows where NPE's accuracy holds and how it degrades where the training set is
sparse. ``--npe-config '{"nn_activation": "relu"}'`` (any ``NPEConfig`` settings) repeats it
for another configuration.

**Measured, in one run:** wall seconds per ensemble member (jaxgal: ``--members`` members,
the first including compilation, reported apart; sbi: one network), epochs and seconds per
epoch, the held-out mean log-likelihood log q(θ | x) per pair (higher is better; the
estimators' densities are not renormalised for the box, so the numbers compare), and
posterior draws per second: 10,000 draws for one observation and 1,000 draws for each of 100
observations (warm calls, minimum of 2). Ratios are jaxgal/sbi wall times (below 1: jaxgal
faster) and draws-per-second sbi/jaxgal. The load average is printed with the results: on a
shared machine the times are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000,4000,16000", help="training sizes (comma-separated)")
    p.add_argument("--members", type=int, default=2, help="jaxgal ensemble members per size (>= 2: warm timing)")
    p.add_argument("--json", default=None, help="write the records to this JSON file")
    p.add_argument("--no-sbi", action="store_true", help="skip the sbi peer")
    p.add_argument("--no-variants", action="store_true", help="only the default jaxgal estimator")
    p.add_argument("--quick", action="store_true", help="sizes 1000,4000, one variant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--accuracy", action="store_true",
                   help="instead: the linear Gaussian accuracy table (10,000 draws, 5 flows, 20 observations)")
    p.add_argument("--npe-config", default="{}",
                   help='JSON of NPEConfig settings for --accuracy, e.g. \'{"nn_activation": "relu"}\'')
    return p.parse_args()


ARGS = _parse()

import jax  # noqa: E402
import numpy as np  # noqa: E402

import jaxgal.inference as inf  # noqa: E402

D, K, H = 12, 59, 32


def problem(n, seed):
    rng = np.random.default_rng(1234)
    W1, b1, W2 = rng.normal(size=(D, H)), rng.normal(size=H) * 0.5, rng.normal(size=(H, K)) / np.sqrt(H)
    r = np.random.default_rng(seed)
    theta = r.uniform(-1, 1, size=(n, D))
    x = np.tanh(theta @ W1 + b1) @ W2 + 0.1 * r.normal(size=(n, K))
    return theta, x


def load():
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover
        return (float("nan"),) * 3


def best_of(f, repeats=2):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        out.append(time.perf_counter() - t0)
    return min(out)


def bench_jaxgal(label, theta, x, th_test, x_test, **cfg_kw):
    cfg = inf.NPEConfig(show_progress=False, **cfg_kw)
    t0 = time.perf_counter()
    est = inf.train_npe(jax.random.key(ARGS.seed), theta, x, ARGS.members, config=cfg)
    total = time.perf_counter() - t0
    h = est.history
    warm = [m.seconds for m in h[1:]] or [h[0].seconds]
    epochs = [m.n_epochs for m in h]
    ll = float(np.mean(np.asarray(est.log_prob(th_test, x_test))))
    box = np.asarray(est.sample(jax.random.key(5), x_test[:20], 500))
    inside = float(np.mean(np.all(np.abs(box) <= 1.0, axis=-1)))
    est.sample(jax.random.key(1), x_test[0], 10_000)  # warm up
    t_one = best_of(lambda: np.asarray(est.sample(jax.random.key(2), x_test[0], 10_000)))
    est.sample(jax.random.key(3), x_test[:100], 1000)
    t_batch = best_of(lambda: np.asarray(est.sample(jax.random.key(4), x_test[:100], 1000)))
    return {
        "estimator": label, "n_train": int(theta.shape[0]), "members": ARGS.members,
        "s_per_member": float(np.mean(warm)), "s_first_member_incl_compile": float(h[0].seconds),
        "s_total": total, "epochs": epochs, "s_per_epoch": float(np.mean(warm) / np.mean(epochs[1:] or epochs)),
        "heldout_loglik": ll, "draws_per_s_one_obs": 10_000 / t_one, "draws_per_s_100_obs": 100_000 / t_batch,
        "fraction_in_prior_box": inside,
    }


def bench_sbi(theta, x, th_test, x_test):
    import torch
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn
    from sbi.utils import BoxUniform

    torch.manual_seed(ARGS.seed)
    prior = BoxUniform(-torch.ones(D), torch.ones(D))
    net = posterior_nn("maf", hidden_features=50, num_transforms=5)
    npe = NPE(prior=prior, density_estimator=net, show_progress_bars=False)
    th_t, x_t = torch.as_tensor(theta, dtype=torch.float32), torch.as_tensor(x, dtype=torch.float32)
    torch.set_grad_enabled(True)
    t0 = time.perf_counter()
    de = npe.append_simulations(th_t, x_t).train(training_batch_size=200, learning_rate=5e-4,
                                                 validation_fraction=0.1, stop_after_epochs=20)
    wall = time.perf_counter() - t0
    epochs = int(npe.summary["epochs_trained"][-1])
    post = npe.build_posterior(de)
    torch.set_grad_enabled(False)  # sampling and evaluation only from here
    with torch.no_grad():
        lp = de.log_prob(torch.as_tensor(th_test, dtype=torch.float32)[None],
                         condition=torch.as_tensor(x_test, dtype=torch.float32))
    xo = torch.as_tensor(x_test[0], dtype=torch.float32)
    kw = dict(show_progress_bars=False, reject_outside_prior=False)
    post.sample((10_000,), x=xo, **kw)
    t_one = best_of(lambda: post.sample((10_000,), x=xo, **kw))
    xb = torch.as_tensor(x_test[:100], dtype=torch.float32)
    post.sample_batched((1000,), x=xb, **kw)
    t_batch = best_of(lambda: post.sample_batched((1000,), x=xb, **kw))
    box = post.sample_batched((500,), x=xb[:20], **kw).detach().numpy()
    inside = float(np.mean(np.all(np.abs(box) <= 1.0, axis=-1)))
    return {
        "estimator": "sbi", "n_train": int(theta.shape[0]), "members": 1, "s_per_member": wall,
        "s_first_member_incl_compile": wall, "s_total": wall, "epochs": [epochs], "s_per_epoch": wall / epochs,
        "heldout_loglik": float(lp.mean()), "draws_per_s_one_obs": 10_000 / t_one,
        "draws_per_s_100_obs": 100_000 / t_batch, "torch_threads": torch.get_num_threads(),
        "fraction_in_prior_box": inside,
    }


def accuracy_table():
    from scipy import stats

    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 5)) * 0.7
    r = np.random.default_rng(1)
    theta = r.normal(size=(10_000, 5))
    x = theta @ A.T + r.normal(size=(10_000, 6))
    t0 = time.perf_counter()
    settings = json.loads(ARGS.npe_config)
    est = inf.train_npe(jax.random.key(0), theta, x, 5, config=inf.NPEConfig(show_progress=False, **settings))
    print(f"trained 5 flows on 10,000 draws in {time.perf_counter() - t0:.1f} s (load {load()}); settings {settings}",
          flush=True)
    r = np.random.default_rng(55)
    th_o = r.normal(size=(20, 5))
    xs = th_o @ A.T + r.normal(size=(20, 6))
    C = A @ A.T + np.eye(6)
    pval = stats.chi2.sf(np.einsum("ij,jk,ik->i", xs, np.linalg.inv(C), xs), 6)
    cov = np.linalg.inv(np.eye(5) + A.T @ A)
    sd = np.sqrt(np.diag(cov))
    print("| p-value | C2ST | max abs(Δmean)/σ | max abs(σ_q/σ − 1) |")
    print("|---:|---:|---:|---:|")
    rows = []
    for i in np.argsort(-pval):
        mu = cov @ A.T @ xs[i]
        s = np.asarray(est.sample(jax.random.key(100 + i), xs[i], 10_000))
        ex = np.random.default_rng(200 + i).multivariate_normal(mu, cov, size=10_000)
        acc = inf.c2st(jax.random.key(300 + i), s, ex)
        dm = float(np.max(np.abs(s.mean(0) - mu) / sd))
        dw = float(np.max(np.abs(s.std(0) / sd - 1)))
        rows.append({"p": float(pval[i]), "c2st": acc, "dmean": dm, "dwidth": dw})
        print(f"| {pval[i]:.3f} | {acc:.3f} | {dm:.3f} | {dw:.3f} |", flush=True)
    if ARGS.json:
        with open(ARGS.json, "w") as fh:
            json.dump(rows, fh, indent=1)


def main():
    if ARGS.accuracy:
        return accuracy_table()
    sizes = [1000, 4000] if ARGS.quick else [int(s) for s in ARGS.sizes.split(",")]
    variants = [("jaxgal", {})]
    if not (ARGS.quick or ARGS.no_variants):
        variants += [("jaxgal f32", {"dtype": "float32"}), ("jaxgal depth3", {"nn_depth": 3})]
    have_sbi = False
    if not ARGS.no_sbi:
        try:
            import sbi  # noqa: F401

            have_sbi = True
        except Exception as e:  # pragma: no cover - depends on the machine
            print(f"sbi peer skipped: import sbi failed ({type(e).__name__}: {e})")
    else:
        print("sbi peer skipped (--no-sbi)")
    th_test, x_test = problem(1000, 999)
    records = []
    print(f"load average at start: {load()}; {os.cpu_count()} CPUs; jax {jax.__version__}", flush=True)
    for n in sizes:
        theta, x = problem(n, ARGS.seed + n)
        for label, kw in variants:
            r = bench_jaxgal(label, theta, x, th_test, x_test, **kw)
            r["load"] = load()
            records.append(r)
            print(json.dumps(r), flush=True)
        if have_sbi:
            r = bench_sbi(theta, x, th_test, x_test)
            r["load"] = load()
            records.append(r)
            print(json.dumps(r), flush=True)
    print()
    print("| n | estimator | s/member | first member (compile) | epochs | s/epoch | held-out log q | draws/s (1 obs) | "
          "draws/s (100 obs) | in box | time ratio vs sbi |")
    print("|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in records:
        peer = next((q for q in records if q["estimator"] == "sbi" and q["n_train"] == r["n_train"]), None)
        ratio = f"{r['s_per_member'] / peer['s_per_member']:.2f}" if peer and r is not peer else "—"
        print(f"| {r['n_train']} | {r['estimator']} | {r['s_per_member']:.1f} | {r['s_first_member_incl_compile']:.1f} | "
              f"{','.join(map(str, r['epochs']))} | {r['s_per_epoch']:.3f} | {r['heldout_loglik']:.3f} | "
              f"{r['draws_per_s_one_obs']:.3g} | {r['draws_per_s_100_obs']:.3g} | {r['fraction_in_prior_box']:.2f} | "
              f"{ratio} |")
    print(f"\nload average at end: {load()} (1, 5, 15 min) — on a shared machine the times are upper bounds")
    if ARGS.json:
        with open(ARGS.json, "w") as fh:
            json.dump(records, fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
