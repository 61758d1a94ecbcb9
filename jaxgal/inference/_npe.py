"""Neural posterior estimation (NPE) with an ensemble of conditional masked autoregressive
flows (flowjax), trained by maximum likelihood with optax (docs/inference.md).

**The estimate.** Given training pairs (θ_i, x_i) drawn from the prior and the simulator,
each ensemble member q_k(θ | x) is a conditional masked autoregressive flow (MAF,
Papamakarios, Pavlakou & Murray 2017) fitted by minimising −(1/n) Σ_i log q_k(θ_i | x_i),
whose minimiser over a rich enough family is the posterior p(θ | x) (Papamakarios & Murray
2016; Greenberg et al. 2019). The estimator is the mixture

    q(θ | x) = Σ_k w_k q_k(θ | x),    Σ_k w_k = 1.

**Mixture weights** (``NPEConfig.weighting``): ``"validation"`` (default) sets
w_k ∝ exp(ℓ_k), ℓ_k the *mean* validation log-likelihood per example of member k at its
best epoch (on its own validation split, or on one shared by all members with
``split="shared"``) — the weighting of ltu-ili's ensembles (Ho et al. 2024). Members that trained equally well (|Δℓ| ≲ 0.05 nats) get
near-equal weights, so the mixture still averages over network weights (the epistemic
part the paper's ensembles are for); a member that failed (Δℓ of several nats) gets a
weight of e^−Δℓ and drops out. Using the *summed* validation log-likelihood instead would
be Bayesian model averaging over n_val points and collapse onto one member, which is why
the mean is used. ``"equal"`` sets w_k = 1/K (sbi's ``NeuralPosteriorEnsemble`` default).

**Standardisation.** Targets are first mapped by a per-target transform u = T(θ)
(``"identity"``, ``"log10"``, ``"log"``, or ``"logit"`` on given bounds (lo, hi):
u = log((θ − lo)/(hi − θ))), then z-scored with the training mean and standard deviation;
the flow models z, and

    log q(θ | x) = log q_z(z | x̃) + Σ_j [log |dT_j/dθ_j| − log s_j].

Inputs are z-scored, x̃ = (x − m_x)/s_x (means and standard deviations over the rows in
which the input is present).

**Missing inputs.** A missing input is NaN. Every input that is NaN in at least one training
row gets an indicator feature (1 = missing) appended to the conditioning vector, and its
NaN values become 0 after standardisation (the mean of the rows where it is present); the
flow then learns p(θ | the inputs present), the posterior marginalised over the missing
one. At inference a NaN in such an input is treated the same way; a NaN in an input that
was never missing in training raises :class:`MissingInputError` naming it.

**Bounded targets.** Two options, per target: a ``"logit"`` transform on (lo, hi), so that
every draw lies inside and the density is exact; or ``bounds`` alone, in which case draws
outside [lo, hi] are rejected and redrawn (the truncated mixture) and ``log_prob``
is renormalised by the accepted fraction P(θ ∈ box | x), estimated from
``NPEConfig.n_leakage`` draws with a fixed key (sbi's "leakage correction"). A draw
acceptance below ``min_acceptance`` raises :class:`LeakageError`.

**Storage** (:meth:`NPEEstimator.save`, :func:`load_npe`): a folder with ``flows.eqx``
(``equinox.tree_serialise_leaves`` of the stacked flows, no pickle) and
``metadata.json`` (format name and version, jaxgal version, configuration, names of the
targets and inputs, transforms and standardisation, missing-input indicators, ensemble
weights, training history, the SHA-256 of ``flows.eqx``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import time
from collections.abc import Mapping, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import paramax
from flowjax.distributions import StandardNormal
from flowjax.flows import masked_autoregressive_flow
from jaxtyping import Array, Float

from ._errors import (
    EstimatorFileError,
    EstimatorVersionError,
    InputMismatchError,
    LeakageError,
    MissingInputError,
)

__all__ = [
    "FORMAT_VERSION",
    "NPEConfig",
    "NPEEstimator",
    "MemberHistory",
    "train_npe",
    "load_npe",
    "TRANSFORMS",
    "read_metadata",
    "ensemble_log_weights",
]

#: Version of the saved-estimator format this jaxgal writes and reads.
FORMAT_VERSION = 1
_FORMAT_NAME = "jaxgal-npe"
_WEIGHTS_FILE = "flows.eqx"
_META_FILE = "metadata.json"

#: Per-target transforms applied before standardising (name -> code).
TRANSFORMS: dict[str, int] = {"identity": 0, "log10": 1, "log": 2, "logit": 3}
_LOG_LN10 = math.log(math.log(10.0))  # log|d log10(θ)/dθ| = −log θ − log ln 10


# ---------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------


def _freeze_mapping(m, what: str) -> tuple:
    if m is None:
        return ()
    if isinstance(m, Mapping):
        items = m.items()
    else:
        items = tuple(m)
    out = []
    for item in items:
        if len(item) != 2:
            raise ValueError(f"NPEConfig.{what}: expected name -> value pairs; got {item!r}")
        k, v = item
        if isinstance(v, (list, tuple)):
            v = tuple(float(a) for a in v)
        out.append((str(k), v))
    return tuple(sorted(out))


@dataclasses.dataclass(frozen=True)
class NPEConfig:
    """Flow architecture, training and sampling settings of :func:`train_npe`.

    **Arguments:**

    - `flow_layers`: number of MAF transforms (5, as in Brooks et al.).
    - `nn_width`: hidden units of each autoregressive network (50).
    - `nn_depth`: hidden layers of each autoregressive network (1).
    - `nn_activation`: ``"tanh"`` (default; the activation of sbi's MAF, which the paper
      used), ``"relu"`` (flowjax's default) or ``"gelu"``. On the linear Gaussian test
      problem (docs/inference.md) tanh halves the worst posterior-mean error of relu.
    - `learning_rate`: Adam learning rate (5e-4, sbi's default).
    - `batch_size`: training batch size (200, sbi's default).
    - `val_fraction`: fraction of rows held out for validation and early stopping (0.1).
    - `patience`: stop after this many epochs without a better validation loss (20, sbi's
      ``stop_after_epochs``); the weights of the best epoch are kept.
    - `max_epochs`: upper limit on epochs per member (1000).
    - `clip_norm`: global gradient-norm clipping (5.0, sbi's default).
    - `lr_reductions`: when the validation loss has not improved for `patience` epochs,
      restart from the best weights with the learning rate divided by 10, up to this many
      times before stopping (0 = sbi's plain early stopping).
    - `split`: ``"per_member"`` (default): each member draws its own train/validation
      split, so the ensemble as a whole learns from every row (like independent sbi runs);
      ``"shared"``: one split for all members.
    - `weighting`: ``"validation"`` or ``"equal"`` mixture weights (module docstring).
    - `transforms`: mapping target name -> ``"identity"`` | ``"log10"`` | ``"log"`` |
      ``"logit"`` (the latter needs `bounds` for that target).
    - `bounds`: mapping target name -> (lo, hi) support of the target (e.g. the prior box).
    - `dtype`: ``"float64"`` (default) or ``"float32"`` for the flow's weights and
      arithmetic; standardisation and transforms are always float64.
    - `show_progress`: tqdm progress bars during training.
    - `n_leakage`: draws used to estimate the accepted fraction inside `bounds`.
    """

    flow_layers: int = 5
    nn_width: int = 50
    nn_depth: int = 1
    nn_activation: str = "tanh"
    learning_rate: float = 5e-4
    batch_size: int = 200
    val_fraction: float = 0.1
    patience: int = 20
    max_epochs: int = 1000
    clip_norm: float = 5.0
    lr_reductions: int = 0
    split: str = "per_member"
    weighting: str = "validation"
    transforms: tuple = ()
    bounds: tuple = ()
    dtype: str = "float64"
    show_progress: bool = True
    n_leakage: int = 10_000

    def __post_init__(self):
        object.__setattr__(self, "transforms", _freeze_mapping(self.transforms, "transforms"))
        object.__setattr__(self, "bounds", _freeze_mapping(self.bounds, "bounds"))
        ints = {"flow_layers": 1, "nn_width": 1, "nn_depth": 1, "batch_size": 1, "patience": 1,
                "max_epochs": 1, "n_leakage": 100, "lr_reductions": 0}
        for name, lo in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"NPEConfig.{name} must be an integer >= {lo}; got {v!r}")
        for name in ("learning_rate", "clip_norm"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"NPEConfig.{name} must be a finite number > 0; got {v!r}")
        if not (isinstance(self.val_fraction, (int, float)) and 0.0 < self.val_fraction < 1.0):
            raise ValueError(f"NPEConfig.val_fraction must be in (0, 1); got {self.val_fraction!r}")
        if self.weighting not in ("validation", "equal"):
            raise ValueError(f"NPEConfig.weighting must be 'validation' or 'equal'; got {self.weighting!r}")
        if self.nn_activation not in _ACTIVATIONS:
            raise ValueError(f"NPEConfig.nn_activation must be one of {sorted(_ACTIVATIONS)}; got {self.nn_activation!r}")
        if self.split not in ("per_member", "shared"):
            raise ValueError(f"NPEConfig.split must be 'per_member' or 'shared'; got {self.split!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"NPEConfig.dtype must be 'float64' or 'float32'; got {self.dtype!r}")
        for name, t in self.transforms:
            if t not in TRANSFORMS:
                raise ValueError(
                    f"NPEConfig.transforms[{name!r}] must be one of {sorted(TRANSFORMS)}; got {t!r}"
                )
            if t == "logit" and name not in dict(self.bounds):
                raise ValueError(f"NPEConfig.transforms[{name!r}] = 'logit' needs bounds[{name!r}] = (lo, hi)")
        for name, b in self.bounds:
            if not (isinstance(b, tuple) and len(b) == 2 and b[0] < b[1]):
                raise ValueError(f"NPEConfig.bounds[{name!r}] must be (lo, hi) with lo < hi; got {b!r}")

    @property
    def transforms_dict(self) -> dict[str, str]:
        return dict(self.transforms)

    @property
    def bounds_dict(self) -> dict[str, tuple[float, float]]:
        return dict(self.bounds)

    def to_dict(self) -> dict:
        """A JSON-able mapping (bounds as [lo, hi] lists; ±inf as null)."""
        d = dataclasses.asdict(self)
        d["transforms"] = dict(self.transforms)
        d["bounds"] = {k: [_json_float(v[0]), _json_float(v[1])] for k, v in self.bounds}
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "NPEConfig":
        """The inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"NPEConfig: unknown setting(s) {unknown}; known: {sorted(known)}")
        d = dict(d)
        if "bounds" in d and isinstance(d["bounds"], Mapping):
            d["bounds"] = {k: (_from_json_float(v[0], -np.inf), _from_json_float(v[1], np.inf))
                           for k, v in d["bounds"].items()}
        return cls(**d)


def _json_float(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _from_json_float(v, default):
    return default if v is None else float(v)


@dataclasses.dataclass(frozen=True)
class MemberHistory:
    """Training record of one ensemble member: per-epoch mean training and validation
    losses (negative log-likelihood per example of the *standardised* targets, nats), the
    best epoch (0-based) and its validation loss, the reason training stopped
    (``"patience"``, ``"max_epochs"`` or ``"non_finite"``), the wall time [s] and the
    epochs at which the learning rate was divided by 10."""

    train_loss: tuple
    val_loss: tuple
    best_epoch: int
    best_val_loss: float
    stop_reason: str
    seconds: float
    lr_drop_epochs: tuple = ()

    @property
    def n_epochs(self) -> int:
        return len(self.train_loss)

    def to_dict(self) -> dict:
        return dict(train_loss=list(self.train_loss), val_loss=list(self.val_loss),
                    best_epoch=self.best_epoch, best_val_loss=self.best_val_loss,
                    stop_reason=self.stop_reason, seconds=self.seconds, lr_drop_epochs=list(self.lr_drop_epochs))

    @classmethod
    def from_dict(cls, d) -> "MemberHistory":
        return cls(tuple(float(v) for v in d["train_loss"]), tuple(float(v) for v in d["val_loss"]),
                   int(d["best_epoch"]), float(d["best_val_loss"]), str(d["stop_reason"]), float(d["seconds"]),
                   tuple(int(e) for e in d.get("lr_drop_epochs", ())))


@dataclasses.dataclass(frozen=True)
class _Info:
    """Static (non-array) description of an estimator."""

    theta_names: tuple
    x_names: tuple
    config: NPEConfig
    history: tuple
    n_train: int
    n_val: int
    metadata_json: str
    jaxgal_version: str


# ---------------------------------------------------------------------------------------
# Flows: construction with a canonical static structure (so that jit caches are shared
# between estimators of the same shape), stacking, member selection
# ---------------------------------------------------------------------------------------


def _typed_key(key):
    """A new-style typed PRNG key from either a typed key or a legacy uint32 (2,) key."""
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if key.shape == (2,) and key.dtype == jnp.uint32:
        return jr.wrap_key_data(key)
    raise TypeError(f"key must be a jax.random key (jax.random.key or PRNGKey); got dtype {key.dtype}, shape {key.shape}")


_ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh, "gelu": jax.nn.gelu}


def _new_flow(key, dim: int, cond_dim: int, layers: int, width: int, depth: int, activation: str, dtype: str):
    # built with 64-bit types off for float32, so that the constants flowjax closes over
    # (the transformer's initial parameters) are float32 too
    with jax.enable_x64(dtype == "float64"):
        flow = masked_autoregressive_flow(
            key, base_dist=StandardNormal((dim,)), cond_dim=cond_dim, flow_layers=layers,
            nn_width=width, nn_depth=depth, nn_activation=_ACTIVATIONS[activation],
        )
    dt = jnp.dtype(dtype)
    return jax.tree.map(lambda a: a.astype(dt) if eqx.is_inexact_array(a) else a, flow)


@functools.lru_cache(maxsize=32)
def _skeleton(dim, cond_dim, layers, width, depth, activation, dtype):
    """One flow per architecture whose non-array leaves (flowjax's closures) every flow of
    that architecture reuses: identical static structure means shared jit caches."""
    return _new_flow(jr.key(0), dim, cond_dim, layers, width, depth, activation, dtype)


def _make_flow(key, dim, cond_dim, config: NPEConfig):
    args = (dim, cond_dim, config.flow_layers, config.nn_width, config.nn_depth, config.nn_activation, config.dtype)
    new = _new_flow(key, *args)
    skel = _skeleton(*args)
    new_leaves = jax.tree.leaves(new)
    skel_leaves, treedef = jax.tree.flatten(skel)
    if len(new_leaves) != len(skel_leaves):  # pragma: no cover - flowjax structure changed
        raise RuntimeError("flowjax flow structure is not deterministic")
    leaves = [n if eqx.is_array(n) else s for n, s in zip(new_leaves, skel_leaves)]
    return jax.tree.unflatten(treedef, leaves)


def _stack(trees):
    """Stack the array leaves of identically structured flows along a new leading axis
    (on the host: no per-shape compilation)."""
    leaves = [jax.tree.leaves(t) for t in trees]
    treedef = jax.tree.structure(trees[0])
    out = [jnp.asarray(np.stack([np.asarray(a) for a in ls])) if eqx.is_array(ls[0]) else ls[0]
           for ls in zip(*leaves)]
    return jax.tree.unflatten(treedef, out)


def _member(flows, j):
    return jax.tree.map(lambda a: a[j] if eqx.is_array(a) else a, flows)


# ---------------------------------------------------------------------------------------
# Target transforms (elementwise, code per target)
# ---------------------------------------------------------------------------------------


def _transform_fwd(theta, code, lo, hi):
    """u = T(θ) and log|dT/dθ| per element; outside T's domain u = 0 and log-det = −inf."""
    is_log = (code == 1) | (code == 2)
    is_logit = code == 3
    pos_ok = theta > 0
    pos = jnp.where(is_log & pos_ok, theta, 1.0)
    width = hi - lo
    p = jnp.where(is_logit, (theta - lo) / width, 0.5)
    p_ok = (p > 0) & (p < 1)
    p = jnp.where(p_ok, p, 0.5)
    u = jnp.select(
        [code == 0, code == 1, code == 2, is_logit],
        [theta, jnp.log10(pos), jnp.log(pos), jnp.log(p) - jnp.log1p(-p)],
    )
    ld = jnp.select(
        [code == 0, code == 1, code == 2, is_logit],
        [jnp.zeros_like(theta), -jnp.log(pos) - _LOG_LN10, -jnp.log(pos), -jnp.log(width) - jnp.log(p) - jnp.log1p(-p)],
    )
    ok = jnp.where(is_log, pos_ok, jnp.where(is_logit, p_ok, jnp.isfinite(theta)))
    return jnp.where(ok, u, 0.0), jnp.where(ok, ld, -jnp.inf)


def _transform_inv(u, code, lo, hi):
    return jnp.select(
        [code == 0, code == 1, code == 2, code == 3],
        [u, 10.0**u, jnp.exp(u), lo + (hi - lo) * jax.nn.sigmoid(u)],
    )


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _optimizer(clip_norm: float):
    """Clipped Adam whose learning rate lives in the optimiser state (so that changing it
    does not recompile the training epoch)."""
    return optax.chain(optax.clip_by_global_norm(clip_norm), optax.inject_hyperparams(optax.adam)(learning_rate=1e-3))


def _init_opt(optimizer, params, learning_rate: float):
    clip_state, adam_state = optimizer.init(params)
    hp = dict(adam_state.hyperparams)
    dtype = next(a.dtype for a in jax.tree.leaves(params) if eqx.is_inexact_array(a))
    hp["learning_rate"] = jnp.asarray(learning_rate, dtype=dtype)
    return (clip_state, adam_state._replace(hyperparams=hp))


def _nll(params, static, z, c):
    flow = paramax.unwrap(eqx.combine(params, static))
    return -jnp.mean(jax.vmap(flow._log_prob)(z, c))


_val_nll = eqx.filter_jit(_nll)


@eqx.filter_jit
def _train_epoch(params, static, opt_state, z, c, key, batch_size, optimizer):
    n = z.shape[0]
    nb = n // batch_size
    perm = jr.permutation(key, n)[: nb * batch_size]
    zb = z[perm].reshape(nb, batch_size, z.shape[1])
    cb = c[perm].reshape(nb, batch_size, c.shape[1])

    def body(carry, batch):
        p, s = carry
        loss, g = eqx.filter_value_and_grad(_nll)(p, static, *batch)
        upd, s = optimizer.update(g, s, p)
        return (eqx.apply_updates(p, upd), s), loss

    (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), (zb, cb))
    return params, opt_state, jnp.mean(losses)


def _fit_member(key, flow, z_tr, c_tr, z_va, c_va, config: NPEConfig, desc: str):
    """Train one flow with early stopping; returns the flow at its best validation epoch."""
    is_nt = lambda leaf: isinstance(leaf, paramax.NonTrainable)  # noqa: E731
    params, static = eqx.partition(flow, eqx.is_inexact_array, is_leaf=is_nt)
    optimizer = _optimizer(float(config.clip_norm))
    lr = float(config.learning_rate)
    opt_state = _init_opt(optimizer, params, lr)
    batch_size = int(min(config.batch_size, z_tr.shape[0]))
    best_params, best_val, best_epoch = params, np.inf, -1
    train_hist, val_hist, drops = [], [], []
    stop = "max_epochs"
    t0 = time.perf_counter()
    from tqdm.auto import tqdm

    bar = tqdm(range(config.max_epochs), desc=desc, disable=not config.show_progress, leave=False)
    since = 0
    for epoch in bar:
        key, sub = jr.split(key)
        params, opt_state, tr = _train_epoch(params, static, opt_state, z_tr, c_tr, sub, batch_size, optimizer)
        va = float(_val_nll(params, static, z_va, c_va))
        tr = float(tr)
        train_hist.append(tr)
        val_hist.append(va)
        if not (math.isfinite(tr) and math.isfinite(va)):
            stop = "non_finite"
            break
        if va < best_val:
            best_params, best_val, best_epoch, since = params, va, epoch, 0
        else:
            since += 1
            if since >= config.patience:
                if len(drops) < config.lr_reductions:
                    # plateau: restart from the best weights with a 10x smaller step
                    lr /= 10.0
                    params, since = best_params, 0
                    opt_state = _init_opt(optimizer, params, lr)
                    drops.append(epoch)
                    continue
                stop = "patience"
                break
        bar.set_postfix(train=f"{tr:.3f}", val=f"{va:.3f}", best=f"{best_val:.3f}", lr=f"{lr:.0e}")
    bar.close()
    if best_epoch < 0:
        raise RuntimeError(
            f"{desc}: training diverged at the first epoch (non-finite loss); lower "
            "NPEConfig.learning_rate or check the inputs for extreme values"
        )
    hist = MemberHistory(tuple(train_hist), tuple(val_hist), int(best_epoch), float(best_val), stop,
                         float(time.perf_counter() - t0), tuple(drops))
    return eqx.combine(best_params, static), hist


def _as_columns(a, what: str, names=None):
    """(n, m) float array and its column names from an array or a mapping of columns."""
    if isinstance(a, Mapping):
        keys = list(a.keys()) if names is None else list(names)
        missing = [k for k in keys if k not in a]
        if missing:
            raise ValueError(f"train_npe: {what} has no column(s) {missing}")
        cols = [np.asarray(a[k], dtype=float) for k in keys]
        if any(c.ndim != 1 for c in cols):
            raise ValueError(f"train_npe: every column of {what} must be one-dimensional (n,)")
        return np.stack(cols, axis=1), keys
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"train_npe: {what} must be a 2-D array (n, columns); got shape {arr.shape}")
    return arr, names


def _check_names(names, m, what, prefix):
    if names is None:
        return tuple(f"{prefix}{i}" for i in range(m))
    names = tuple(str(n) for n in names)
    if len(names) != m:
        raise ValueError(f"train_npe: {what} has {len(names)} names for {m} columns")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"train_npe: duplicate {what} {dup}")
    return names


def train_npe(
    key,
    theta,
    x,
    n_ensemble: int = 5,
    *,
    theta_names: Sequence[str] | None = None,
    x_names: Sequence[str] | None = None,
    config: NPEConfig | Mapping | None = None,
    drop: Sequence[str] | None = None,
    metadata: Mapping | None = None,
    groups=None,
) -> "NPEEstimator":
    """Train an ensemble of conditional MAFs on simulated pairs (θ_i, x_i) (module
    docstring).

    **Arguments:**

    - `key`: a ``jax.random`` key; the same key and data give the same estimator.
    - `theta`: (n, d) targets (θ entries and/or derived quantities, in their physical
      units), or a mapping name -> (n,) column. Must be finite.
    - `x`: (n, k) inputs (summaries and any extra conditioning values), or a mapping
      name -> (n,) column. NaN marks a missing input (module docstring); ±inf is rejected.
    - `n_ensemble`: number K of independently initialised and shuffled flows.
    - `theta_names`, `x_names`: column names (default ``theta_0``…, ``x_0``…; taken from
      the keys when a mapping is given). The estimator checks inputs against `x_names`.
    - `config`: an :class:`NPEConfig` (or a mapping of its fields).
    - `drop`: input names to leave out (e.g. bins flagged by a posterior predictive check).
    - `metadata`: JSON-able mapping stored with the estimator (e.g. the suite it came from).
    - `groups`: optional (n,) integer labels of rows that share a simulation (several mocks
      of one simulation): the validation split then takes whole groups, so that no
      simulation is in both a member's training and validation rows (early stopping would
      otherwise reward memorising θ). Default: every row its own group.

    **Returns:** an :class:`NPEEstimator`.
    """
    cfg = NPEConfig() if config is None else (config if isinstance(config, NPEConfig) else NPEConfig.from_dict(config))
    key = _typed_key(key)
    n_ensemble = int(n_ensemble)
    if n_ensemble < 1:
        raise ValueError(f"train_npe: n_ensemble must be >= 1; got {n_ensemble}")
    th, tn = _as_columns(theta, "theta", theta_names)
    xx, xn = _as_columns(x, "x", x_names)
    theta_names = _check_names(tn, th.shape[1], "theta_names", "theta_")
    x_names = _check_names(xn, xx.shape[1], "x_names", "x_")
    if th.shape[0] != xx.shape[0]:
        raise ValueError(f"train_npe: theta has {th.shape[0]} rows but x has {xx.shape[0]}")
    if drop:
        drop = [str(d) for d in drop]
        unknown = [d for d in drop if d not in x_names]
        if unknown:
            raise ValueError(f"train_npe: drop names {unknown} are not inputs; inputs: {list(x_names)}")
        keep = [i for i, nm in enumerate(x_names) if nm not in drop]
        if not keep:
            raise ValueError("train_npe: drop removes every input")
        xx = xx[:, keep]
        x_names = tuple(x_names[i] for i in keep)
    n, d = th.shape
    k = xx.shape[1]
    bad_t = [theta_names[j] for j in range(d) if not np.all(np.isfinite(th[:, j]))]
    if bad_t:
        raise ValueError(f"train_npe: targets {bad_t} have non-finite values; remove those rows")
    bad_x = [x_names[j] for j in range(k) if np.any(np.isinf(xx[:, j]))]
    if bad_x:
        raise ValueError(f"train_npe: inputs {bad_x} have infinite values (use NaN for a missing input)")
    all_nan = [x_names[j] for j in range(k) if np.all(np.isnan(xx[:, j]))]
    if all_nan:
        raise ValueError(f"train_npe: inputs {all_nan} are missing (NaN) in every row; drop them (drop=[...])")
    unknown = sorted((set(cfg.transforms_dict) | set(cfg.bounds_dict)) - set(theta_names))
    if unknown:
        raise ValueError(f"train_npe: config transforms/bounds name unknown targets {unknown}; targets: {list(theta_names)}")
    if groups is None:
        n_val = max(1, int(round(cfg.val_fraction * n)))
    else:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"train_npe: groups has shape {groups.shape}; expected ({n},)")
        group_ids, group_of_row = np.unique(groups, return_inverse=True)
        n_val = max(1, int(round(cfg.val_fraction * group_ids.size)))  # groups, not rows
        if group_ids.size - n_val < 1:
            raise ValueError(f"train_npe: {group_ids.size} groups leave none for training after the validation split")
    if n - n_val < 2:
        raise ValueError(f"train_npe: {n} rows leave fewer than 2 for training after the validation split")

    # --- target transforms and standardisation
    tdict, bdict = cfg.transforms_dict, cfg.bounds_dict
    code = np.array([TRANSFORMS[tdict.get(nm, "identity")] for nm in theta_names])
    t_lo = np.array([bdict[nm][0] if code[j] == 3 else 0.0 for j, nm in enumerate(theta_names)])
    t_hi = np.array([bdict[nm][1] if code[j] == 3 else 1.0 for j, nm in enumerate(theta_names)])
    b_lo = np.array([bdict.get(nm, (-np.inf, np.inf))[0] for nm in theta_names])
    b_hi = np.array([bdict.get(nm, (-np.inf, np.inf))[1] for nm in theta_names])
    for j, nm in enumerate(theta_names):
        outside = np.sum((th[:, j] < b_lo[j]) | (th[:, j] > b_hi[j]))
        if outside:
            raise ValueError(f"train_npe: {outside} training values of {nm!r} lie outside its bounds {bdict[nm]}")
    u, ld = _transform_fwd_jit(jnp.asarray(th), jnp.asarray(code), jnp.asarray(t_lo), jnp.asarray(t_hi))
    u, ld = np.asarray(u), np.asarray(ld)
    for j, nm in enumerate(theta_names):
        if not np.all(np.isfinite(ld[:, j])):
            raise ValueError(
                f"train_npe: target {nm!r} has values outside the domain of its transform "
                f"{tdict.get(nm)!r} (log needs > 0; logit needs lo < value < hi strictly)"
            )
    t_mean, t_std = u.mean(0), u.std(0)
    const = [theta_names[j] for j in range(d) if not t_std[j] > 0]
    if const:
        raise ValueError(f"train_npe: targets {const} are constant in the training set; a posterior needs spread")
    x_mean = np.nanmean(xx, axis=0)
    x_std = np.nanstd(xx, axis=0)
    x_std = np.where(x_std > 0, x_std, 1.0)
    has_ind = np.isnan(xx).any(axis=0)
    indicator_index = np.flatnonzero(has_ind)

    dt = jnp.dtype(cfg.dtype)
    z_all = ((u - t_mean) / t_std).astype(dt)
    c_all = _cond_np(xx, x_mean, x_std, indicator_index, cfg.dtype)

    k_split, k_members = jr.split(key)
    split_keys = jr.split(k_split, n_ensemble) if cfg.split == "per_member" else [k_split] * n_ensemble
    members, hist = [], []
    for j, kj in enumerate(jr.split(k_members, n_ensemble)):
        if groups is None:
            perm = np.asarray(jr.permutation(split_keys[j], n))
            va_idx, tr_idx = perm[:n_val], perm[n_val:]
        else:
            gperm = np.asarray(jr.permutation(split_keys[j], group_ids.size))
            in_val = np.zeros(group_ids.size, bool)
            in_val[gperm[:n_val]] = True
            va_idx, tr_idx = np.flatnonzero(in_val[group_of_row]), np.flatnonzero(~in_val[group_of_row])
        z_tr, c_tr = jnp.asarray(z_all[tr_idx]), jnp.asarray(c_all[tr_idx])
        z_va, c_va = jnp.asarray(z_all[va_idx]), jnp.asarray(c_all[va_idx])
        k_init, k_fit = jr.split(kj)
        flow = _make_flow(k_init, d, k + indicator_index.size, cfg)
        flow, h = _fit_member(k_fit, flow, z_tr, c_tr, z_va, c_va, cfg, f"NPE member {j + 1}/{n_ensemble}")
        members.append(flow)
        hist.append(h)
    lw = ensemble_log_weights([h.best_val_loss for h in hist], cfg.weighting)
    n_va = int(va_idx.size)  # rows (= n_val without groups; the last member's split with groups)
    info = _Info(theta_names, x_names, cfg, tuple(hist), n - n_va, n_va,
                 json.dumps(dict(metadata or {}), sort_keys=True), _jaxgal_version())
    return NPEEstimator(
        flows=_stack(members), log_weights=jnp.asarray(lw),
        t_code=jnp.asarray(code), t_lo=jnp.asarray(t_lo), t_hi=jnp.asarray(t_hi),
        t_mean=jnp.asarray(t_mean), t_std=jnp.asarray(t_std), b_lo=jnp.asarray(b_lo), b_hi=jnp.asarray(b_hi),
        x_mean=jnp.asarray(x_mean), x_std=jnp.asarray(x_std),
        indicator_index=jnp.asarray(indicator_index, dtype=int), info=info,
    )


