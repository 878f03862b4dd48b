"""Settings of the ST-RSBP backward pass (one frozen value, every default here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .loss import LossSettings
from .neuron import BRIAN2, Discretisation, as_discretisation

__all__ = ["EngineSettings"]


@dataclass(frozen=True)
class EngineSettings:
    """Settings of the backward pass.

    option : 'exact' (consistent with the linearised model, spec 4.1) or
        'reference' (the authors' formulas).
    dtype : 'float64' (default, exact) or 'float32' (S-PSP GEMMs and the
        big elementwise products in single precision; about 2x faster).
    s_min : recurrent layers keep ``|s_i| >= s_min`` (sign kept).
    q_silent_pre : 'clamp' (spec: n_pre clamped to the table's range, so a
        silent pre neuron uses row 1) or 'zero' (Q = 0 where o_j = 0).
    silent_ratio : the pre ratio ``R_ij`` where o_j = 0 or o_i = 0: 0 in the
        spec (no error flows through a silent neuron), 0.5 in the authors'
        code (``Spiking.cu``/``Reservoir.cu``: errors pass through silent
        neurons with half their weight, in the error sent below and in the
        recurrent system; the lateral factor has no terms for silent neurons).
    recurrent_below : how a recurrent layer's error reaches the layer below.
        'spec': ``g_below = (W * R)^T y`` with ``A^T y = g / nu`` (spec 4).
        'authors': what the authors' ``Reservoir.cu`` computes,
        ``g_below = A^-T (W * R)^T (g / nu)``: the linear system applied on the
        side of the layer below. Their cuSOLVER call (``linearSolverQR``) reads
        the row-major matrices as column-major, so it returns
        ``RHS * LHS^-1`` where ``LHS^-1 * RHS`` was meant; defined only when the
        layer below has as many neurons as the recurrent layer (true of all
        their networks). 'reference' option only.
    loss : desired counts, margin, artificial label spikes.
    solver : linear systems of recurrent/output layers: 'dense' (batched
        ``np.linalg.solve`` on (B, n, n), one right-hand side per sample),
        'reduced' (the same, restricted to the neurons that fired: silent
        neurons decouple exactly, ``y = rhs / s``), 'sparse' (one SuperLU solve
        of the block-diagonal batch) or 'auto' (= 'reduced').
    """

    option: str = "exact"
    dtype: str = "float64"
    s_min: float = 1e-4
    q_silent_pre: str = "clamp"
    loss: LossSettings = field(default_factory=LossSettings)
    solver: str = "auto"
    silent_ratio: float = 0.0
    recurrent_below: str = "spec"
    #: OpenBLAS threads during the backward pass (None: leave as is). Small batched
    #: solves with threaded OpenBLAS stall for seconds when the cores are shared
    #: (measured: 11 ms single-threaded vs up to 9 s), so the default is 1.
    blas_threads: int | None = 1
    #: Threads over samples: the batch is cut into this many parts whose
    #: gradients are computed at once (NumPy releases the GIL in its kernels)
    #: and summed. Each part uses ``blas_threads`` BLAS threads.
    threads: int = 1
    #: At most this many samples per part (0: no limit): the S-PSP tensors of a part
    #: are (part, n_post, n_pre), so this bounds the memory of the backward pass.
    chunk: int = 32
    #: How the simulator stepped the neurons: the S-PSPs use the same update (spec 2.3),
    #: and so do the effect-ratio tables when none are passed. A Discretisation or a
    #: built-in's name ('brian2', 'authors').
    discretisation: Discretisation = BRIAN2

    def __post_init__(self):
        try:
            object.__setattr__(self, "discretisation", as_discretisation(self.discretisation))
        except ValueError as err:
            raise ValueError(f"EngineSettings.discretisation: {err}") from None
        if self.option not in ("exact", "reference"):
            raise ValueError(f"EngineSettings.option must be 'exact' or 'reference', got {self.option!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"EngineSettings.dtype must be 'float64' or 'float32', got {self.dtype!r}")
        if self.q_silent_pre not in ("clamp", "zero"):
            raise ValueError(f"EngineSettings.q_silent_pre must be 'clamp' or 'zero', got {self.q_silent_pre!r}")
        if self.solver not in ("auto", "dense", "reduced", "sparse"):
            raise ValueError(f"EngineSettings.solver must be 'auto', 'dense' or 'sparse', got {self.solver!r}")
        if not self.s_min > 0:
            raise ValueError("EngineSettings.s_min must be > 0")
        if int(self.chunk) != self.chunk or self.chunk < 0:
            raise ValueError(f"EngineSettings.chunk must be an integer >= 0, got {self.chunk!r}")
        if int(self.threads) != self.threads or self.threads < 1:
            raise ValueError(f"EngineSettings.threads must be a positive integer, got {self.threads!r}")
        if self.recurrent_below not in ("spec", "authors"):
            raise ValueError("EngineSettings.recurrent_below must be 'spec' or 'authors', "
                             f"got {self.recurrent_below!r}")
        if self.recurrent_below == "authors" and self.option != "reference":
            raise ValueError("EngineSettings.recurrent_below='authors' reproduces the authors' code and goes "
                             "with option='reference' only")
        if not (np.isfinite(self.silent_ratio) and self.silent_ratio >= 0):
            raise ValueError(f"EngineSettings.silent_ratio must be a finite number >= 0, got {self.silent_ratio!r}")
