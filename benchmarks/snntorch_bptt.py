"""snnTorch surrogate-gradient BPTT training step of our network, for comparison.

Run in its own process (``python snntorch_bptt.py --inputs net.npz``), by an
interpreter that has PyTorch and snnTorch (``--snntorch-python`` of the
benchmarks; it need not have rsnn_brian). Prints one JSON line: ms per
training sample, wall and CPU (medians over repeats after one warm-up
step), peak resident memory of this process during the steps (sampled,
benchmarks/_measure.py), and the mean spike counts per sample of every
layer in the warm-up step.

The network is the one in the .npz, written by :func:`write_network` from
rsnn_brian's own objects (the benchmarks call it in their interpreter):

- the same initial weights (``init_weights``: U(-1, 1), the reservoir's
  sparse recurrent mask, the output layer's fixed lateral inhibition) and
  the same encoded inputs (``RateEncoder``, Bernoulli p = pixel / (5.5 *
  255), no spike at step 0), as 0/1 rasters;
- neurons: ``snn.Synaptic`` / ``snn.RSynaptic`` with ``alpha = a_I``,
  ``beta = a_v`` (our exact one-step propagators), reset to zero. snnTorch's
  membrane is ours divided by the threshold: weights ``w * a_vI / v_th``
  and threshold 1, so our thresholds (20/20/15) hold and the surrogate
  gradient (fast sigmoid, slope 25) sees the unit scale it is made for;
  Adam's learning rate per layer is scaled by the same factor;
- recurrence: a dense (n, n) product per step (``RSynaptic(all_to_all=True)``)
  whose weights are ours, zero off the reservoir's mask, and whose gradient
  is masked, so the synapses are those of our reservoir (snnTorch does the
  dense product's work all the same); the output layer's lateral inhibition
  is fixed (no gradient); no biases.

Differences that remain: a layer's input reaches its membrane in the same
step here (one step later in ours), and snnTorch zeroes the membrane one step
after a spike (``reset_delay``) where ours resets at once and holds one step
(refractory 2 ms); the spike counts printed side by side show what that does.
Loss: our output error (desired counts 35 / 5, margin 5), squared.

Without ``--inputs`` (``--batch``, ``--steps``): a synthetic stand-in, said so
in the JSON: Bernoulli p = 0.04 inputs, U(-1, 1) weights, all-to-all
recurrence, thresholds 20/20/15.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))    # _measure.py beside this script
from _measure import PeakRSS, cpu_seconds  # noqa: E402

# ---- parent side (rsnn_brian's interpreter) ----------------------------------


def write_network(path, weights, params, inputs, labels) -> None:
    """Our network, its inputs and labels to ``path`` (.npz) for the snnTorch process.

    ``weights``: NetworkWeights; ``params``: one LayerParams per trained
    layer; ``inputs``: list of SpikeTrains or a (B, T, n_in) 0/1 array.
    """
    import numpy as np

    from rsnn_brian.engine.neuron import BRIAN2
    from rsnn_brian.spikes import as_input_batch, dense_batch
    x = dense_batch(as_input_batch(inputs, weights.arch.n_inputs), dtype=np.uint8)
    arrays = {"x": x, "labels": np.asarray(labels, np.int64), "n_layers": len(weights.layers)}
    for k, (lw, p) in enumerate(zip(weights.layers, params), start=1):
        a_v, a_vI, a_I = BRIAN2.propagators(p)
        arrays.update({f"ff{k}": lw.ff, f"neuron{k}": np.array([p.v_th, a_v, a_vI, a_I])})
        if lw.rec is not None:
            arrays.update({f"rec{k}": lw.rec, f"mask{k}": lw.rec_mask, f"trainable{k}": lw.rec_trainable})
    np.savez(path, **arrays)


def run_child(python: str, npz, repeats: int, threads: int = 0) -> dict:
    """Run this script on ``npz`` in ``python``; its JSON result (RuntimeError if it failed)."""
    import subprocess
    cmd = [python, str(Path(__file__).resolve()), "--inputs", str(npz), "--repeats", str(repeats),
           "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"snnTorch run failed: {out.stderr.strip().splitlines()[-3:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- child side (PyTorch's interpreter) --------------------------------------


def load_network(path: str):
    import numpy as np
    z = np.load(path)
    layers = []
    for k in range(1, int(z["n_layers"]) + 1):
        v_th, a_v, a_vI, a_I = z[f"neuron{k}"]
        rec = z[f"rec{k}"] if f"rec{k}" in z else None
        layers.append(dict(ff=z[f"ff{k}"], rec=rec, mask=None if rec is None else z[f"mask{k}"],
                           trainable=bool(z[f"trainable{k}"]) if rec is not None else False,
                           v_th=float(v_th), a_v=float(a_v), a_vI=float(a_vI), a_I=float(a_I)))
    return z["x"], z["labels"], layers, "rsnn_brian network and RateEncoder inputs (.npz)"


def synthetic_network(batch: int, steps: int, seed: int = 0):
    import numpy as np
    rng = np.random.default_rng(seed)
    a_v, a_I = math.exp(-1 / 64), math.exp(-1 / 8)
    a_vI = 64 / 56 * (a_v - a_I)
    sizes, layers = [784, 400, 400, 10], []
    for k, v_th in enumerate((20.0, 20.0, 15.0), start=1):
        n, rec = sizes[k], None
        if k >= 2:
            mask = ~np.eye(n, dtype=bool)
            rec = np.where(mask, rng.uniform(-1, 1, (n, n)) if k == 2 else -1.0, 0.0)
        layers.append(dict(ff=rng.uniform(-1, 1, (n, sizes[k - 1])), rec=rec, mask=None if rec is None else mask,
                           trainable=k == 2, v_th=v_th, a_v=a_v, a_vI=a_vI, a_I=a_I))
    x = (rng.random((batch, steps, 784)) < 0.04).astype(np.uint8)
    x[:, 0] = 0
    return x, rng.integers(0, 10, batch), layers, "synthetic: Bernoulli p = 0.04, all-to-all recurrence"


def build(layers, lr: float = 1e-3):
    import snntorch as snn
    import torch
    from snntorch import surrogate
    grad = surrogate.fast_sigmoid()

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.lif, self.has_rec = torch.nn.ModuleList(), torch.nn.ModuleList(), []
            for L in layers:
                n_out, n_in = L["ff"].shape
                scale = L["a_vI"] / L["v_th"]          # membrane in units of the threshold
                fc = torch.nn.Linear(n_in, n_out, bias=False)
                fc.weight.data = torch.tensor(L["ff"] * scale, dtype=torch.float32)
                kw = dict(alpha=L["a_I"], beta=L["a_v"], spike_grad=grad, threshold=1.0, reset_mechanism="zero")
                if L["rec"] is None:
                    lif = snn.Synaptic(**kw)
                else:
                    lif = snn.RSynaptic(**kw, all_to_all=True, linear_features=n_out)
                    w = lif.recurrent.weight
                    w.data = torch.tensor(L["rec"] * scale, dtype=torch.float32)
                    lif.recurrent.bias.data.zero_()
                    lif.recurrent.bias.requires_grad_(False)
                    if L["trainable"]:
                        mask = torch.tensor(L["mask"], dtype=torch.float32)
                        w.register_hook(lambda g, m=mask: g * m)     # only the reservoir's synapses learn
                    else:
                        w.requires_grad_(False)                     # fixed lateral inhibition
                self.fc.append(fc)
                self.lif.append(lif)
                self.has_rec.append(L["rec"] is not None)

        def forward(self, x):                           # x: (T, B, n_in) -> per-layer (B, n) counts
            state = [lif.init_rsynaptic() if r else lif.init_synaptic() for lif, r in zip(self.lif, self.has_rec)]
            counts = [0.0] * len(self.lif)
            # the first layer's currents for all steps in one product; unbind, not cur[t]: the backward
            # of indexing adds a zero gradient of the whole (T, B, n) tensor per step (made it 3-5x slower)
            first = self.fc[0](x).unbind(0)
            for t in range(x.shape[0]):
                below = None
                for k, (fc, lif) in enumerate(zip(self.fc, self.lif)):
                    cur = first[t] if k == 0 else fc(below)
                    if self.has_rec[k]:
                        spk, syn, mem = lif(cur, *state[k])
                        state[k] = (spk, syn, mem)
                    else:
                        spk, syn, mem = lif(cur, *state[k])
                        state[k] = (syn, mem)
                    counts[k] = counts[k] + (spk if k == len(self.lif) - 1 else spk.detach())
                    below = spk
            return counts

    net = Net()
    groups = [{"params": [p for p in (fc.weight, *lif.parameters()) if p.requires_grad],
               "lr": lr * L["a_vI"] / L["v_th"]} for fc, lif, L in zip(net.fc, net.lif, layers)]
    return net, torch.optim.Adam(groups)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", help=".npz written by write_network (else a synthetic stand-in)")
    ap.add_argument("--batch", type=int, default=64, help="synthetic stand-in only")
    ap.add_argument("--steps", type=int, default=400, help="synthetic stand-in only")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's choice)")
    args = ap.parse_args(argv)

    import snntorch as snn
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)      # decaying traces turn denormal; without this the CPU crawls
    torch.manual_seed(0)
    if args.inputs:
        x, labels, layers, source = load_network(args.inputs)
    else:
        x, labels, layers, source = synthetic_network(args.batch, args.steps)
    B, T = x.shape[0], x.shape[1]
    net, opt = build(layers)
    xt = torch.tensor(x, dtype=torch.float32).permute(1, 0, 2).contiguous()      # (T, B, n_in)
    y = torch.full((B, layers[-1]["ff"].shape[0]), 5.0)
    y[torch.arange(B), torch.as_tensor(labels)] = 35.0
    times, cpu, first_counts = [], [], None
    with PeakRSS() as mem:
        for r in range(args.repeats + 1):
            c0, t0 = cpu_seconds(), time.perf_counter()
            opt.zero_grad()
            counts = net(xt)
            err = counts[-1] - y
            loss = 0.5 * (torch.where(err.abs() > 5.0, err, torch.zeros_like(err)) ** 2).sum() / B
            loss.backward()
            opt.step()
            if r:                                        # the first step warms up
                times.append((time.perf_counter() - t0) * 1000 / B)
                cpu.append((cpu_seconds() - c0) * 1000 / B)
            else:
                first_counts = [float(c.detach().sum()) / B for c in counts]
    print(json.dumps({"ms_per_sample": statistics.median(times), "cpu_ms_per_sample": statistics.median(cpu),
                      "peak_rss_mb": mem.peak_mb,
                      "start_rss_mb": mem.start_mb, "spikes_per_sample": first_counts, "inputs": source,
                      "input_spikes_per_sample": float(x.sum()) / B,
                      "torch": torch.__version__, "snntorch": snn.__version__,
                      "threads": torch.get_num_threads(), "batch": B, "steps": T, "repeats": args.repeats}))


if __name__ == "__main__":
    main()