def ensemble_log_weights(best_val_losses, weighting: str = "validation") -> np.ndarray:
    """log w_k of the mixture from each member's best mean validation loss L_k (negative
    log-likelihood per example): ``"validation"`` gives w_k ∝ exp(−L_k), ``"equal"``
    w_k = 1/K (module docstring)."""
    v = np.asarray(best_val_losses, dtype=float)
    if weighting == "equal":
        return np.full(v.size, -math.log(v.size))
    if weighting != "validation":
        raise ValueError(f"weighting must be 'validation' or 'equal'; got {weighting!r}")
    lw = -(v - v.min())
    return lw - np.log(np.sum(np.exp(lw)))


def _jaxgal_version() -> str:
    try:
        from importlib.metadata import version

        return version("jaxgal")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


# ---------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------


def _cond_arrays(x, mean, std, indicator_index):
    """Conditioning vectors (..., k + n_indicators) from raw inputs (..., k) with NaN for
    missing values (only legal in indicator columns; checked by the caller): z-scored
    inputs with missing ones set to 0, then the missing-indicators."""
    z = (x - mean) / std
    miss = jnp.isnan(x)
    z = jnp.where(miss, 0.0, z)
    ind = miss[..., indicator_index].astype(z.dtype)
    return jnp.concatenate([z, ind], axis=-1)


