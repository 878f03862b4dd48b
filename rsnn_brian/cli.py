"""Command line: ``rsnn-brian info | gradcheck | train | evaluate``.

Thin: parses arguments and calls the package; heavy imports happen inside
the subcommands so that ``rsnn-brian --help`` is instant.
"""

from __future__ import annotations

import argparse
import sys


def _add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", help="named preset (see --list-presets), e.g. fashion-mnist, demo")
    p.add_argument("--config", help="TOML config file (keys as in rsnn_brian.config.TrainConfig)")
    p.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    p.add_argument("--dataset", help="builtin, fashion-mnist, mnist or fsdd")
    p.add_argument("--data-dir", help="data directory (default: $RSNN_BRIAN_DATA, else ~/.cache/rsnn_brian/data)")
    p.add_argument("--arch", dest="architecture", help="architecture, e.g. 784-400-R400-10")
    p.add_argument("--thresholds", help="comma-separated thresholds, one per layer with incoming weights")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="initial learning rate eta_0")
    p.add_argument("--gradient", choices=["reference", "exact"])
    p.add_argument("--effect-ratio", choices=["brian2", "authors"],
                   help="effect-ratio tables in Brian2's discretisation (default) or the authors'")
    p.add_argument("--silent-ratio", type=float,
                   help="pre ratio R_ij where neuron i or j is silent: 0 (spec, default) or 0.5 (the authors' "
                        "code: errors pass through silent neurons)")
    p.add_argument("--recurrent-below", choices=["spec", "authors"],
                   help="error sent below a recurrent layer: 'spec' (default) or 'authors' (the order their "
                        "Reservoir.cu computes; needs --gradient reference and as many neurons below)")
    p.add_argument("--regulariser", action=argparse.BooleanOptionalAction, default=None,
                   help="the weight regulariser of spec 5 (--no-regulariser: off)")
    p.add_argument("--regulariser-lambda", type=float,
                   help="the regulariser's lambda (spec 5: 10); smaller is weaker, 0 adds nothing")
    p.add_argument("--boosting", action=argparse.BooleanOptionalAction, default=None,
                   help="boosting of misclassified samples after each epoch (--no-boosting: off)")
    p.add_argument("--split", dest="split_kind", choices=["official", "speaker"],
                   help="fsdd: 'official' (recordings 0-4 of each speaker and digit are the test set) "
                        "or 'speaker' (one speaker held out)")
    p.add_argument("--held-out-speaker", help="fsdd with --split speaker: the test speaker (default theo)")
    p.add_argument("--train-limit", type=int, help="use only N training samples (stratified)")
    p.add_argument("--test-limit", type=int, help="use only N test samples (stratified)")
    p.add_argument("--device", choices=["cpp_standalone", "runtime", "cuda_standalone", "numpy"])
    p.add_argument("--samples-per-run", type=int, help="with --batch-size 1: samples simulated back to back per "
                   "Brian2 run (default 1; more only pads training steps, but speeds up the test pass)")
    p.add_argument("--workers", type=int, help="cores used per batch (cpp_standalone): the batch is cut into "
                   "this many Brian2 runs started at once, and the gradients into as many threads")
    p.add_argument("--seed", type=int)
    p.add_argument("--checkpoint-every", type=int, help="also checkpoint every N batches inside an epoch")
    p.add_argument("--out", required=False, help="run directory (must not exist, unless --resume)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")


def _config_from_args(args):
    from .config import TrainConfig, load_config, load_preset
    if args.preset and args.config:
        raise SystemExit("rsnn-brian train: give --preset or --config, not both")
    if args.preset:
        cfg = load_preset(args.preset)
    elif args.config:
        cfg = load_config(args.config)
    else:
        cfg = TrainConfig()
    thresholds = None
    if args.thresholds:
        try:
            thresholds = tuple(float(x) for x in args.thresholds.split(","))
        except ValueError:
            raise SystemExit(f"rsnn-brian train: --thresholds must be numbers separated by commas, got {args.thresholds!r}")
    changes = dict(dataset=args.dataset, data_dir=args.data_dir, architecture=args.architecture,
                   thresholds=thresholds, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                   gradient=args.gradient, train_limit=args.train_limit, test_limit=args.test_limit,
                   device=args.device, samples_per_run=args.samples_per_run, seed=args.seed,
                   checkpoint_every=args.checkpoint_every, split_kind=args.split_kind,
                   effect_ratio=args.effect_ratio, held_out_speaker=args.held_out_speaker,
                   silent_ratio=args.silent_ratio, workers=args.workers,
                   recurrent_below=args.recurrent_below, regulariser=args.regulariser,
                   regulariser_lambda=args.regulariser_lambda, boosting=args.boosting)
    if args.held_out_speaker and not args.split_kind:
        changes["split_kind"] = "speaker"
    if args.architecture and thresholds is None:
        # a new architecture may have another number of layers: keep one threshold per layer
        from .network import parse_architecture
        n = len(parse_architecture(args.architecture).layers) - 1
        if n != len(cfg.thresholds):
            changes["thresholds"] = (cfg.thresholds[-2] if len(cfg.thresholds) > 1 else cfg.thresholds[0],) * (n - 1) + (cfg.thresholds[-1],)
    return cfg.replace(**changes)


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


def cmd_train(args) -> int:
    from .config import preset_names
    if args.list_presets:
        print("\n".join(preset_names()))
        return 0
    from .training import train
    if args.resume:
        if not args.out:
            raise SystemExit("rsnn-brian train: --resume needs --out RUN_DIR")
        train(None, args.out, resume=True)
        return 0
    cfg = _config_from_args(args)
    out = args.out or f"runs/{cfg.dataset}-{cfg.architecture}-seed{cfg.seed}"
    train(cfg, out, resume=False)
    return 0


def cmd_evaluate(args) -> int:
    from .training import evaluate_run
    evaluate_run(args.run_dir, split=args.split, device=args.device, limit=args.limit,
                 checkpoint=args.checkpoint, samples_per_run=args.samples_per_run)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rsnn-brian", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="versions, usable devices and effective Brian2 preferences")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("gradcheck", help="finite-difference check of the ST-RSBP gradients")
    p.add_argument("--arch", default="20-15-R12-5", help="architecture (default 20-15-R12-5)")
    p.add_argument("--option", choices=["exact", "reference"], default="exact")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=3, help="samples")
    p.add_argument("--steps", type=int, default=100, help="time steps per sample")
    p.add_argument("--tol", type=float, default=1e-5, help="largest accepted relative error")
    p.add_argument("--device", choices=["numpy", "runtime", "cpp_standalone"], default="numpy",
                   help="simulator that records the spike trains")
    p.set_defaults(func=cmd_gradcheck)
    p = sub.add_parser("train", help="train an RSNN with ST-RSBP")
    _add_train_args(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="evaluate a run's latest (or any) checkpoint")
    p.add_argument("run_dir")
    p.add_argument("--checkpoint", default=None,
                   help="file in RUN_DIR/checkpoints (e.g. epoch-000.npz) or a path; default latest.npz")
    p.add_argument("--samples-per-run", type=int, default=None,
                   help="samples per simulator run while evaluating (default: as in training)")
    p.add_argument("--split", choices=["test", "train"], default="test")
    p.add_argument("--device", choices=["cpp_standalone", "runtime", "numpy"], default=None)
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("rsnn-brian: interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"rsnn-brian {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
