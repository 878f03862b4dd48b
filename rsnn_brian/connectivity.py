"""Initial connectivity and weights (spec section 1): the reservoir grid, all-to-all, init_weights.

Recurrent layers are wired as in the authors' code: neurons on a 3-D grid
(:func:`grid_shape`), 20 % inhibitory, a synapse a -> b with probability
``c * exp(-D(a, b)^2 / lambda^2)``, lambda = 2, c by (pre, post) type; or
all-to-all. Trained weights start U(-1, 1); the output layer gets fixed
lateral inhibition. Weight matrices are (n_post, n_pre). Every random draw
comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import math

import numpy as np

from .network import LATERAL_WEIGHT, Architecture, LayerWeights, NetworkWeights, parse_architecture

__all__ = ["grid_shape", "reservoir_mask", "init_weights", "init_weights_with_types", "initial_weights",
           "RESERVOIR_C", "RESERVOIR_LAMBDA", "RESERVOIR_INHIBITORY_FRACTION", "KNOWN_GRIDS"]

# Reservoir connection probabilities c[(pre_is_inh, post_is_inh)] (spec section 1,
# authors' code): E->E 0.45, E->I 0.30, I->E 0.60, I->I 0.15, and lambda = 2.
RESERVOIR_C = {(False, False): 0.45, (False, True): 0.30,
               (True, False): 0.60, (True, True): 0.15}
RESERVOIR_LAMBDA = 2.0
RESERVOIR_INHIBITORY_FRACTION = 0.2
# Grids used by the authors' code.
KNOWN_GRIDS = {400: (5, 5, 16), 200: (5, 5, 8), 800: (10, 10, 8)}


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


def reservoir_probabilities(n: int, inhibitory_fraction: float,
                            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Connection probabilities of the authors' reservoir, self-connections included.

    Neurons on the 3-D grid of :func:`grid_shape`; ``inhibitory_fraction`` of them (drawn with
    one ``rng.permutation``) inhibitory; ``p(a -> b) = c * exp(-D(a, b)^2 / lambda^2)`` with c by
    (pre, post) type (:data:`RESERVOIR_C`) and lambda = :data:`RESERVOIR_LAMBDA`.

    Returns ``prob`` (n_post, n_pre) float and ``inhibitory`` (n,) bool.
    """
    gx, gy, _ = grid_shape(n)
    idx = np.arange(n)
    pos = np.stack([idx % gx, (idx // gx) % gy, idx // (gx * gy)], axis=1).astype(float)
    inhibitory = np.zeros(n, dtype=bool)
    inhibitory[rng.permutation(n)[: int(round(inhibitory_fraction * n))]] = True
    d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)          # (post, pre)
    c = np.empty((n, n))
    for (pre_inh, post_inh), val in RESERVOIR_C.items():
        c[np.ix_(inhibitory == post_inh, inhibitory == pre_inh)] = val
    return c * np.exp(-d2 / RESERVOIR_LAMBDA ** 2), inhibitory


def reservoir_mask(n: int, rng: np.random.Generator, autapses: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sparse recurrent connectivity of the authors' reservoir.

    Neurons sit on a 3-D grid (:func:`grid_shape`); 20 % are inhibitory; a
    synapse a -> b exists with probability ``c * exp(-D(a, b)^2 / lambda^2)``,
    lambda = 2, c by (pre, post) type. No self-connections unless
    ``autapses`` (the authors' grid loop includes a == b, with probability c).
    The random draws are the same either way.

    Returns ``mask`` (n_post, n_pre) bool and ``inhibitory`` (n,) bool.
    """
    prob, inhibitory = reservoir_probabilities(n, RESERVOIR_INHIBITORY_FRACTION, rng)
    if not autapses:
        np.fill_diagonal(prob, 0.0)
    mask = rng.random((n, n)) < prob
    return mask, inhibitory


def init_weights_with_types(arch: Architecture | str, rng: np.random.Generator,
                            recurrent: str = "reservoir", low: float = -1.0, high: float = 1.0,
                            autapses: bool = False) -> tuple[NetworkWeights, list]:
    """:func:`init_weights` and the neuron types it drew: ``(weights, inhibitory)``.

    ``inhibitory[k - 1]`` is the (n_k,) bool array of layer k's inhibitory
    neurons for a reservoir layer, None for every other layer.
    """
    if isinstance(arch, str):
        arch = parse_architecture(arch)
    if recurrent not in ("reservoir", "all"):
        raise ValueError(f"recurrent connectivity must be 'reservoir' or 'all', got {recurrent!r}")
    layers, types = [], []
    for k, spec in enumerate(arch.layers[1:], start=1):
        n_pre = arch.layers[k - 1].size
        ff = rng.uniform(low, high, size=(spec.size, n_pre))
        inh = None
        if spec.kind == "recurrent":
            if recurrent == "reservoir":
                mask, inh = reservoir_mask(spec.size, rng, autapses=autapses)
            else:
                mask = np.ones((spec.size, spec.size), bool) if autapses else ~np.eye(spec.size, dtype=bool)
            rec = np.where(mask, rng.uniform(low, high, size=mask.shape), 0.0)
            layers.append(LayerWeights(ff, rec, mask, True))
        elif spec.kind == "output":
            mask = ~np.eye(spec.size, dtype=bool)
            layers.append(LayerWeights(ff, np.where(mask, LATERAL_WEIGHT, 0.0), mask, False))
        else:
            layers.append(LayerWeights(ff))
        types.append(inh)
    return NetworkWeights(arch, layers, allow_autapses=autapses), types


def init_weights(arch: Architecture | str, rng: np.random.Generator,
                 recurrent: str = "reservoir", low: float = -1.0, high: float = 1.0,
                 autapses: bool = False) -> NetworkWeights:
    """Initial weights of the spec: U(low, high) everywhere trained.

    ``recurrent``: 'reservoir' (sparse 3-D grid connectivity) or 'all'
    (all-to-all). ``autapses``: recurrent layers may connect a neuron to
    itself (the authors' grid loop; off in the spec). The output layer gets
    fixed lateral inhibition of weight :data:`rsnn_brian.network.LATERAL_WEIGHT`.
    """
    return init_weights_with_types(arch, rng, recurrent, low, high, autapses)[0]


def initial_weights(arch: Architecture | str, seed: int, recurrent: str = "reservoir", autapses: bool = False,
                    reservoir_weights: str = "uniform") -> NetworkWeights:
    """The weights a training run starts from: :func:`init_weights` with ``default_rng(seed)``.

    ``reservoir_weights``: 'uniform' (U(-1, 1), the spec) or 'dale': every existing synapse of a
    reservoir layer starts at +1 from an excitatory and -1 from an inhibitory presynaptic neuron
    (the authors' first commit); the draws are the same either way, so the feed-forward weights
    and the masks do not depend on it.
    """
    if reservoir_weights not in ("uniform", "dale"):
        raise ValueError(f"reservoir_weights must be 'uniform' or 'dale', got {reservoir_weights!r}")
    weights, types = init_weights_with_types(arch, np.random.default_rng(seed), recurrent=recurrent,
                                             autapses=autapses)
    if reservoir_weights == "dale":
        reservoirs = [(lw, inh) for lw, inh in zip(weights.layers, types) if inh is not None]
        if not reservoirs:
            raise ValueError(f"reservoir_weights = 'dale': {weights.arch} with recurrent = {recurrent!r} "
                             "has no reservoir layer")
        for lw, inh in reservoirs:          # by the presynaptic neuron's type (columns are pre)
            lw.rec[...] = np.where(lw.rec_mask, np.where(inh, -1.0, 1.0)[None, :], 0.0)
    return weights
