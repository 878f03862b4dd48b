"""The speech protocol script runs in --quick mode and writes its outputs."""

import json
import runpy
import sys
from pathlib import Path

import pytest

try:
    from test_speech_fsdd import SHARED, needs_fsdd
except ImportError:  # tests/ imported as a package
    from .test_speech_fsdd import SHARED, needs_fsdd

pytest.importorskip("lyon")
pytest.importorskip("matplotlib")

SCRIPT = Path(__file__).resolve().parents[1] / "protocols" / "speech_utterance.py"


@pytest.mark.dataset
@needs_fsdd
def test_speech_utterance_quick(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--quick", "--data-dir", str(SHARED),
                                      "--out", str(tmp_path)])
    runpy.run_path(str(SCRIPT), run_name="__main__")
    for name in ("utterance.png", "utterance.pdf", "spikes.csv", "run.json"):
        assert (tmp_path / name).stat().st_size > 0
    stats = json.loads((tmp_path / "run.json").read_text())["stats"]
    assert stats["n_channels"] == 78 and stats["n_spikes"] > 0
