"""The ``jaxgal`` command line: the thin shell around the pure core (progress, files, devices).

``jaxgal demo [--n N] [--out DIR] [--devices K]`` runs the end-to-end demo (see
``jaxgal.demo``). ``jaxgal suite OUT --n-sims N [--seed S] [--n-particles P]
[--chunk-size C] [--chunks I,J,...] [--devices K] [--plan]`` runs (or resumes) a suite of MW–LMC
simulations drawn from the Table 1 prior (``jaxgal.simulation.run_suite``).
``jaxgal stream fit CONFIG.toml [--out DIR]`` runs the stream-acceleration analysis
(``jaxgal.streams.cli``). ``jaxgal train``, ``jaxgal infer``, ``jaxgal diagnose`` and
``jaxgal plot`` are the inference commands (``jaxgal.inference.cli``, ``docs/inference.md``;
``jaxgal train --help``). ``--devices K`` splits the work over K host CPU devices: the
arguments are parsed and the device count set (``jaxgal._hostdevices``) before anything
imports JAX (``import jaxgal`` does not).
"""

from __future__ import annotations

import argparse
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
    suite.add_argument("--chunk-size", type=int, default=16, help="simulations per stored chunk")
    suite.add_argument("--chunks", default=None, help="comma-separated chunk indices (default all)")
    suite.add_argument("--devices", type=int, default=None, help="host CPU devices to shard over")
    suite.add_argument("--plan", action="store_true", help="print the devices and chunks that would run, then exit")
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
        n_chunks = -(-args.n_sims // args.chunk_size) if args.n_sims > 0 and args.chunk_size > 0 else 0
        print(
            f"jaxgal suite: {args.n_sims} simulations of {args.n_particles} stars in {n_chunks} chunk(s) of "
            f"{args.chunk_size}, on {len(devices)} {devices[0].platform} device(s)", flush=True,
        )
        if args.plan:
            return 0
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
