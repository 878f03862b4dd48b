"""Command line: ``rsnn-brian info | gradcheck | train | evaluate | explore | export`` (``python -m rsnn_brian``).

Thin: parses arguments, calls the package, prints. The ``train`` flags are
built from the config fields' declarations (:func:`rsnn_brian.config.setting`),
so each has its help text and default in one place. Heavy imports happen
inside the subcommands so that ``rsnn-brian --help`` is instant. Every
failure a user can cause ends in one line on stderr and a non-zero exit
(2 for errors, 130 for Ctrl-C); ``RSNN_BRIAN_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys

from . import __version__

#: Flags written by hand (not one-to-one with a config field).
_MANUAL = {"thresholds"}


def _field_flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _add_train_args(p: argparse.ArgumentParser) -> None:
    import typing

    from .config import TrainConfig
    p.add_argument("--preset", help="named preset (see --list-presets), e.g. demo, fashion-mnist-b16")
    p.add_argument("--config", help="TOML config file (the keys of the settings below, e.g. lr = 0.002)")
    p.add_argument("--list-presets", action="store_true", help="show the presets and what each is, then exit")
    p.add_argument("--out", help="run directory (must not exist or be empty, unless --resume; "
                   "default runs/DATASET-ARCH-seedN)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its latest checkpoint (with --epochs N: extend it)")
    hints = typing.get_type_hints(TrainConfig)
    groups = {}
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        sec = meta["section"]
        if sec not in groups:
            groups[sec] = p.add_argument_group(f"{sec} settings")
        g = groups[sec]
        default = f.default
        shown = ",".join(str(x) for x in default) if isinstance(default, tuple) else default
        shown = "unset (all)" if shown is None else shown
        help_text = meta["help"] if "unset" in meta["help"] else f"{meta['help']} (default: {shown})"
        flag = _field_flag(f)
        if f.name in _MANUAL:
            g.add_argument(flag, dest=f.name, metavar="V[,V...]", help=help_text.replace(
                "one value: all layers", "comma-separated; one value: all layers"))
            continue
        base = next((a for a in typing.get_args(hints[f.name]) if a is not type(None)), hints[f.name])
        if base is bool:
            g.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif meta["choices"]:
            g.add_argument(flag, dest=f.name, choices=list(meta["choices"]), help=help_text)
        elif base in (int, float):
            g.add_argument(flag, dest=f.name, type=base, metavar="N" if base is int else "X", help=help_text)
        else:
            g.add_argument(flag, dest=f.name, metavar="TIME" if meta["kind"] == "time" else "TEXT",
                           help=help_text)


def _config_from_args(args):
    """The config of ``rsnn-brian train``: preset or file (or defaults), then the flags."""
    from .config import TrainConfig, load_config, load_preset
    from .network import parse_architecture
    if args.preset and args.config:
        raise SystemExit("rsnn-brian train: error: give --preset or --config, not both")
    if args.preset:
        cfg = load_preset(args.preset)
    elif args.config:
        cfg = load_config(args.config)
    else:
        cfg = TrainConfig()
    changes = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(TrainConfig)}
    if args.thresholds:
        try:
            changes["thresholds"] = tuple(float(x) for x in args.thresholds.split(","))
        except ValueError:
            raise SystemExit(f"rsnn-brian train: error: --thresholds must be numbers separated by commas, "
                             f"got {args.thresholds!r}") from None
    if args.held_out_speaker and not args.split_kind:
        changes["split_kind"] = "speaker"
    if args.architecture and not args.thresholds:
        # a new architecture may have another number of layers: keep one threshold per layer
        n = len(parse_architecture(args.architecture).layers) - 1
        th = cfg.thresholds
        if n != len(th):
            changes["thresholds"] = (th[-2] if len(th) > 1 else th[0],) * (n - 1) + (th[-1],)
    return cfg.replace(**changes)


# -- subcommands -------------------------------------------------------------------

def cmd_info(args) -> int:
    from .brian.info import collect_info, format_info
    print(format_info(collect_info()))
    return 0


def cmd_gradcheck(args) -> int:
    from .reference.gradcheck import main_gradcheck
    kw = dict(arch=args.arch, option=args.option, seed=args.seed, n_samples=args.batch,
              n_steps=args.steps, tol=args.tol)
    if args.device == "numpy":
        return main_gradcheck(kw)
    from .brian.model import NeuronConfig
    from .brian.runner import Runner
    from .network import parse_architecture
    from .spikes import SpikeTrains
    arch = parse_architecture(args.arch)
    with Runner(arch, [NeuronConfig(v_th=5.0)] * (len(arch.layers) - 1), device=args.device,
                n_steps=args.steps, samples_per_run=args.batch) as runner:
        def simulator(weights, params, x):
            return runner.run(weights, [SpikeTrains.from_dense(xb) for xb in x])
        kw["simulator"] = simulator
        return main_gradcheck(kw)


def _list_presets() -> str:
    from .config import load_preset, preset_description, preset_names
    out = []
    for name in preset_names():
        c = load_preset(name)
        out.append(f"{name}\n    {c.dataset}, {c.architecture}, batch {c.batch_size}, lr {c.lr}, "
                   f"regulariser {'on' if c.regulariser else 'off'}, {c.epochs} epochs, {c.device}"
                   f"{', ' + str(c.workers) + ' workers' if c.workers > 1 else ''}\n"
                   f"    {preset_description(name)}")
    return "\n".join(out)


def cmd_train(args) -> int:
    if args.list_presets:
        print(_list_presets())
        return 0
    from .training import train
    if args.resume:
        if not args.out:
            raise SystemExit("rsnn-brian train: error: --resume needs --out RUN_DIR")
        given = [_field_flag(f) for f in dataclasses.fields(_config_cls())
                 if f.name != "epochs" and getattr(args, f.name, None) is not None]
        if given or args.preset or args.config:
            raise SystemExit("rsnn-brian train: error: --resume takes the run's own config.toml; only --epochs "
                             f"may be given with it (got {', '.join(given or ['--preset/--config'])})")
        result = train(None, args.out, resume=True, epochs=args.epochs)
    else:
        cfg = _config_from_args(args)
        out = args.out or f"runs/{cfg.dataset}-{cfg.architecture}-seed{cfg.seed}"
        if os.path.exists(out) and not os.path.isdir(out):
            raise ValueError(f"--out {out} is a file, not a directory; choose a new run directory")
        result = train(cfg, out, resume=False)
    print(result.summary())
    return 0


def _config_cls():
    from .config import TrainConfig
    return TrainConfig


def cmd_evaluate(args) -> int:
    from .training import evaluate_run
    res = evaluate_run(args.run_dir, split=args.split, device=args.device, limit=args.limit,
                       checkpoint=args.checkpoint, samples_per_run=args.samples_per_run)
    print(res.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rsnn-brian", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rsnn-brian {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = sub.add_parser("info", help="versions, usable devices and effective Brian2 preferences")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("gradcheck", help="finite-difference check of the ST-RSBP gradients", formatter_class=fmt)
    p.add_argument("--arch", default="20-15-R12-5", help="architecture")
    p.add_argument("--option", choices=["exact", "reference"], default="exact", help="gradient rule")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--batch", type=int, default=3, help="samples")
    p.add_argument("--steps", type=int, default=100, help="time steps per sample")
    p.add_argument("--tol", type=float, default=None,
                   help="largest accepted relative error (unset: the checker's own bound)")
    p.add_argument("--device", choices=["numpy", "runtime", "cpp_standalone"], default="numpy",
                   help="simulator that records the spike trains")
    p.set_defaults(func=cmd_gradcheck)
    p = sub.add_parser("train", help="train an RSNN with ST-RSBP",
                       description="Train an RSNN with ST-RSBP. A setting takes its value from its flag, else "
                       "from --config or --preset, else the default shown.")
    _add_train_args(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="evaluate a run's latest (or any) checkpoint", formatter_class=fmt)
    p.add_argument("run_dir", help="a run directory written by rsnn-brian train")
    p.add_argument("--checkpoint", default=None,
                   help="file in RUN_DIR/checkpoints (e.g. epoch-001.npz) or a path; unset: latest.npz")
    p.add_argument("--samples-per-run", type=int, default=None,
                   help="samples per simulator run while evaluating (unset: as in training)")
    p.add_argument("--split", choices=["test", "train"], default="test", help="which split")
    p.add_argument("--device", choices=["cpp_standalone", "runtime", "numpy"], default=None,
                   help="simulator (unset: the run's)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only N samples (class-balanced)")
    p.set_defaults(func=cmd_evaluate)
    from .explore.command import register as _register_explore  # imports neither Panel nor Brian2
    _register_explore(sub)
    from .export.command import register as _register_export  # imports neither pynwb nor neo
    _register_export(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    return first if len(text.splitlines()) == 1 else first + " ..."


class _StderrHandler(logging.StreamHandler):
    """Log lines to whatever ``sys.stderr`` is at the time of writing."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    # the package's messages go to stderr while the command runs (and only then: a library
    # user's logging is left as it was)
    log = logging.getLogger("rsnn_brian")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    level = log.level
    log.setLevel(logging.INFO)
    try:
        return _run(args)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def _run(args) -> int:
    debug = bool(os.environ.get("RSNN_BRIAN_DEBUG"))
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"rsnn-brian {args.command}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, ImportError,
            RuntimeError, OSError) as exc:
        if debug:
            raise
        print(f"rsnn-brian {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:      # Brian2's own exceptions and anything unforeseen: one line, not a report
        if debug:
            raise
        print(f"rsnn-brian {args.command}: error: {type(exc).__name__}: {_one_line(exc)} "
              "(RSNN_BRIAN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
