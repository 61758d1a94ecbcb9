"""The ``jaxgal`` command line: the thin shell around the pure core (progress, files, devices).

``jaxgal demo [--n N] [--out DIR] [--devices K]`` runs the end-to-end demo (see
``jaxgal.demo``). ``jaxgal suite OUT --n-sims N [--seed S] [--n-particles P]
[--chunk-size C] [--chunks I,J,...] [--devices K] [--plan]`` runs (or resumes) a suite of MW–LMC
simulations drawn from the Table 1 prior (``jaxgal.simulation.run_suite``).
``jaxgal suite ... --keep-particles`` also stores the stars, and ``jaxgal observe SUITE
[--catalogue FILE | --model FILE] [--seed S]`` observes them through a survey's error model
(``jaxgal.simulation.observe_suite``; ``docs/suites.md``); ``--scheduler ADDRESS`` runs the
chunks on a Dask cluster. ``jaxgal stream fit CONFIG.toml [--out DIR]`` runs the stream-acceleration analysis
(``jaxgal.streams.cli``). ``jaxgal train``, ``jaxgal infer``, ``jaxgal diagnose`` and
``jaxgal plot`` are the inference commands (``jaxgal.inference.cli``, ``docs/inference.md``;
``jaxgal train --help``). ``--devices K`` splits the work over K host CPU devices: the
arguments are parsed and the device count set (``jaxgal._hostdevices``) before anything
imports JAX (``import jaxgal`` does not).
"""

from __future__ import annotations

import argparse
import os
import sys

from . import demo as _demo
from ._hostdevices import set_host_device_count


