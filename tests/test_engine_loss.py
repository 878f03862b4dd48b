import numpy as np

from rsnn_brian.engine.loss import LossSettings, augment_label, output_error, predict, targets
from rsnn_brian.spikes import SpikeTrains


def test_targets_and_masked_error():
    counts = np.array([[40, 3, 11, 0], [0, 0, 0, 0]])
    labels = np.array([0, 2])
    np.testing.assert_array_equal(targets(labels, 4), [[35, 5, 5, 5], [5, 5, 35, 5]])
    g, loss, mask = output_error(counts, labels)
    np.testing.assert_array_equal(g, [[0, 0, 6, 0], [0, 0, -35, 0]])   # |40-35| = 5 is not > 5
    np.testing.assert_allclose(loss, [18.0, 0.5 * 35 ** 2])
    g2, loss2, _ = output_error(counts, labels, sample_weight=np.array([2.0, 0.5]))
    np.testing.assert_allclose(g2, g * np.array([[2.0], [0.5]]))
    np.testing.assert_allclose(loss2, loss * [2.0, 0.5])


def test_predict_ties_to_lowest_index():
    np.testing.assert_array_equal(predict(np.array([[1, 3, 3], [0, 0, 0], [5, 1, 5]])), [1, 0, 0])


def test_augment_label_inserts_evenly_spaced_spikes():
    silent = SpikeTrains(np.array([1, 2]), np.array([5, 9]), 4, 400)
    out = augment_label([silent, silent], np.array([0, 1]))
    a = out[0]
    steps = a.step[a.neuron == 0]
    np.testing.assert_array_equal(steps, 11 * np.arange(1, 36) - 1)      # 400 // 35 = 11
    assert a.counts()[0] == 35 and a.counts()[1] == 1
    assert out[1] is silent                                               # label fired: unchanged
    out = augment_label([silent], np.array([3]), LossSettings(n_artificial=10))
    assert out[0].counts()[3] == 10
