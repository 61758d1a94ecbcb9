"""Several NUTS chains with blackjax window adaptation, and their diagnostics.

Each chain runs Stan-style window adaptation (step size and diagonal mass matrix) followed
by ``n_samples`` NUTS draws, all inside one jit-compiled function ``vmap``-ed over chains.
R-hat (Gelman–Rubin, the formula of :func:`blackjax.diagnostics.potential_scale_reduction`, in
NumPy) and the effective sample size (:func:`blackjax.diagnostics.effective_sample_size`,
jit-compiled on all parameters stacked: one compilation per shape instead of an op-by-op
evaluation per parameter) are reported per parameter.
"""

from __future__ import annotations

import functools
import time
from typing import Callable, NamedTuple

import blackjax
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["NutsResult", "run_nuts"]


class NutsResult(NamedTuple):
    """Draws and diagnostics of :func:`run_nuts`.

    **Fields:** `samples` (pytree of (n_chains, n_samples, ...) arrays), `rhat` and `ess`
    (pytrees of per-parameter arrays), `accept` (n_chains,) mean acceptance, `divergences`
    (n_chains,) counts, `step_size` (n_chains,), `wall_time` [s] (warm-up + sampling
    of all chains, compilation included unless already cached), `n_chains`, `n_samples`,
    `logdensity` (n_chains, n_samples) the log density of each draw.
    """

    samples: object
    rhat: object
    ess: object
    accept: np.ndarray
    divergences: np.ndarray
    step_size: np.ndarray
    wall_time: float
    n_chains: int
    n_samples: int
    logdensity: np.ndarray | None = None

    def max_rhat(self) -> float:
        return float(max(np.max(np.asarray(r)) for r in jax.tree_util.tree_leaves(self.rhat)))

    def min_ess(self) -> float:
        return float(min(np.min(np.asarray(e)) for e in jax.tree_util.tree_leaves(self.ess)))

    def flat(self):
        """Samples with the chain and draw axes merged: (n_chains · n_samples, ...)."""
        return jax.tree_util.tree_map(lambda a: np.asarray(a).reshape((-1,) + a.shape[2:]), self.samples)


def _one_chain(logdensity, n_warmup, n_samples, target_accept, max_depth):
    def run(key, init, data):
        def logp(p):
            return logdensity(p, data)

        k_warm, k_samp = jax.random.split(key)
        adapt = blackjax.window_adaptation(blackjax.nuts, logp, target_acceptance_rate=target_accept,
                                           max_num_doublings=max_depth)
        (state, params), _ = adapt.run(k_warm, init, num_steps=n_warmup)
        kernel = blackjax.nuts(logp, **params)

        def step(state, k):
            state, info = kernel.step(k, state)
            return state, (state.position, state.logdensity, info.acceptance_rate, info.is_divergent)

        _, (pos, lp, acc, div) = jax.lax.scan(step, state, jax.random.split(k_samp, n_samples))
        return pos, lp, jnp.mean(acc), jnp.sum(div), params["step_size"]

    return run


@functools.lru_cache(maxsize=32)
def _compiled(logdensity, n_warmup, n_samples, target_accept, max_depth):
    """One jit-compiled multi-chain runner per (log density function, settings): data enter
    as arguments, so refits of same-shaped data reuse the compilation."""
    return jax.jit(jax.vmap(_one_chain(logdensity, n_warmup, n_samples, target_accept, max_depth),
                            in_axes=(0, 0, None)))


def run_nuts(
    key,
    logdensity: Callable,
    init_positions,
    n_warmup: int = 500,
    n_samples: int = 500,
    *,
    target_accept: float = 0.8,
    max_depth: int = 10,
    data=None,
) -> NutsResult:
    """Run ``n_chains`` NUTS chains (blackjax) with window adaptation.

    **Arguments:**

    - `key`: a ``jax.random`` key.
    - `logdensity`: log posterior ``logdensity(position, data)`` of one position (a pytree),
      jit-able; pass a module-level function so that its compilation is cached.
    - `init_positions`: pytree whose leaves have a leading chain axis (n_chains, ...): the
      dispersed starting points.
    - `n_warmup`, `n_samples`: adaptation steps and kept draws per chain.
    - `target_accept`, `max_depth`: NUTS target acceptance and maximum tree doublings.
    - `data`: pytree of arrays handed to ``logdensity`` (traced, not baked into the compilation).

    **Returns:** a :class:`NutsResult`.
    """
    leaves = jax.tree_util.tree_leaves(init_positions)
    if not leaves:
        raise ValueError("run_nuts: init_positions is empty")
    n_chains = int(leaves[0].shape[0])
    if n_warmup < 1 or n_samples < 4:
        raise ValueError(f"run_nuts: need n_warmup >= 1 and n_samples >= 4; got {n_warmup}, {n_samples}")
    run = _compiled(logdensity, int(n_warmup), int(n_samples), float(target_accept), int(max_depth))
    keys = jax.random.split(key, n_chains)
    t0 = time.perf_counter()
    pos, lp, acc, div, eps = run(keys, init_positions, data)
    pos = jax.block_until_ready(pos)
    wall = time.perf_counter() - t0
    rhat, ess = _diagnostics(pos, n_chains)
    return NutsResult(
        samples=jax.tree_util.tree_map(np.asarray, pos),
        rhat=rhat,
        ess=ess,
        accept=np.asarray(acc),
        divergences=np.asarray(div),
        step_size=np.asarray(eps),
        wall_time=wall,
        n_chains=n_chains,
        n_samples=int(n_samples),
        logdensity=np.asarray(lp),
    )


_ESS = jax.jit(blackjax.diagnostics.effective_sample_size)


def _potential_scale_reduction(x):
    """Gelman–Rubin R-hat of draws (n_chains, n_draws, P), in NumPy: the formula of
    :func:`blackjax.diagnostics.potential_scale_reduction` (test ``test_rhat_matches_blackjax``)."""
    n = x.shape[1]
    between = n * np.var(np.mean(x, axis=1), axis=0, ddof=1)
    within = np.mean(np.var(x, axis=1, ddof=1), axis=0)
    return np.sqrt((between / within + n - 1) / n)


def _diagnostics(pos, n_chains):
    """R-hat and ESS of every parameter, computed on all leaves stacked: pytrees like ``pos``."""
    leaves, tree = jax.tree_util.tree_flatten(pos)
    flat = [np.asarray(a).reshape(a.shape[:2] + (-1,)) for a in leaves]
    sizes = [f.shape[-1] for f in flat]
    stacked = jnp.asarray(np.concatenate(flat, axis=-1))
    ess = np.asarray(_ESS(stacked)).reshape(-1)
    rhat = _potential_scale_reduction(np.concatenate(flat, axis=-1)) if n_chains > 1 else np.full(ess.shape, np.nan)
    cuts = np.cumsum(sizes)[:-1]

    def unstack(v):
        return jax.tree_util.tree_unflatten(tree, [p.reshape(a.shape[2:]) for p, a in zip(np.split(v, cuts), leaves)])

    return unstack(rhat), unstack(ess)