#: the inference sub-commands, forwarded to ``jaxgal.inference.cli`` (which imports JAX, so
#: it is only imported once the arguments are parsed and the device count is set)
_INFERENCE_COMMANDS = {
    "train": "train a neural posterior estimator on a simulation suite (TOML config)",
    "infer": "posterior of an observed catalogue",
    "diagnose": "TARP coverage and SBC on held-out simulations",
    "plot": "figures from infer/diagnose/PPC outputs",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jaxgal", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _demo.add_arguments(sub.add_parser("demo", help="run the end-to-end demo on its embedded default"))
    suite = sub.add_parser("suite", help="run or resume a suite of MW–LMC simulations from the prior")
    suite.add_argument("out", help="suite folder (resumed if it exists)")
    suite.add_argument("--n-sims", type=int, required=True, help="number of simulations")
    suite.add_argument("--seed", type=int, default=0)
    suite.add_argument("--n-particles", type=int, default=20_000, help="stars per simulation")
    suite.add_argument("--chunk-size", type=int, default=None,
                       help="simulations per stored chunk (default 16 on a CPU; on a GPU the simulations that fit "
                            "its memory times the device count; a resumed suite keeps its own)")
    suite.add_argument("--chunks", default=None, help="comma-separated chunk indices (default all)")
    suite.add_argument("--devices", type=int, default=None, help="host CPU devices to shard over")
    suite.add_argument("--plan", action="store_true", help="print the devices and chunks that would run, then exit")
    suite.add_argument("--keep-particles", action="store_true",
                       help="also store each chunk's stars (particles_XXXXX.npy) for `jaxgal observe`")
    suite.add_argument("--scheduler", default=None,
                       help="address of a Dask scheduler (tcp://host:port): run the chunks as tasks there")
    observe = sub.add_parser("observe", help="observe a suite's stored stars through a survey's error model")
    observe.add_argument("suite", help="suite folder written with --keep-particles")
    src = observe.add_mutually_exclusive_group()
    src.add_argument("--catalogue", default=None, help="catalogue file whose errors observe the stars")
    src.add_argument("--model", default=None, help="a saved observation model (.npz, AbstractObservationModel.save)")
    observe.add_argument("--max-frac-distance-err", type=float, default=None,
                         help="with --catalogue: the survey's cut on sigma_d/d (e.g. 0.25)")
    observe.add_argument("--seed", type=int, default=0)
    observe.add_argument("--chunks", default=None, help="comma-separated chunk indices (default all with particles)")
    observe.add_argument("--devices", type=int, default=None, help=argparse.SUPPRESS)
    stream = sub.add_parser("stream", help="stream-track accelerations: `jaxgal stream fit CONFIG.toml`")
    stream.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of jaxgal.streams.cli")
    for name, what in _INFERENCE_COMMANDS.items():  # listed here, parsed by jaxgal.inference.cli
        sub.add_parser(name, help=what, add_help=False)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _INFERENCE_COMMANDS:
        from .inference.cli import main as _inference

        return _inference(argv)
    args = parser.parse_args(argv)

    set_host_device_count(getattr(args, "devices", None))  # before JAX starts
    if args.command == "demo":
        return _demo.main(n=args.n, out=args.out)
    if args.command == "stream":
        from .streams.cli import main as _stream

        return _stream(args.rest)
    if args.command == "suite":
        import jax

        from .simulation import load_suite, run_suite

        chunks = None if args.chunks is None else [int(c) for c in args.chunks.split(",")]
        devices = jax.devices()
        chunk_size, vmap_size, how = _batching(args)
        n_chunks = -(-args.n_sims // chunk_size) if args.n_sims > 0 and chunk_size > 0 else 0
        print(
            f"jaxgal suite: {args.n_sims} simulations of {args.n_particles} stars in {n_chunks} chunk(s) of "
            f"{chunk_size}, on {len(devices)} {devices[0].platform} device(s){how}", flush=True,
        )
        if args.plan:
            return 0
        client = None
        if args.scheduler:
            from distributed import Client

            client = Client(args.scheduler)
        written = run_suite(
            args.out, args.n_sims, args.seed, n_particles=args.n_particles, chunk_size=chunk_size,
            chunks=chunks, keep_particles=args.keep_particles, client=client, vmap_size=vmap_size,
        )
        rows = load_suite(args.out, allow_partial=True)["theta"].shape[0]
        print(f"wrote {len(written)} chunk(s); {rows} of {args.n_sims} simulations stored in {args.out}")
        _print_manifest(args.out)
        return 0
    if args.command == "observe":
        return _observe(args)
    return 1  # pragma: no cover - argparse enforces a command


def _batching(args) -> tuple[int, int | None, str]:
    """``(chunk_size, vmap_size, note)`` of ``jaxgal suite``: a resumed suite keeps its chunk
    size; on a CPU chunks of 16, one simulation at a time per device (as ever); on a GPU the
    simulations that fit one device's memory (XLA's analysis, :func:`jaxgal.simulation.plan_batches`)
    vectorised per device, and chunks of that times the device count."""
    import json

    from .simulation import CPU_CHUNK, plan_batches

    existing = None
    settings = os.path.join(args.out, "suite.json")
    if os.path.exists(settings):
        with open(settings) as fh:
            existing = json.load(fh).get("chunk_size")
    chunk_size = args.chunk_size if args.chunk_size is not None else (existing or CPU_CHUNK)
    if args.n_particles < 1 or args.n_sims < 1 or chunk_size < 1:  # run_suite names the bad argument
        return chunk_size, None, ""
    plan = plan_batches(args.n_particles)  # on a CPU: no compilation, vmap_size None
    if plan["vmap_size"] is None:
        return chunk_size, None, ""
    if args.chunk_size is None and existing is None:
        chunk_size = plan["chunk_size"]
    vmap = max(1, min(plan["vmap_size"], chunk_size // plan["devices"]))
    note = (f"; {vmap} simulation(s) vectorised per device ({plan['per_simulation_bytes'] / 1e6:.0f} MB each by "
            "XLA's memory analysis)")
    return chunk_size, vmap, note


def _print_manifest(out: str) -> None:
    from .simulation import read_manifest

    m = read_manifest(out)
    if m is None:
        return
    s = m["summary"]
    rate = s["seconds_per_simulation"]
    print(
        f"manifest: {s['sims_done']} simulations; c200 clipped {s['c200_clipped']}, flagged bins "
        f"{s['flagged_bins']} (in {s['sims_with_flagged_bins']} simulations), failed integrations "
        f"{s['failed_integrations']} of {s['failed_integrations_checked_sims']} checked, non-finite stored "
        f"values {s['nonfinite_values'] or 'none'}"
        + (f"; {rate:.2f} s per simulation (steady)" if rate else "")
    )


def _observe(args) -> int:
    from . import observables as O
    from .simulation import observe_suite, update_manifest

    if args.catalogue:
        cuts = O.QualityCuts(max_frac_distance_err=args.max_frac_distance_err)
        model = O.CatalogueErrorModel.from_catalogue(
            O.read_catalogue(args.catalogue), cuts=cuts, source=os.path.basename(args.catalogue)
        )
    elif args.model:
        model = O.load_observation_model(args.model)
    else:
        model = None
    chunks = None if args.chunks is None else [int(c) for c in args.chunks.split(",")]
    written = observe_suite(args.suite, model, seed=args.seed, chunks=chunks)
    man = update_manifest(args.suite)
    for ident, rec in man.get("observations", {}).items():
        rate = rec.get("seconds_per_simulation")
        print(f"observed with {ident}: {rec['chunks_observed']} chunk(s)"
              + (f", {rate:.2f} s per simulation" if rate else ""))
    print(f"wrote {len(written)} observed chunk(s) in {args.suite}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
