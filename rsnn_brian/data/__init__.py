"""Data sets and input encoders.

:mod:`.images` loads MNIST / Fashion-MNIST (and the built-in offline subset),
:mod:`.encoders` turns pixels into Bernoulli spike trains. The speech wing
(:mod:`.speech`) is imported on demand, not here, so that importing this
package needs neither Brian2 nor the speech extras.
"""

from .encoders import EncoderSettings, RateEncoder, encode_bernoulli, spike_probabilities
from .images import load_builtin, load_images, make_builtin_subset

__all__ = ["load_images", "load_builtin", "make_builtin_subset",
           "EncoderSettings", "RateEncoder", "encode_bernoulli", "spike_probabilities"]
