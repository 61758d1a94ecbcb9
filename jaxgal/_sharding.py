"""Spreading a batch axis (orbits, or simulations) over devices.

On a CPU, XLA runs one computation on about one core; on a machine with several GPUs, one
computation uses one GPU. Splitting the particles over ``jax.devices()`` uses them all:
orbits are independent, so each device integrates its own slice with no communication.
On a CPU, several host devices exist only if ``XLA_FLAGS=--xla_force_host_platform_device_count=K``
is set **before JAX starts** (``jaxgal._hostdevices``, used by the benchmarks and the CLI; the
library never does it on import).

- :func:`particle_mesh`: a 1-D ``Mesh`` named ``"particles"`` over the devices.
- :func:`shard_particles`: place an array with its particle axis split over the mesh.
- :func:`map_over_devices`: run a per-shard function on every device with ``jax.shard_map``
  (padding the particle axis to a multiple of the device count), or directly when there is
  one device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = ["particle_mesh", "shard_particles", "map_over_devices"]

AXIS = "particles"


def particle_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis mesh (axis name ``"particles"``) over ``devices`` (default: all)."""
    devices = list(jax.devices() if devices is None else devices)
    # A plain (automatically sharded) mesh: shard_map places the inputs itself.
    return Mesh(np.asarray(devices, dtype=object), (AXIS,))


def shard_particles(array, axis: int = 0, devices: Sequence[jax.Device] | None = None):
    """Place ``array`` with axis ``axis`` split over the devices (no-op with one device).

    The axis length must be a multiple of the number of devices (pad first, or let
    :func:`map_over_devices` do it).
    """
    devices = list(jax.devices() if devices is None else devices)
    if len(devices) == 1:
        return jnp.asarray(array)
    array = jnp.asarray(array)
    if array.shape[axis] % len(devices):
        raise ValueError(
            f"axis {axis} of length {array.shape[axis]} is not a multiple of {len(devices)} devices"
        )
    spec = [None] * array.ndim
    spec[axis] = AXIS
    return jax.device_put(array, NamedSharding(particle_mesh(devices), P(*spec)))


def map_over_devices(
    fn: Callable,
    sharded: tuple,
    replicated: tuple = (),
    *,
    out_axes,
    devices: Sequence[jax.Device] | None = None,
):
    """``fn(*sharded, *replicated)`` with the leading axis of every ``sharded`` array split
    over the devices.

    **Arguments:**

    - `fn`: works on one shard (arrays with leading axis n/D) and returns a pytree of
      arrays whose particle axis is given by `out_axes`.
    - `sharded`: arrays with the same leading (particle) length n, padded here by repeating
      the last particle to a multiple of D and trimmed from the outputs.
    - `replicated`: pytrees passed whole to every device.
    - `out_axes`: pytree (matching the outputs) of the particle axis of each output.
    - `devices`: default ``jax.devices()``.
    """
    devices = list(jax.devices() if devices is None else devices)
    n_dev = len(devices)
    if n_dev == 1:
        return fn(*sharded, *replicated)
    n = sharded[0].shape[0]
    pad = (-n) % n_dev
    if pad:
        sharded = tuple(
            jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)], axis=0) for a in sharded
        )
    mesh = particle_mesh(devices)

    def spec_for(axis, ndim):
        s = [None] * ndim
        s[axis] = AXIS
        return P(*s)

    out_shape = jax.eval_shape(
        lambda *a: fn(*a),
        *[jax.ShapeDtypeStruct((a.shape[0] // n_dev,) + a.shape[1:], a.dtype) for a in sharded],
        *replicated,
    )
    out_specs = jax.tree.map(lambda ax, s: spec_for(ax, len(s.shape)), out_axes, out_shape)
    in_specs = tuple(P(AXIS) for _ in sharded) + tuple(
        jax.tree.map(lambda _: P(), r) for r in replicated
    )
    mapped = jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)
    out = mapped(*sharded, *replicated)
    if pad:
        out = jax.tree.map(
            lambda o, ax: jax.lax.slice_in_dim(o, 0, n, axis=ax), out, out_axes
        )
    return out
