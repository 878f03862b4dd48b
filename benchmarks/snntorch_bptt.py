"""snnTorch surrogate-gradient BPTT training step for the same network, for comparison.

Run by ``bench_training.py`` in its own process (so that its peak memory is
measured alone); it can use another interpreter than the package's, since
PyTorch may be installed only there (``--snntorch-python``). Prints one JSON
line: ms per training sample (median over repeats) and peak RSS in MB.

Network: 784-400-R400-10 with LIF neurons and a first-order synaptic current
(snn.Synaptic, snn.RSynaptic with an all-to-all recurrent linear layer),
beta = exp(-1/64), alpha = exp(-1/8), thresholds 20/20/15 scaled to the
unit-threshold convention, T = 400 steps, spike-count MSE loss, Adam.
"""

import argparse
import json
import math
import resource
import statistics
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    import snntorch as snn
    import torch
    from snntorch import surrogate

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)      # decaying traces turn denormal; without this the CPU crawls
    torch.manual_seed(0)
    beta, alpha = math.exp(-1 / 64), math.exp(-1 / 8)
    grad = surrogate.fast_sigmoid()

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(784, 400, bias=False)
            self.lif1 = snn.Synaptic(alpha=alpha, beta=beta, spike_grad=grad, threshold=1.0)
            self.fc2 = torch.nn.Linear(400, 400, bias=False)
            self.lif2 = snn.RSynaptic(alpha=alpha, beta=beta, spike_grad=grad, threshold=1.0,
                                      all_to_all=True, linear_features=400)
            self.fc3 = torch.nn.Linear(400, 10, bias=False)
            self.lif3 = snn.Synaptic(alpha=alpha, beta=beta, spike_grad=grad, threshold=1.0)

        def forward(self, x):                       # x: (T, B, 784)
            syn1, mem1 = self.lif1.init_synaptic()
            spk2, syn2, mem2 = self.lif2.init_rsynaptic()
            syn3, mem3 = self.lif3.init_synaptic()
            count = 0
            # the input layer's currents for all steps in one product; unbind, not cur1[t]: the
            # backward of indexing adds a zero gradient of the whole (T, B, 400) tensor per step
            # (O(T^2) memory traffic; it made this step 3-5x slower)
            cur1 = self.fc1(x).unbind(0)
            for t in range(x.shape[0]):
                spk1, syn1, mem1 = self.lif1(cur1[t], syn1, mem1)
                spk2, syn2, mem2 = self.lif2(self.fc2(spk1), spk2, syn2, mem2)
                spk3, syn3, mem3 = self.lif3(self.fc3(spk2), syn3, mem3)
                count = count + spk3
            return count

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    B, T = args.batch, args.steps
    x = (torch.rand(T, B, 784) < 0.04).float()
    y = torch.randint(0, 10, (B,))
    target = torch.full((B, 10), 5.0)
    target[torch.arange(B), y] = 35.0
    times = []
    for r in range(args.repeats + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = ((net(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        if r:                                        # first repeat warms up
            times.append((time.perf_counter() - t0) * 1000 / B)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"ms_per_sample": statistics.median(times), "peak_rss_mb": peak_mb,
                      "torch": torch.__version__, "snntorch": snn.__version__,
                      "threads": torch.get_num_threads(), "batch": B, "steps": T}))


if __name__ == "__main__":
    main()
