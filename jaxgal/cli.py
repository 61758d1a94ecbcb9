"""The ``jaxgal`` command line: the thin shell around the pure core (progress, files, devices).

``jaxgal demo [--n N] [--out DIR] [--devices K]`` runs the end-to-end demo (see
``jaxgal.demo``). ``jaxgal suite OUT --n-sims N [--seed S] [--n-particles P]
[--chunk-size C] [--chunks I,J,...] [--devices K]`` runs (or resumes) a suite of MW–LMC
simulations drawn from the Table 1 prior (``jaxgal.simulation.run_suite``).
``jaxgal stream fit CONFIG.toml [--out DIR]`` runs the stream-acceleration analysis
(``jaxgal.streams.cli``). ``--devices K`` splits the work over K host devices; it must be set before
JAX starts, so the CLI sets ``XLA_FLAGS`` itself and imports jaxgal afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys


def _set_host_devices(k: int | None) -> None:
    if k is None:
        return
    if "jax" in sys.modules:
        raise RuntimeError("--devices must be set before JAX is imported")
    flag = f"--xla_force_host_platform_device_count={int(k)}"
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jaxgal", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the end-to-end demo on its embedded default")
    demo.add_argument("--n", type=int, default=None, help="number of halo stars")
    demo.add_argument("--out", default="demo_output", help="folder for the figure and JSON")
    demo.add_argument("--devices", type=int, default=None, help="host devices to shard over")
    suite = sub.add_parser("suite", help="run or resume a suite of MW–LMC simulations from the prior")
    suite.add_argument("out", help="suite folder (resumed if it exists)")
    suite.add_argument("--n-sims", type=int, required=True, help="number of simulations")
    suite.add_argument("--seed", type=int, default=0)
    suite.add_argument("--n-particles", type=int, default=20_000, help="stars per simulation")
    suite.add_argument("--chunk-size", type=int, default=16, help="simulations per stored chunk")
    suite.add_argument("--chunks", default=None, help="comma-separated chunk indices (default all)")
    suite.add_argument("--devices", type=int, default=None, help="host devices to shard over")
    stream = sub.add_parser("stream", help="stream-track accelerations: `jaxgal stream fit CONFIG.toml`")
    stream.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of jaxgal.streams.cli")
    args = parser.parse_args(argv)

    _set_host_devices(getattr(args, "devices", None))
    if args.command == "demo":
        from . import demo as _demo

        return _demo.main(n=args.n, out=args.out)
    if args.command == "stream":
        from .streams.cli import main as _stream

        return _stream(args.rest)
    if args.command == "suite":
        from .simulation import load_suite, run_suite

        chunks = None if args.chunks is None else [int(c) for c in args.chunks.split(",")]
        written = run_suite(
            args.out, args.n_sims, args.seed, n_particles=args.n_particles, chunk_size=args.chunk_size,
            chunks=chunks,
        )
        rows = load_suite(args.out, allow_partial=True)["theta"].shape[0]
        print(f"wrote {len(written)} chunk(s); {rows} of {args.n_sims} simulations stored in {args.out}")
        return 0
    return 1  # pragma: no cover - argparse enforces a command


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