def _cond_np(x, mean, std, indicator_index, dtype) -> np.ndarray:
    """:func:`_cond_arrays` on the host (numpy)."""
    x = np.asarray(x, dtype=float)
    z = (x - np.asarray(mean)) / np.asarray(std)
    miss = np.isnan(x)
    z = np.where(miss, 0.0, z)
    ind = miss[..., np.asarray(indicator_index, dtype=int)].astype(float)
    return np.concatenate([z, ind], axis=-1).astype(dtype)


def _conditions_np(est: "NPEEstimator", x) -> np.ndarray:
    """Conditioning vectors of raw inputs for an estimator (host side)."""
    return _cond_np(x, est.x_mean, est.x_std, est.indicator_index, est.info.config.dtype)


class _Arrays(eqx.Module):
    """The arrays of an estimator without its static description, so that jit caches are
    shared by every estimator of the same architecture and shapes."""

    flows: eqx.Module
    log_weights: Array
    t_code: Array
    t_lo: Array
    t_hi: Array
    t_mean: Array
    t_std: Array
    b_lo: Array
    b_hi: Array
    x_mean: Array
    x_std: Array
    indicator_index: Array


@eqx.filter_jit
def _log_prob_core(arr: _Arrays, theta, x, dtype: str):
    """log q(θ | x) of the mixture for matching batches theta (B, d), x (B, k); −inf
    outside the bounds or the transforms' domains (no leakage renormalisation)."""
    u, ld = _transform_fwd(theta, arr.t_code, arr.t_lo, arr.t_hi)
    z = (u - arr.t_mean) / arr.t_std
    ldj = jnp.sum(ld, axis=-1) - jnp.sum(jnp.log(arr.t_std))
    dt = jnp.dtype(dtype)
    c = _cond_arrays(x, arr.x_mean, arr.x_std, arr.indicator_index).astype(dt)
    zz = z.astype(dt)

    def member(flow):
        f = paramax.unwrap(flow)
        return jax.vmap(f._log_prob)(zz, c)

    lp = eqx.filter_vmap(member)(arr.flows)  # (K, B)
    lp = jax.scipy.special.logsumexp(lp + arr.log_weights[:, None].astype(lp.dtype), axis=0)
    out = lp.astype(theta.dtype) + ldj
    inside = jnp.all((theta >= arr.b_lo) & (theta <= arr.b_hi), axis=-1)
    return jnp.where(inside & jnp.isfinite(ldj), out, -jnp.inf)


