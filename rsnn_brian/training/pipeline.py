"""One mini-batch cut into shares in this process: each share is back-propagated as soon as
its samples are simulated, while the Brian2 binaries of the other shares still run.

With ``workers = N`` (cpp_standalone) a batch is N chunks, one process of the compiled binary
each. The runner hands every chunk's spikes back the moment its process ends
(``Runner.run(..., on_chunk=...)``); a share whose samples have all arrived goes to a thread
that runs the engine on it, so the cores that finish simulating start differentiating at once.
The shares' gradients are then summed in share order (:func:`.distributed.combine_grads`),
exactly as when the shares run one after the other or on Dask workers: the pipeline changes
when things run, never what is computed.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..spikes import Recording
from . import distributed

__all__ = ["SharePipeline"]


class SharePipeline:
    """A pool of ``threads`` engine threads for the shares of in-process mini-batches."""

    def __init__(self, threads: int):
        self.pool = ThreadPoolExecutor(max(int(threads), 1), thread_name_prefix="rsnn-share")

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def run(self, sim, weights, params, engine, tables, dataset, shares: list[np.ndarray], epoch: int,
            sample_weight: np.ndarray, inputs=None) -> list[dict]:
        """The shares' :func:`.distributed.compute_share` results, in share order.

        ``sample_weight``: the batch's error weights (in the order of the concatenated shares);
        ``inputs``: the batch's input trains if already drawn.
        """
        from ..engine.solve import blas_threads
        indices = np.concatenate(shares)
        bounds = np.cumsum([0] + [len(s) for s in shares])
        if inputs is None:
            inputs = dataset.inputs(indices, epoch)
        labels = dataset.labels[indices]
        n_layers = len(weights.layers)
        trains = [[None] * indices.size for _ in range(n_layers)]
        arrived = np.zeros(indices.size, bool)
        futures = [None] * len(shares)
        # every thread uses the BLAS thread count set here once (threadpoolctl is process-wide)
        per_share = dataclasses.replace(engine, threads=1, blas_threads=None)

        def on_chunk(start: int, per_layer) -> None:
            n = len(per_layer[0])
            for k, lay in enumerate(per_layer):
                trains[k][start:start + n] = lay
            arrived[start:start + n] = True
            for s in range(len(shares)):
                a, b = bounds[s], bounds[s + 1]
                if futures[s] is None and arrived[a:b].all():
                    rec = Recording([list(inputs[a:b])] + [lay[a:b] for lay in trains])
                    futures[s] = self.pool.submit(distributed.differentiate, rec, weights, params, per_share,
                                                  tables, labels[a:b], sample_weight[a:b])

        with distributed.recorded_warnings() as caught, blas_threads(engine.blas_threads):
            try:
                if getattr(sim, "takes_on_chunk", False):
                    sim.run(weights, inputs, on_chunk=on_chunk)
                else:
                    rec = sim.run(weights, inputs)
                    on_chunk(0, rec.layers[1:])
            finally:      # a failed share or simulation: let the others end before raising
                outs = [f.result() if f is not None and f.exception() is None else f for f in futures]
            for f in futures:
                if f is None:
                    raise RuntimeError("internal error: a share's samples never all came back from the simulator")
                if f.exception() is not None:
                    raise f.exception()
        info = distributed.sorted_warnings(caught)
        return [{**out, **(info if s == 0 else {"silent": 0, "warnings": []})} for s, out in enumerate(outs)]
