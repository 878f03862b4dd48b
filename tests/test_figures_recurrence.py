"""figures/recurrence.py: the accuracies and seed-paired differences are those of the files."""

import numpy as np
import pandas as pd
import pytest
from script_loader import load_script


def _protocol_folder(path, acc):
    """A recurrence protocol's metrics.csv: acc = {network: [[epoch 1, epoch 2] per seed]}."""
    rows = [dict(epoch=e + 1, test_accuracy=a, condition=net, seed=s)
            for net, seeds in acc.items() for s, curve in enumerate(seeds) for e, a in enumerate(curve)]
    path.mkdir()
    pd.DataFrame(rows).to_csv(path / "metrics.csv", index=False)
    return path


def test_recurrence_figure_pairs_seeds_and_compares_at_one_epoch(tmp_path):
    mod = load_script("figures", "recurrence")
    folder = _protocol_folder(tmp_path / "p", {"shallow 784-400-10": [[80.0, 81.0], [79.0, 80.5]],
                                              "feed-forward 784-400-400-10": [[82.0, 83.0], [81.5, 82.0]]})
    runs = []
    for seed, curve in enumerate([[84.0, 85.0, 86.0], [83.0, 85.5, 86.5]]):   # an old file: epochs from 0
        f = tmp_path / f"rec{seed}.csv"
        pd.DataFrame({"epoch": range(3), "test_accuracy": curve}).to_csv(f, index=False)
        runs.append(str(f))
    out = tmp_path / "out"
    final, diff = mod.main(["--protocol", str(folder), "--runs", f"{mod.RECURRENT}={','.join(runs)}",
                            "--out", str(out)])
    assert set(final["epochs"]) == {2}                             # the most every run has
    got = final.set_index(["network", "seed"])["test_accuracy"]
    assert got[(mod.RECURRENT, 1)] == 85.5 and got[("shallow 784-400-10", 0)] == 81.0
    d = diff.set_index("comparison")
    shallow = d.loc[f"{mod.RECURRENT} minus shallow 784-400-10"]
    assert shallow["mean"] == pytest.approx(np.mean([85.0 - 81.0, 85.5 - 80.5]))
    assert shallow["sd"] == pytest.approx(np.std([4.0, 5.0], ddof=1))
    assert shallow["per_seed"] == "+4.00 +5.00" and shallow["seeds"] == 2
    assert pd.read_csv(out / "recurrence_differences.csv").shape == (2, 5)
    assert (out / "recurrence.png").stat().st_size > 10_000 and (out / "recurrence.pdf").is_file()
    one, _ = mod.main(["--protocol", str(folder), "--runs", f"{mod.RECURRENT}={','.join(runs)}",
                       "--epoch", "1", "--out", str(out)])
    assert one.set_index(["network", "seed"])["test_accuracy"][(mod.RECURRENT, 0)] == 84.0
    with pytest.raises(SystemExit, match="some runs have only 2 epochs"):
        mod.main(["--protocol", str(folder), "--runs", "none", "--epoch", "3", "--out", str(out)])
    with pytest.raises(SystemExit, match="holds this network already"):
        mod.main(["--protocol", str(folder), "--runs", f"shallow 784-400-10={runs[0]}", "--out", str(out)])


def test_recurrence_figure_from_the_committed_runs(tmp_path):
    from script_loader import ROOT
    mod = load_script("figures", "recurrence")
    final, diff = mod.main(["--out", str(tmp_path)])
    m = pd.read_csv(ROOT / "figures" / "measured" / "recurrence_full" / "metrics.csv")
    got = final.set_index(["network", "seed"])["test_accuracy"]
    for r in m.itertuples():
        assert got[(r.condition, r.seed)] == r.test_accuracy
    rec = [pd.read_csv(ROOT / "figures" / "measured" / f)["test_accuracy"].iloc[0]
           for f in mod.DEFAULT_RUNS[mod.RECURRENT]]
    assert list(got[mod.RECURRENT]) == rec and set(final["epochs"]) == {1}