@eqx.filter_jit
def _sample_member(arr: _Arrays, j, key, c):
    """One draw θ (physical units) from member j per row of the conditions c."""
    f = paramax.unwrap(_member(arr.flows, j))
    keys = jr.split(key, c.shape[0])
    z = jax.vmap(f._sample)(keys, c)
    u = z.astype(arr.t_mean.dtype) * arr.t_std + arr.t_mean
    return _transform_inv(u, arr.t_code, arr.t_lo, arr.t_hi)


_transform_fwd_jit = jax.jit(_transform_fwd)


#: Fixed batch size of the compiled sampling and density calls: requests are padded to it
#: or split into chunks of it, so each architecture compiles one program per function
#: whatever the number of draws.
_CHUNKS = (2048,)
#: Largest number of candidate draws in one round of rejection sampling.
_MAX_CANDIDATES = 1 << 20


def _chunks(n_rows: int):
    """(start, stop, padded size) covering range(n_rows) with the sizes in _CHUNKS."""
    out = []
    start = 0
    while start < n_rows:
        rest = n_rows - start
        size = next((c for c in _CHUNKS if rest <= c), _CHUNKS[-1])
        out.append((start, min(start + size, n_rows), size))
        start += size
    return out


def _padded(a, stop_minus_start, size):
    if a.shape[0] == size:
        return a
    return np.concatenate([a, np.repeat(a[-1:], size - stop_minus_start, axis=0)])


