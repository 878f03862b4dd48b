"""Network structure in plain NumPy: architectures, layer parameters, weights.

Everything here is dimensionless and in time steps of ``dt``; the Brian2 wing
converts physical units to these numbers in one place
(:mod:`rsnn_brian.brian.model`). Weight matrices are (n_post, n_pre)
everywhere.

Architecture strings follow the paper: ``784-400-R400-10`` is 784 inputs, a
feed-forward hidden layer of 400, a recurrent layer of 400 and an output
layer of 10 with fixed lateral inhibition.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "LayerSpec", "LayerParams", "LayerWeights", "Architecture", "NetworkWeights",
    "parse_architecture", "propagators", "psp_kernel", "grid_shape",
    "reservoir_mask", "init_weights", "with_params", "LATERAL_WEIGHT",
]

#: Fixed lateral inhibition between output neurons (spec section 1).
LATERAL_WEIGHT = -1.0

# Reservoir connection probabilities c[(pre_is_inh, post_is_inh)] (spec section 1,
# authors' code): E->E 0.45, E->I 0.30, I->E 0.60, I->I 0.15, and lambda = 2.
RESERVOIR_C = {(False, False): 0.45, (False, True): 0.30,
               (True, False): 0.60, (True, True): 0.15}
RESERVOIR_LAMBDA = 2.0
RESERVOIR_INHIBITORY_FRACTION = 0.2
# Grids used by the authors' code.
KNOWN_GRIDS = {400: (5, 5, 16), 200: (5, 5, 8), 800: (10, 10, 8)}

_TOKEN = re.compile(r"^(R?)(\d+)$")


@dataclass(frozen=True)
class LayerSpec:
    """One layer: ``kind`` is 'input', 'hidden', 'recurrent' or 'output'."""

    size: int
    kind: str

    def __post_init__(self):
        if self.kind not in ("input", "hidden", "recurrent", "output"):
            raise ValueError(f"unknown layer kind {self.kind!r}")
        if int(self.size) != self.size or self.size < 1:
            raise ValueError(f"layer size must be a positive integer, got {self.size!r}")

    @property
    def token(self) -> str:
        return f"R{self.size}" if self.kind == "recurrent" else str(self.size)


@dataclass(frozen=True)
class Architecture:
    """The layers of a network, input first, output last."""

    layers: tuple[LayerSpec, ...]

    def __post_init__(self):
        layers = tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        if len(layers) < 2:
            raise ValueError("an architecture needs at least an input and an output layer")
        if layers[0].kind != "input":
            raise ValueError("the first layer must be the input layer")
        if layers[-1].kind != "output":
            raise ValueError("the last layer must be the output layer")
        for lay in layers[1:-1]:
            if lay.kind not in ("hidden", "recurrent"):
                raise ValueError(f"a middle layer must be hidden or recurrent, got {lay.kind!r}")

    @classmethod
    def parse(cls, text: str) -> "Architecture":
        return parse_architecture(text)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(lay.size for lay in self.layers)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].size

    @property
    def n_classes(self) -> int:
        return self.layers[-1].size

    @property
    def trained(self) -> tuple[LayerSpec, ...]:
        """The layers with incoming weights (all but the input)."""
        return self.layers[1:]

    def __str__(self) -> str:
        return "-".join(lay.token for lay in self.layers)


def parse_architecture(text: str) -> Architecture:
    """Parse the paper's notation, e.g. ``784-400-R400-10``.

    The first number is the input size, the last the number of classes
    (output layer with lateral inhibition); ``R`` marks a recurrent layer.
    """
    if not isinstance(text, str):
        raise TypeError(f"architecture must be a string like '784-400-R400-10', got {type(text).__name__}")
    tokens = [t.strip() for t in text.strip().split("-")]
    if len(tokens) < 2 or any(t == "" for t in tokens):
        raise ValueError(
            f"invalid architecture {text!r}: expected sizes separated by '-', "
            "e.g. '784-400-R400-10' (input, hidden layers, R = recurrent, output)")
    layers = []
    for k, tok in enumerate(tokens):
        m = _TOKEN.match(tok)
        if not m:
            raise ValueError(
                f"invalid architecture {text!r}: token {tok!r} is not a layer size "
                "(a positive integer, 'R' in front for a recurrent layer)")
        rec, size = m.group(1) == "R", int(m.group(2))
        if size < 1:
            raise ValueError(f"invalid architecture {text!r}: layer {k} has size 0")
        if k == 0 or k == len(tokens) - 1:
            if rec:
                where = "input" if k == 0 else "output"
                raise ValueError(f"invalid architecture {text!r}: the {where} layer cannot be recurrent")
            layers.append(LayerSpec(size, "input" if k == 0 else "output"))
        else:
            layers.append(LayerSpec(size, "recurrent" if rec else "hidden"))
    return Architecture(tuple(layers))


@dataclass(frozen=True)
class LayerParams:
    """Dimensionless neuron parameters of one layer, times in steps of dt.

    Defaults are the paper's image settings (spec section 1): tau_m = 64 ms,
    tau_s = 8 ms, refractory 2 ms, dt = 1 ms.
    """

    v_th: float = 20.0
    tau_m: float = 64.0
    tau_s: float = 8.0
    refractory: int = 2

    def __post_init__(self):
        for name in ("v_th", "tau_m", "tau_s"):
            val = getattr(self, name)
            if not (isinstance(val, (int, float, np.floating, np.integer)) and math.isfinite(val) and val > 0):
                raise ValueError(f"LayerParams.{name} must be a positive finite number, got {val!r}")
        if abs(self.tau_m - self.tau_s) < 1e-9 * self.tau_m:
            raise ValueError("LayerParams: tau_m and tau_s must differ (the PSP kernel is singular)")
        if int(self.refractory) != self.refractory or self.refractory < 0:
            raise ValueError(f"LayerParams.refractory must be a non-negative whole number of steps, got {self.refractory!r}")
        object.__setattr__(self, "refractory", int(self.refractory))

    @property
    def restart_offset(self) -> int:
        """Steps from a spike to the last step the membrane is held at 0.

        With Brian2's schedule v is reset at the firing step t and held for
        refractory - 1 more steps, so it integrates again from step
        t + max(refractory - 1, 0) + 1 (spec 2.2: r_f = t_{f-1} + R - 1).
        """
        return max(self.refractory - 1, 0)


def propagators(p: LayerParams) -> tuple[float, float, float]:
    """Exact one-step propagators ``(a_v, a_vI, a_I)`` of the neuron.

    ``v' = a_v v + a_vI I``, ``I' = a_I I`` for
    ``dv/dt = -v/tau_m + I/tau_s``, ``dI/dt = -I/tau_s`` over one step.
    """
    a_v = math.exp(-1.0 / p.tau_m)
    a_I = math.exp(-1.0 / p.tau_s)
    a_vI = p.tau_m / (p.tau_m - p.tau_s) * (a_v - a_I)
    return a_v, a_vI, a_I


def psp_kernel(p: LayerParams, n_steps: int) -> np.ndarray:
    """Membrane response ``h[k]`` to a unit spike k steps earlier (no reset).

    A spike at step m adds 1 to I at step m; v first moves at step m + 1.
    ``h[0] = 0``. Computed by the same recursion the simulators use.
    """
    a_v, a_vI, a_I = propagators(p)
    h = np.zeros(n_steps, dtype=np.float64)
    v, i = 0.0, 1.0
    for k in range(1, n_steps):
        v, i = a_v * v + a_vI * i, a_I * i
        h[k] = v
    return h


# ---------------------------------------------------------------------------
# weights

@dataclass
class LayerWeights:
    """Incoming weights of one layer, all (n_post, n_pre).

    ``ff``: from the layer below. ``rec``: within the layer (recurrent
    synapses, or the fixed lateral inhibition of the output layer), zero
    where ``rec_mask`` is False. ``rec_trainable`` is False for lateral
    inhibition.
    """

    ff: np.ndarray
    rec: np.ndarray | None = None
    rec_mask: np.ndarray | None = None
    rec_trainable: bool = False

    def copy(self) -> "LayerWeights":
        return LayerWeights(self.ff.copy(), None if self.rec is None else self.rec.copy(),
                            None if self.rec_mask is None else self.rec_mask.copy(), self.rec_trainable)


@dataclass
class NetworkWeights:
    """Weights of every non-input layer, bottom to top."""

    arch: Architecture
    layers: list[LayerWeights] = field(default_factory=list)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Check shapes, masks and finiteness; raise ValueError naming the problem."""
        arch = self.arch
        if len(self.layers) != len(arch.layers) - 1:
            raise ValueError(f"weights for {len(self.layers)} layers, architecture {arch} has "
                             f"{len(arch.layers) - 1} layers with incoming weights")
        for k, (lw, spec) in enumerate(zip(self.layers, arch.layers[1:]), start=1):
            n_pre = arch.layers[k - 1].size
            name = f"layer {k} ({spec.token})"
            if np.shape(lw.ff) != (spec.size, n_pre):
                raise ValueError(f"{name}: feed-forward weights must have shape (n_post, n_pre) = "
                                 f"({spec.size}, {n_pre}), got {np.shape(lw.ff)}")
            if not np.all(np.isfinite(lw.ff)):
                raise ValueError(f"{name}: feed-forward weights contain NaN or inf")
            needs_rec = spec.kind in ("recurrent", "output")
            if needs_rec:
                if lw.rec is None or lw.rec_mask is None:
                    raise ValueError(f"{name}: needs recurrent/lateral weights and a mask")
                if np.shape(lw.rec) != (spec.size, spec.size) or np.shape(lw.rec_mask) != (spec.size, spec.size):
                    raise ValueError(f"{name}: recurrent weights and mask must have shape "
                                     f"({spec.size}, {spec.size}), got {np.shape(lw.rec)} and {np.shape(lw.rec_mask)}")
                if not np.all(np.isfinite(lw.rec)):
                    raise ValueError(f"{name}: recurrent weights contain NaN or inf")
                if np.any(lw.rec[~lw.rec_mask] != 0):
                    raise ValueError(f"{name}: recurrent weights are non-zero where the mask has no synapse")
                if np.any(np.diag(lw.rec_mask)):
                    raise ValueError(f"{name}: self-connections are not allowed")
            elif lw.rec is not None:
                raise ValueError(f"{name}: a feed-forward layer has no recurrent weights")

    def copy(self) -> "NetworkWeights":
        return NetworkWeights(self.arch, [lw.copy() for lw in self.layers])

    # flat views, for optimisers and checkpoints
    def trainable(self) -> dict[str, np.ndarray]:
        """The trainable arrays by name: ``ff1``, ``rec2``, ... (views, not copies)."""
        out = {}
        for k, lw in enumerate(self.layers, start=1):
            out[f"ff{k}"] = lw.ff
            if lw.rec is not None and lw.rec_trainable:
                out[f"rec{k}"] = lw.rec
        return out

    def trainable_masks(self) -> dict[str, np.ndarray]:
        """The existing synapses of each trainable recurrent array, by name (``rec2``, ...)."""
        return {f"rec{k}": lw.rec_mask for k, lw in enumerate(self.layers, start=1)
                if lw.rec is not None and lw.rec_trainable}

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (for ``np.savez``; load with :meth:`from_arrays`)."""
        out = {}
        for k, lw in enumerate(self.layers, start=1):
            out[f"ff{k}"] = lw.ff
            if lw.rec is not None:
                out[f"rec{k}"] = lw.rec
                out[f"mask{k}"] = lw.rec_mask
        return out

    @classmethod
    def from_arrays(cls, arch: Architecture, arrays) -> "NetworkWeights":
        layers = []
        for k, spec in enumerate(arch.layers[1:], start=1):
            if f"ff{k}" not in arrays:
                raise ValueError(f"weights file lacks 'ff{k}' for architecture {arch}")
            ff = np.array(arrays[f"ff{k}"], dtype=np.float64)
            if spec.kind in ("recurrent", "output"):
                if f"rec{k}" not in arrays or f"mask{k}" not in arrays:
                    raise ValueError(f"weights file lacks 'rec{k}'/'mask{k}' for architecture {arch}")
                layers.append(LayerWeights(ff, np.array(arrays[f"rec{k}"], dtype=np.float64),
                                           np.array(arrays[f"mask{k}"], dtype=bool),
                                           spec.kind == "recurrent"))
            else:
                layers.append(LayerWeights(ff))
        return cls(arch, layers)


def grid_shape(n: int) -> tuple[int, int, int]:
    """3-D grid for a reservoir of n neurons (the authors' grids where known)."""
    if n in KNOWN_GRIDS:
        return KNOWN_GRIDS[n]
    if n % 25 == 0:
        return (5, 5, n // 25)
    # most cube-like factorisation
    best = (1, 1, n)
    for a in range(1, int(round(n ** (1 / 3))) + 2):
        if n % a:
            continue
        m = n // a
        for b in range(a, int(math.isqrt(m)) + 1):
            if m % b == 0:
                c = m // b
                if max(a, b, c) - min(a, b, c) < max(best) - min(best):
                    best = (a, b, c)
    return best


def reservoir_mask(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sparse recurrent connectivity of the authors' reservoir.

    Neurons sit on a 3-D grid (:func:`grid_shape`); 20 % are inhibitory; a
    synapse a -> b exists with probability ``c * exp(-D(a, b)^2 / lambda^2)``,
    lambda = 2, c by (pre, post) type. No self-connections.

    Returns ``mask`` (n_post, n_pre) bool and ``inhibitory`` (n,) bool.
    """
    gx, gy, gz = grid_shape(n)
    idx = np.arange(n)
    pos = np.stack([idx % gx, (idx // gx) % gy, idx // (gx * gy)], axis=1).astype(float)
    inhibitory = np.zeros(n, dtype=bool)
    inhibitory[rng.permutation(n)[: int(round(RESERVOIR_INHIBITORY_FRACTION * n))]] = True
    d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)          # (post, pre)
    c = np.empty((n, n))
    for (pre_inh, post_inh), val in RESERVOIR_C.items():
        c[np.ix_(inhibitory == post_inh, inhibitory == pre_inh)] = val
    prob = c * np.exp(-d2 / RESERVOIR_LAMBDA ** 2)
    np.fill_diagonal(prob, 0.0)
    mask = rng.random((n, n)) < prob
    return mask, inhibitory


def init_weights(arch: Architecture | str, rng: np.random.Generator,
                 recurrent: str = "reservoir", low: float = -1.0, high: float = 1.0) -> NetworkWeights:
    """Initial weights of the spec: U(low, high) everywhere trained.

    ``recurrent``: 'reservoir' (sparse 3-D grid connectivity) or 'all'
    (all-to-all without self-connections). The output layer gets fixed
    lateral inhibition of weight :data:`LATERAL_WEIGHT`.
    """
    if isinstance(arch, str):
        arch = parse_architecture(arch)
    if recurrent not in ("reservoir", "all"):
        raise ValueError(f"recurrent connectivity must be 'reservoir' or 'all', got {recurrent!r}")
    layers = []
    for k, spec in enumerate(arch.layers[1:], start=1):
        n_pre = arch.layers[k - 1].size
        ff = rng.uniform(low, high, size=(spec.size, n_pre))
        if spec.kind == "recurrent":
            if recurrent == "reservoir":
                mask, _ = reservoir_mask(spec.size, rng)
            else:
                mask = ~np.eye(spec.size, dtype=bool)
            rec = np.where(mask, rng.uniform(low, high, size=mask.shape), 0.0)
            layers.append(LayerWeights(ff, rec, mask, True))
        elif spec.kind == "output":
            mask = ~np.eye(spec.size, dtype=bool)
            layers.append(LayerWeights(ff, np.where(mask, LATERAL_WEIGHT, 0.0), mask, False))
        else:
            layers.append(LayerWeights(ff))
    return NetworkWeights(arch, layers)


def with_params(params: list[LayerParams] | LayerParams, n_layers: int) -> list[LayerParams]:
    """Expand one LayerParams to every trained layer, or check a list's length."""
    if isinstance(params, LayerParams):
        return [params] * n_layers
    params = list(params)
    if len(params) != n_layers:
        raise ValueError(f"need LayerParams for {n_layers} layers, got {len(params)}")
    return params

