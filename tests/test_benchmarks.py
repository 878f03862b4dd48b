"""The diagnostic scripts in benchmarks/ run and print what they say (quick settings)."""

import pytest

from script_loader import load_script


def test_gradient_share_prints_one_row_per_trainable_array(capsys):
    load_script("benchmarks", "gradient_share").main(["--preset", "demo", "--batch", "2", "--steps", "2", "--pool", "100"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("demo, initial weights, 2 steps of 2 sample(s), regulariser lambda 10.0")
    rows = {ln.split()[0]: [float(x) for x in ln.split()[1:]] for ln in lines[2:]}
    assert set(rows) == {"ff1", "ff2", "rec2", "ff3"}                 # 784-200-R100-10
    for name, (share, median, reg, mean_w) in rows.items():
        assert 0.0 <= share <= 1.0 and median >= 0.0
        assert 0.45 < mean_w < 0.55                                    # U(-1, 1) at the start
        # spec 5 at S ~ 0: lam * beta * |w| / L = 0.05 |w|, times exp(-beta) ~ 0.96
        assert reg == pytest.approx(0.05 * mean_w * 0.96, rel=0.05)