class NPEEstimator(eqx.Module):
    """A trained ensemble of conditional MAFs: q(θ | x) = Σ_k w_k q_k(θ | x) (module
    docstring). Made by :func:`train_npe` or :func:`load_npe`.

    Targets are ``theta_names`` in physical units; inputs ``x_names``. Arrays of inputs
    must list the inputs in ``x_names`` order; a mapping name -> value may hold extra
    names (ignored) but must hold every name in ``x_names``.
    """

    flows: eqx.Module
    log_weights: Float[Array, " K"]
    t_code: Array
    t_lo: Array
    t_hi: Array
    t_mean: Array
    t_std: Array
    b_lo: Array
    b_hi: Array
    x_mean: Array
    x_std: Array
    indicator_index: Array
    info: _Info = eqx.field(static=True)

    def _arrays(self) -> _Arrays:
        return _Arrays(self.flows, self.log_weights, self.t_code, self.t_lo, self.t_hi, self.t_mean, self.t_std,
                       self.b_lo, self.b_hi, self.x_mean, self.x_std, self.indicator_index)

    # --- descriptions
    @property
    def theta_names(self) -> tuple[str, ...]:
        return self.info.theta_names

    @property
    def x_names(self) -> tuple[str, ...]:
        return self.info.x_names

    @property
    def config(self) -> NPEConfig:
        return self.info.config

    @property
    def n_ensemble(self) -> int:
        return int(self.log_weights.shape[0])

    @property
    def weights(self) -> np.ndarray:
        """Mixture weights w_k (sum to 1)."""
        return np.exp(np.asarray(self.log_weights))

    @property
    def history(self) -> tuple[MemberHistory, ...]:
        return self.info.history

    @property
    def missing_inputs(self) -> tuple[str, ...]:
        """Inputs that may be NaN (missing) at inference: those missing in some training row."""
        return tuple(self.x_names[i] for i in np.asarray(self.indicator_index))

    @property
    def metadata(self) -> dict:
        """The user metadata given to :func:`train_npe`."""
        return json.loads(self.info.metadata_json)

    def __repr__(self) -> str:
        return (f"NPEEstimator({self.n_ensemble} MAFs × {self.config.flow_layers} transforms × "
                f"{self.config.nn_width} units; targets {list(self.theta_names)}; {len(self.x_names)} inputs; "
                f"weights {np.round(self.weights, 3).tolist()})")

    # --- input checks
    def _prepare_x(self, x_obs, x_names=None):
        """(m, k) float64 inputs and whether a batch was given; raises the named errors."""
        names = self.x_names
        k = len(names)
        if isinstance(x_obs, Mapping):
            missing = [nm for nm in names if nm not in x_obs]
            if missing:
                raise InputMismatchError(
                    f"the estimator was trained on inputs {list(names)}; the supplied mapping lacks "
                    f"{missing}"
                )
            cols = np.broadcast_arrays(*[np.asarray(x_obs[nm], dtype=float) for nm in names])
            x = np.stack(cols, axis=-1)
        else:
            x = np.asarray(x_obs, dtype=float)
            if x.ndim == 0 or x.shape[-1] != k:
                raise InputMismatchError(
                    f"the estimator expects {k} inputs (last axis) named {list(names)}; got an array of "
                    f"shape {x.shape}"
                )
            if x_names is not None:
                given = tuple(str(s) for s in x_names)
                if given != names:
                    missing = [nm for nm in names if nm not in given]
                    extra = [nm for nm in given if nm not in names]
                    what = (f"missing {missing}, unexpected {extra}" if (missing or extra)
                            else "same names in another order")
                    raise InputMismatchError(
                        f"the supplied input names do not match the estimator's inputs ({what}); the "
                        f"estimator was trained on {list(names)}"
                    )
        batched = x.ndim > 1
        x2 = x.reshape(-1, k)
        inf_cols = [names[j] for j in range(k) if np.any(np.isinf(x2[:, j]))]
        if inf_cols:
            raise InputMismatchError(f"inputs {inf_cols} are infinite; use NaN for a missing input")
        nan_cols = np.isnan(x2).any(axis=0)
        allowed = np.zeros(k, bool)
        allowed[np.asarray(self.indicator_index)] = True
        bad = [names[j] for j in range(k) if nan_cols[j] and not allowed[j]]
        if bad:
            raise MissingInputError(
                f"inputs {bad} are missing (NaN), but the estimator never saw them missing in training; "
                f"retrain without them (train_npe(..., drop={bad})) or with training rows in which they are "
                "missing"
            )
        return x2, batched, x.shape[:-1]

    # --- sampling
    def _draw_raw(self, key, cond):
        """One mixture draw per row of cond (N, c) -> θ (N, d) numpy."""
        n_rows = cond.shape[0]
        k_comp, k_draw = jr.split(key)
        comp = np.asarray(jr.categorical(k_comp, self.log_weights, shape=(n_rows,)))
        out = np.empty((n_rows, len(self.theta_names)))
        for j in range(self.n_ensemble):
            idx_all = np.flatnonzero(comp == j)
            for ci, (a, b, size) in enumerate(_chunks(idx_all.size)):
                idx = idx_all[a:b]
                kk = jr.fold_in(jr.fold_in(k_draw, j), ci)
                th = _sample_member(self._arrays(), jnp.asarray(j), kk, jnp.asarray(_padded(cond[idx], b - a, size)))
                out[idx] = np.asarray(th)[: b - a]
        return out

    def _has_box(self) -> bool:
        box = (np.isfinite(np.asarray(self.b_lo)) | np.isfinite(np.asarray(self.b_hi))) & (np.asarray(self.t_code) != 3)
        return bool(np.any(box))

    def _draw(self, key, cond, rows, min_acceptance: float, max_rounds: int = 100):
        """Draws for each entry of `rows` (indices into cond), rejecting outside the bounds.

        Each round redraws the pending slots, several candidates per slot: about 1.5 / a
        for an observation whose draws have so far been accepted at the (Laplace-smoothed)
        rate a, capped at 4096, so that even a low acceptance finishes in a few rounds."""
        n_total = rows.size
        if not self._has_box():
            return self._draw_raw(key, cond[rows])
        lo, hi = np.asarray(self.b_lo), np.asarray(self.b_hi)
        out = np.empty((n_total, len(self.theta_names)))
        todo = np.arange(n_total)
        tried = np.zeros(cond.shape[0])
        accepted = np.zeros(cond.shape[0])
        box = {n: (float(a), float(b)) for n, a, b in zip(self.theta_names, lo, hi) if np.isfinite(a) or np.isfinite(b)}
        for _ in range(max_rounds):
            key, sub = jr.split(key)
            rr = rows[todo]
            rate = (accepted[rr] + 1.0) / (tried[rr] + 2.0)
            rep = np.clip(np.ceil(1.5 / rate), 1, 4096).astype(int)
            if rep.sum() > _MAX_CANDIDATES:  # bound the work and memory of one round
                rep = np.maximum(1, (rep * (_MAX_CANDIDATES / rep.sum())).astype(int))
            slot = np.repeat(np.arange(todo.size), rep)
            th = self._draw_raw(sub, cond[rr[slot]])
            ok = np.all((th >= lo) & (th <= hi), axis=-1)
            np.add.at(tried, rr[slot], 1.0)
            np.add.at(accepted, rr[slot], ok.astype(float))
            got_slot, first = np.unique(slot[ok], return_index=True)
            out[todo[got_slot]] = th[np.flatnonzero(ok)[first]]
            done = np.zeros(todo.size, bool)
            done[got_slot] = True
            todo = todo[~done]
            if todo.size == 0:
                return out
            rr = np.unique(rows[todo])
            frac = accepted[rr] / tried[rr]
            bad = (tried[rr] >= 10.0 / min_acceptance) & (frac < min_acceptance)
            if np.any(bad):
                raise LeakageError(
                    f"only {frac[bad].max():.2e} of the draws for {int(bad.sum())} observation(s) fell inside the "
                    f"bounds {box} (min_acceptance = {min_acceptance:g}): the observation is far outside the "
                    "training set or the bounds are wrong"
                )
        raise LeakageError(
            f"{todo.size} draws still outside the bounds {box} after {max_rounds} rounds of rejection"
        )

    def sample(self, key, x_obs, n: int, *, x_names: Sequence[str] | None = None,
               min_acceptance: float = 1e-4) -> Array:
        """Draws from q(θ | x_obs).

        **Arguments:**

        - `key`: a ``jax.random`` key (same key, same draws).
        - `x_obs`: inputs (k,) in ``x_names`` order, a batch (m, k) (or any (..., k)), or a
          mapping name -> value (extra names ignored). NaN = missing (module docstring).
        - `n`: draws per observation.
        - `x_names`: optional names of the columns of an array `x_obs`, checked against the
          estimator's ``x_names`` (:class:`InputMismatchError` if they differ).
        - `min_acceptance`: with bounds, the smallest accepted fraction tolerated before
          :class:`LeakageError`.

        **Returns:** (n, d) draws in ``theta_names`` order and physical units, or
        (..., n, d) for a batch of observations.
        """
        n = int(n)
        if n < 1:
            raise ValueError(f"sample: n must be >= 1; got {n}")
        key = _typed_key(key)
        x2, batched, bshape = self._prepare_x(x_obs, x_names)
        cond = _conditions_np(self, x2)
        rows = np.repeat(np.arange(x2.shape[0]), n)
        th = self._draw(key, cond, rows, float(min_acceptance))
        th = th.reshape(*bshape, n, len(self.theta_names))
        return jnp.asarray(th)

    def sample_dict(self, key, x_obs, n: int, **kwargs) -> dict[str, np.ndarray]:
        """:meth:`sample` as a mapping target name -> draws (n,) (or (..., n))."""
        th = np.asarray(self.sample(key, x_obs, n, **kwargs))
        return {nm: th[..., i] for i, nm in enumerate(self.theta_names)}

    # --- density
    def _acceptance(self, cond_row) -> float:
        th = self._draw_raw(jr.key(0), np.repeat(cond_row[None], self.config.n_leakage, axis=0))
        ok = np.all((th >= np.asarray(self.b_lo)) & (th <= np.asarray(self.b_hi)), axis=-1)
        return float(ok.mean())

    def log_prob(self, theta, x_obs, *, x_names: Sequence[str] | None = None, normalize: bool = True) -> Array:
        """log q(θ | x_obs) [nats, in the physical units of the targets].

        **Arguments:**

        - `theta`: (d,) or (..., d) in ``theta_names`` order.
        - `x_obs`: inputs (k,), (..., k) broadcastable against `theta`'s batch, or a mapping
          (as :meth:`sample`).
        - `x_names`: optional column names of an array `x_obs` (checked).
        - `normalize`: with ``bounds`` (not logit-transformed), divide by the accepted
          fraction inside the bounds so the truncated density integrates to one (estimated
          from ``config.n_leakage`` draws per observation with a fixed key); −inf outside.

        **Returns:** the log density, shape = the broadcast batch shape.
        """
        d = len(self.theta_names)
        th = np.asarray(theta, dtype=float)
        if th.ndim == 0 or th.shape[-1] != d:
            raise ValueError(f"log_prob: theta must have last axis {d} ({list(self.theta_names)}); got shape {th.shape}")
        x2, batched, bshape = self._prepare_x(x_obs, x_names)
        x = x2.reshape(*bshape, -1)
        shape = np.broadcast_shapes(th.shape[:-1], x.shape[:-1])
        thb = np.broadcast_to(th, shape + (d,)).reshape(-1, d)
        xb = np.broadcast_to(x, shape + (x.shape[-1],)).reshape(-1, x.shape[-1])
        out = np.empty(thb.shape[0])
        for a, b, size in _chunks(thb.shape[0]):
            out[a:b] = np.asarray(_log_prob_core(self._arrays(), jnp.asarray(_padded(thb[a:b], b - a, size)),
                                                 jnp.asarray(_padded(xb[a:b], b - a, size)),
                                                 self.config.dtype))[: b - a]
        if normalize and self._has_box():
            cond = _conditions_np(self, x2)
            acc = np.array([self._acceptance(c) for c in cond])
            log_acc = np.broadcast_to(np.log(acc).reshape(bshape), shape).reshape(-1)
            out = out - log_acc
        return jnp.asarray(out.reshape(shape))

    # --- storage
    def save(self, path: str) -> str:
        """Write the estimator to the folder `path` (``flows.eqx`` + ``metadata.json``;
        module docstring). Each file is written under a temporary name and renamed.
        Returns `path`."""
        os.makedirs(path, exist_ok=True)
        wpath = os.path.join(path, _WEIGHTS_FILE)
        tmp = wpath + ".tmp"
        eqx.tree_serialise_leaves(tmp, self.flows)
        os.replace(tmp, wpath)
        with open(wpath, "rb") as fh:
            sha = hashlib.sha256(fh.read()).hexdigest()
        inv = {v: k for k, v in TRANSFORMS.items()}
        meta = {
            "format": _FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "jaxgal_version": self.info.jaxgal_version,
            "config": self.config.to_dict(),
            "theta_names": list(self.theta_names),
            "x_names": list(self.x_names),
            "n_ensemble": self.n_ensemble,
            "log_weights": np.asarray(self.log_weights).tolist(),
            "weights": self.weights.tolist(),
            "targets": [
                {"name": nm, "transform": inv[int(c)], "transform_lo": float(lo), "transform_hi": float(hi),
                 "bound_lo": _json_float(blo), "bound_hi": _json_float(bhi), "mean": float(m), "std": float(s)}
                for nm, c, lo, hi, blo, bhi, m, s in zip(
                    self.theta_names, np.asarray(self.t_code), np.asarray(self.t_lo), np.asarray(self.t_hi),
                    np.asarray(self.b_lo), np.asarray(self.b_hi), np.asarray(self.t_mean), np.asarray(self.t_std))
            ],
            "inputs": [
                {"name": nm, "mean": float(m), "std": float(s)}
                for nm, m, s in zip(self.x_names, np.asarray(self.x_mean), np.asarray(self.x_std))
            ],
            "missing_indicators": list(self.missing_inputs),
            "n_train": self.info.n_train,
            "n_val": self.info.n_val,
            "history": [h.to_dict() for h in self.history],
            "metadata": self.metadata,
            "weights_file": _WEIGHTS_FILE,
            "weights_sha256": sha,
        }
        mpath = os.path.join(path, _META_FILE)
        with open(mpath + ".tmp", "w") as fh:
            json.dump(meta, fh, indent=1)
        os.replace(mpath + ".tmp", mpath)
        return path


