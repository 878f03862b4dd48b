"""How large the ST-RSBP error gradient is beside the weight regulariser's, per weight array.

Question: why does the regulariser hold training back? Simulate a
few training steps (the preset's network, ``--batch`` samples each) at the
initial weights or at a checkpoint's, and print, per trainable array, the
share of weights whose error gradient is nonzero in a step, its median size
where nonzero, and the mean size of the regulariser's gradient (spec
section 5, ``--lam``). Nothing is trained; with ``--out`` the table is also
written as a results folder (config.toml, manifest.json, gradient_share.csv).
Runtime: full (the preset's network, NumPy simulator) under a minute; --quick
(the demo preset, 2 steps of 2 samples from 100 images) about 5 s.

    python protocols/gradient_share.py --preset fashion-mnist --batch 1 --steps 4
    python protocols/gradient_share.py --checkpoint runs/fm16/checkpoints/epoch-001.npz --batch 16
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from _protocol import Results, parser


def main(argv=None):
    ap = parser(__doc__, "")
    ap.set_defaults(out=None)
    ap.add_argument("--preset", default="fashion-mnist")
    ap.add_argument("--checkpoint", help="start from this checkpoint's weights (default: the initial weights)")
    ap.add_argument("--batch", type=int, default=1, help="samples per step")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--lam", type=float, default=10.0, help="the regulariser's lambda (spec: 10)")
    ap.add_argument("--device", default="numpy", help="simulator (default numpy: no build)")
    ap.add_argument("--pool", type=int, default=2000, help="draw the samples from the first N training images")
    a = ap.parse_args(argv)
    a.seed = a.seeds[0]
    if a.quick:
        a.preset, a.batch, a.steps, a.pool = "demo", 2, 2, 100

    from rsnn_brian.config import load_preset
    from rsnn_brian.engine import backward
    from rsnn_brian.optim import RegularizerSettings, regularizer_gradients
    from rsnn_brian.training import Trainer, _close, load_checkpoint, make_simulator

    cfg = load_preset(a.preset).replace(batch_size=a.batch, device=a.device, train_limit=a.pool, test_limit=10)
    tr = Trainer(cfg, "unused", progress=False)
    if a.checkpoint:
        weights, _, _ = load_checkpoint(a.checkpoint)
        tr.weights = weights
    sim = make_simulator(cfg, tr.arch, tr.params)
    rng = np.random.default_rng(a.seed)
    grads = []
    try:
        for _ in range(a.steps):
            idx = rng.choice(len(tr.train_set), a.batch, replace=False)
            rec = sim.run(tr.weights, tr.train_set.inputs(idx, 0))
            res = backward(rec, tr.weights, tr.params, tr.train_set.labels[idx], settings=tr.engine,
                           tables=tr.tables)
            grads.append(res.grads)
    finally:
        _close(sim)
    reg = regularizer_gradients(tr.weights, RegularizerSettings(lam=a.lam))
    print(f"{a.preset}, {'checkpoint ' + a.checkpoint if a.checkpoint else 'initial weights'}, "
          f"{a.steps} steps of {a.batch} sample(s), regulariser lambda {a.lam}")
    print(f"{'array':6} {'nonzero share':>13} {'median |g| nonzero':>19} {'mean |g_reg|':>13} {'mean |w|':>9}")
    trainable = tr.weights.trainable()
    masks = tr.weights.trainable_masks()      # of the weights in use (a checkpoint's reservoir may differ)
    rows = []
    for name, g_reg in reg.items():
        m = masks.get(name, np.ones(g_reg.shape, bool))     # recurrent arrays: existing synapses only
        G = np.stack([g[name][m] for g in grads])
        nz = G != 0
        med = float(np.median(np.abs(G[nz]))) if nz.any() else 0.0
        print(f"{name:6} {nz.mean():13.3f} {med:19.4g} {np.abs(g_reg[m]).mean():13.4g} "
              f"{np.abs(trainable[name][m]).mean():9.3f}")
        rows.append({"array": name, "nonzero_share": float(nz.mean()), "median_abs_grad_nonzero": med,
                     "mean_abs_reg_grad": float(np.abs(g_reg[m]).mean()),
                     "mean_abs_weight": float(np.abs(trainable[name][m]).mean())})
    if a.out is not None:
        res = Results(Path(a.out), "gradient_share", {k: v for k, v in vars(a).items() if k not in ("out", "seeds")},
                      [a.seed], a.quick, a.overwrite)
        res.csv("gradient_share", pd.DataFrame(rows))
        res.finish()
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
