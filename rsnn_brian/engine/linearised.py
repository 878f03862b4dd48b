"""The linearised spike-train level model of spec 4.1, for finite differences.

At the recorded operating point (spike trains, hence ``e0``, ``R``, ``Q``
and counts ``o0`` held fixed), the counts are a function of the weights:

    nu (o_i - o0_i) = sum_j (w_ij e_ij(o) - w0_ij e0_ij) + sum_p (u_ip e_ip(o) - u0_ip e0_ip)
    e_ij(o)         = e0_ij + R_ij (o_j - o0_j) + Q_ij (o_i - o0_i)

solved layer by layer (one linear system per sample in every layer; it is
diagonal in hidden layers). ``Q`` is formed explicitly here (B, n_post,
n_pre) from the tables, independently of the engine's compact
``weighted_q_sum``; the diagonal uses the same clamp ``|s| >= s_min`` as the
engine in recurrent layers. The loss is on the output counts
``o_real + (o - o0)`` (``o0`` includes the artificial label spikes) with the
margin mask held fixed at the recorded counts, so that its derivative at
``w0`` is exactly the engine's output error. The loss returned is the batch
mean, matching the batch-averaged gradients.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..network import NetworkWeights
from ..spikes import Recording
from .effect_ratio import pre_ratio, q_matrix, self_factor
from .gradients import operating_point
from .loss import output_error, targets
from .settings import EngineSettings

__all__ = ["LinearisedModel"]


class LinearisedModel:
    """``model.loss(weights) -> float`` and ``model.count_changes(weights)``."""

    def __init__(self, recording: Recording, weights: NetworkWeights, params, labels,
                 settings: EngineSettings | None = None, sample_weight=None, tables=None,
                 cache_dir=None):
        self.settings = settings or EngineSettings()
        s64 = dataclasses.replace(self.settings, dtype="float64")
        op = operating_point(recording, weights, params, labels, s64, tables, cache_dir)
        self.op, self.w0 = op, weights.copy()
        self.arch = weights.arch
        K = len(weights.layers)
        zpre = self.settings.q_silent_pre == "zero"
        self.R, self.Q, self.Rrec, self.Qrec = [None], [None], [None], [None]
        for k in range(1, K + 1):
            zpost = self.arch.layers[k].kind != "recurrent"
            o_pre, o = op.counts[k - 1], op.counts[k]
            self.R.append(pre_ratio(op.e_ff[k], o_pre, o, self.settings.silent_ratio))
            self.Q.append(q_matrix(op.tables[k], o_pre, o, zpost, zpre))
            if op.e_rec[k] is not None:
                self.Rrec.append(pre_ratio(op.e_rec[k], o, o, self.settings.silent_ratio))
                self.Qrec.append(q_matrix(op.tables[k], o, o, zpost, zpre))
            else:
                self.Rrec.append(None)
                self.Qrec.append(None)
        B = recording.batch_size
        self.sw = np.ones(B) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        _, _, self.mask = output_error(op.out_counts, op.labels, self.settings.loss, self.sw)
        self.y = targets(op.labels, self.arch.n_classes, self.settings.loss)

    def count_changes(self, weights: NetworkWeights) -> list[np.ndarray]:
        """``o - o0`` per layer k = 0..K, each (B, n_k) (zero for the input)."""
        op, K = self.op, len(weights.layers)
        do = [np.zeros(op.counts[0].shape)]
        for k in range(1, K + 1):
            lw, lw0 = weights.layers[k - 1], self.w0.layers[k - 1]
            kind = self.arch.layers[k].kind
            nu = op.params[k - 1].v_th
            wq = np.einsum("ij,bij->bi", lw.ff, self.Q[k])
            rhs = np.einsum("ij,bij->bi", lw.ff - lw0.ff, op.e_ff[k])
            rhs += np.einsum("ij,bij,bj->bi", lw.ff, self.R[k], do[k - 1])
            if lw.rec is not None:
                wq += np.einsum("ij,bij->bi", lw.rec, self.Qrec[k])
                rhs += np.einsum("ij,bij->bi", lw.rec - lw0.rec, op.e_rec[k])
            s = self_factor(wq, nu, self.settings.s_min if kind == "recurrent" else None)
            if lw.rec is None:
                do.append(rhs / (nu * s))
            else:
                M = nu * s[:, :, None] * np.eye(s.shape[1]) - lw.rec[None] * self.Rrec[k]
                do.append(np.linalg.solve(M, rhs[:, :, None])[:, :, 0])
        return do

    def loss(self, weights: NetworkWeights) -> float:
        """Batch-mean loss on the output counts of the linearised model."""
        out = self.op.out_counts + self.count_changes(weights)[-1]
        d = np.where(self.mask, out - self.y, 0.0)
        return float(np.mean(0.5 * self.sw * np.sum(d * d, axis=1)))
