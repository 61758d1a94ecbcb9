"""Classifier two-sample test (C2ST; Lopez-Paz & Oquab 2017), in JAX.

Two samples P = {a_i} and Q = {b_j} are pooled, labelled 0/1, z-scored with the pooled mean
and standard deviation, and a small multilayer perceptron (2 hidden layers of 10·d ReLU
units, as sbi's ``c2st``) is trained to tell them apart by minimising the logistic loss
with Adam. The statistic is the held-out classification accuracy averaged over k folds of
cross-validation: 0.5 when P = Q (no classifier can beat chance on unseen points), up to 1
when the samples are separable. The folds are trained together (``vmap``).

With n points per sample the accuracy of a chance-level classifier scatters by about
0.5/√(2n) (0.005 for n = 5,000), so an accuracy of 0.55 is a significant, if small,
difference; a classifier that does not converge only lowers the accuracy (towards 0.5), so
the test errs on the side of "indistinguishable" — check its power with a known
difference, as the tests do.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

__all__ = ["c2st"]


@eqx.filter_jit
def _make_models(keys, d: int, width: int):
    """One classifier per fold (jitted: eager construction costs a compilation per op)."""
    return eqx.filter_vmap(lambda k: eqx.nn.MLP(d, 1, width, 2, activation=jax.nn.relu, key=k))(keys)


def _loss(model, X, y):
    logits = jax.vmap(model)(X)[:, 0]
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, y))


@eqx.filter_jit
def _fit(models, X, y, tr_idx, key, n_epochs: int, batch_size: int, learning_rate: float):
    n_folds, n_tr = tr_idx.shape
    nb = n_tr // batch_size
    opt = optax.adam(learning_rate)
    params, static = eqx.partition(models, eqx.is_inexact_array)
    state = opt.init(params)

    def epoch(carry, k):
        params, state = carry
        keys = jr.split(k, n_folds)
        perm = jax.vmap(lambda kk, idx: idx[jr.permutation(kk, n_tr)])(keys, tr_idx)
        batches = perm[:, : nb * batch_size].reshape(n_folds, nb, batch_size).transpose(1, 0, 2)

        def step(c, bidx):
            p, s = c

            def fold_loss(pf, bi):
                return _loss(eqx.combine(pf, static), X[bi], y[bi])

            g = eqx.filter_vmap(eqx.filter_grad(fold_loss))(p, bidx)
            upd, s = opt.update(g, s, p)
            return (eqx.apply_updates(p, upd), s), None

        (params, state), _ = jax.lax.scan(step, (params, state), batches)
        return (params, state), None

    (params, state), _ = jax.lax.scan(epoch, (params, state), jr.split(key, n_epochs))
    return eqx.combine(params, static)


@eqx.filter_jit
def _accuracy(models, X, y, te_idx):
    def acc(m, idx):
        logits = jax.vmap(m)(X[idx])[:, 0]
        return jnp.mean(((logits > 0) == (y[idx] > 0.5)).astype(X.dtype))

    return eqx.filter_vmap(acc)(models, te_idx)


def c2st(
    key,
    a,
    b,
    *,
    n_folds: int = 5,
    hidden: int | None = None,
    n_epochs: int = 20,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
) -> float:
    """Held-out accuracy of a classifier trained to separate samples `a` and `b` (module
    docstring).

    **Arguments:**

    - `key`: a ``jax.random`` key (folds, initialisation, batches).
    - `a`, `b`: (n, d) and (m, d) samples (a 1-D array is one dimension); the larger is
      truncated to the size of the smaller so that chance is 0.5.
    - `n_folds`: folds of cross-validation (5).
    - `hidden`: width of the two hidden layers (default 10·d).
    - `n_epochs`, `batch_size`, `learning_rate`: Adam training settings.

    **Returns:** the mean held-out accuracy over the folds, in [0, 1].
    """
    from ._npe import _typed_key

    key = _typed_key(key)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a = a[:, None] if a.ndim == 1 else a
    b = b[:, None] if b.ndim == 1 else b
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"c2st: a and b must be (n, d) and (m, d) with the same d; got {a.shape}, {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("c2st: samples must be finite")
    n = min(a.shape[0], b.shape[0])
    if n < 10 * n_folds:
        raise ValueError(f"c2st: need at least {10 * n_folds} points per sample; got {n}")
    d = a.shape[1]
    X = np.concatenate([a[:n], b[:n]])
    y = np.concatenate([np.zeros(n), np.ones(n)])
    mu, sd = X.mean(0), X.std(0)
    X = (X - mu) / np.where(sd > 0, sd, 1.0)
    k_perm, k_init, k_fit = jr.split(key, 3)
    N = (2 * n // n_folds) * n_folds
    perm = np.asarray(jr.permutation(k_perm, 2 * n))[:N]
    folds = perm.reshape(n_folds, N // n_folds)
    te_idx = folds
    tr_idx = np.stack([np.concatenate([folds[g] for g in range(n_folds) if g != f]) for f in range(n_folds)])
    width = int(hidden) if hidden else 10 * d
    models = _make_models(jr.split(k_init, n_folds), d, width)
    bs = int(min(batch_size, tr_idx.shape[1]))
    models = _fit(models, jnp.asarray(X), jnp.asarray(y), jnp.asarray(tr_idx), k_fit, int(n_epochs), bs,
                  float(learning_rate))
    acc = _accuracy(models, jnp.asarray(X), jnp.asarray(y), jnp.asarray(te_idx))
    return float(np.mean(np.asarray(acc)))