_REQUIRED = ("config", "theta_names", "x_names", "n_ensemble", "log_weights", "targets", "inputs",
             "missing_indicators", "n_train", "n_val", "history", "weights_sha256")


def read_metadata(path: str) -> dict:
    """The ``metadata.json`` of a saved estimator folder, format-checked (the errors of
    :func:`load_npe`)."""
    mpath = os.path.join(path, _META_FILE)
    if not os.path.isdir(path) or not os.path.exists(mpath):
        raise FileNotFoundError(f"load_npe: {path!r} is not a saved estimator (no {_META_FILE})")
    try:
        with open(mpath) as fh:
            meta = json.load(fh)
    except json.JSONDecodeError as e:
        raise EstimatorFileError(f"load_npe: {mpath} is not valid JSON ({e})") from None
    if meta.get("format") != _FORMAT_NAME:
        raise EstimatorFileError(f"load_npe: {mpath} is not a jaxgal estimator (format {meta.get('format')!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise EstimatorVersionError(
            f"load_npe: {path!r} was written in estimator format version {meta.get('format_version')!r} "
            f"(by jaxgal {meta.get('jaxgal_version')!r}); this jaxgal reads version {FORMAT_VERSION}. Retrain it "
            "with this jaxgal (jaxgal train CONFIG.toml) or load it with the jaxgal version that wrote it"
        )
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise EstimatorFileError(f"load_npe: {mpath} lacks the keys {missing}")
    return meta


