"""``rsnn-brian export``: a run's spike trains (or a saved recording) to NWB, neo's NWB layout or .npz.

Registered by :func:`rsnn_brian.cli.build_parser` through :func:`register`; pynwb, neo and the
package's training code are imported only when the command runs, so ``rsnn-brian --help`` stays
instant.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["register", "cmd_export", "FORMATS"]

FORMATS = ("nwb", "neo", "npz")
_NEEDS = {"nwb": ("pynwb", "hdmf"), "neo": ("pynwb", "hdmf", "neo", "quantities"), "npz": ()}


def register(sub) -> None:
    """Add the ``export`` subcommand to the command line's subparsers."""
    p = sub.add_parser(
        "export", help="spike trains of a run's samples to NWB (pynwb), neo or .npz",
        description="Simulate samples with a run's weights and write every layer's spike trains, with the "
        "network and the samples' labels and predictions: nwb (one Units row per neuron, samples as trials), "
        "neo (NWB in neo's layout: neo.io.NWBIO reads one Segment per sample) or npz (a saved recording, "
        "which this command also takes as its source). Needs the extra: pip install rsnn_brian[nwb].")
    p.add_argument("source", metavar="RUN_DIR", help="a run directory written by rsnn-brian train, or a "
                   "recording saved by this command with --format npz")
    p.add_argument("--out", required=True, help="the file to write (its folder must exist)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="output format (unset: npz for an --out ending in .npz, else nwb)")
    p.add_argument("--split", choices=["test", "train"], default=None, help="which split of the run (unset: test)")
    p.add_argument("--samples", default=None, help="START:STOP (stop excluded), an index, or indices separated "
                   "by commas (unset: the first 20 samples of a run; all of a saved recording)")
    p.add_argument("--checkpoint", default=None,
                   help="file in RUN_DIR/checkpoints (e.g. epoch-001.npz) or a path; unset: latest.npz")
    p.add_argument("--device", choices=["numpy", "runtime", "cpp_standalone"], default=None,
                   help="simulator (unset: the run's)")
    p.add_argument("--no-weights", action="store_true", help="leave the synapses (weights) out of the file")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.set_defaults(func=cmd_export)


def _source(args):
    from .npz import load_recording
    from .record import parse_samples, record_run
    src = Path(args.source)
    if src.is_dir():
        return record_run(src, split=args.split or "test", samples=args.samples, checkpoint=args.checkpoint,
                          device=args.device)
    if src.is_file() and src.suffix == ".npz":
        given = [f for f, v in (("--split", args.split), ("--checkpoint", args.checkpoint),
                                ("--device", args.device)) if v is not None]
        if given:
            raise ValueError(f"{', '.join(given)} apply to a run directory; {src} is a saved recording")
        data = load_recording(src)
        return data if args.samples is None else data.select(parse_samples(args.samples, data.n_samples))
    raise FileNotFoundError(f"{src} is neither a run directory nor a saved recording (.npz)")


def cmd_export(args) -> int:
    from ._common import check_output, require
    fmt = args.format or ("npz" if Path(args.out).suffix == ".npz" else "nwb")
    for module in _NEEDS[fmt]:
        require(module, f"rsnn-brian export --format {fmt}")
    check_output(args.out, args.force)           # before minutes of simulation, not after
    data = _source(args)
    if fmt == "nwb":
        from .nwb import write_nwb
        write_nwb(data, args.out, force=args.force, weights=not args.no_weights)
    elif fmt == "neo":
        from .neo import write_neo
        write_neo(data, args.out, force=args.force, weights=not args.no_weights)
    else:
        from .npz import save_recording
        if args.no_weights:
            import dataclasses
            data = dataclasses.replace(data, weights=None)
        save_recording(data, args.out, force=args.force)
    print(f"wrote {args.out} ({fmt}): {data.summary()}")
    return 0
