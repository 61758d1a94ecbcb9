"""The ``jaxgal`` command line: the thin shell around the pure core (progress, files, devices).

``jaxgal demo [--n N] [--out DIR] [--devices K]`` runs the end-to-end demo (see
``jaxgal.demo``). ``--devices K`` splits the work over K host devices; it must be set before
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
    args = parser.parse_args(argv)

    _set_host_devices(args.devices)
    if args.command == "demo":
        from . import demo as _demo

        return _demo.main(n=args.n, out=args.out)
    return 1  # pragma: no cover - argparse enforces a command


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