def load_npe(path: str) -> NPEEstimator:
    """Load an estimator written by :meth:`NPEEstimator.save`.

    **Raises:** ``FileNotFoundError`` if `path` is not a saved estimator;
    :class:`EstimatorVersionError` if it was written in another format version;
    :class:`EstimatorFileError` if the weights file does not match the metadata (checksum,
    number or shapes of arrays) or the metadata is incomplete.
    """
    meta = read_metadata(path)
    wpath = os.path.join(path, meta.get("weights_file", _WEIGHTS_FILE))
    if not os.path.exists(wpath):
        raise EstimatorFileError(f"load_npe: weights file {wpath} is missing")
    with open(wpath, "rb") as fh:
        sha = hashlib.sha256(fh.read()).hexdigest()
    if sha != meta["weights_sha256"]:
        raise EstimatorFileError(
            f"load_npe: {wpath} does not match its metadata (SHA-256 {sha[:12]}…, metadata says "
            f"{str(meta['weights_sha256'])[:12]}…): the weights were replaced or altered"
        )
    try:
        cfg = NPEConfig.from_dict(meta["config"])
        theta_names = tuple(meta["theta_names"])
        x_names = tuple(meta["x_names"])
        targets = meta["targets"]
        inputs = meta["inputs"]
        if [t["name"] for t in targets] != list(theta_names) or [i["name"] for i in inputs] != list(x_names):
            raise EstimatorFileError("load_npe: the target/input tables disagree with theta_names/x_names")
        ind = [x_names.index(nm) for nm in meta["missing_indicators"]]
        K = int(meta["n_ensemble"])
        log_w = np.asarray(meta["log_weights"], dtype=float)
        if log_w.shape != (K,):
            raise EstimatorFileError(f"load_npe: {K} members but {log_w.size} log_weights")
    except (KeyError, ValueError, TypeError) as e:
        if isinstance(e, EstimatorFileError):
            raise
        raise EstimatorFileError(f"load_npe: malformed metadata in {path!r}: {e}") from None
    # a template with the right structure and shapes (its values are overwritten)
    args = (len(theta_names), len(x_names) + len(ind), cfg.flow_layers, cfg.nn_width, cfg.nn_depth,
            cfg.nn_activation, cfg.dtype)
    skel = _stack([_skeleton(*args)] * K)
    try:
        flows = eqx.tree_deserialise_leaves(wpath, skel)
    except Exception as e:  # shape mismatch, truncated file, ...
        raise EstimatorFileError(f"load_npe: the arrays in {wpath} do not match the metadata ({e})") from None
    f = lambda key, default=np.nan: np.array([  # noqa: E731
        default if t.get(key) is None else float(t[key]) for t in targets])
    code = np.array([TRANSFORMS[t["transform"]] for t in targets])
    info = _Info(theta_names, x_names, cfg, tuple(MemberHistory.from_dict(h) for h in meta["history"]),
                 int(meta["n_train"]), int(meta["n_val"]), json.dumps(meta.get("metadata", {}), sort_keys=True),
                 str(meta.get("jaxgal_version", "unknown")))
    return NPEEstimator(
        flows=flows, log_weights=jnp.asarray(log_w), t_code=jnp.asarray(code),
        t_lo=jnp.asarray(f("transform_lo")), t_hi=jnp.asarray(f("transform_hi")),
        t_mean=jnp.asarray(f("mean")), t_std=jnp.asarray(f("std")),
        b_lo=jnp.asarray(f("bound_lo", -np.inf)), b_hi=jnp.asarray(f("bound_hi", np.inf)),
        x_mean=jnp.asarray(np.array([float(i["mean"]) for i in inputs])),
        x_std=jnp.asarray(np.array([float(i["std"]) for i in inputs])),
        indicator_index=jnp.asarray(np.array(ind, dtype=int)), info=info,
    )
