"""Skipping of marked tests on request (tolerances live in tests/tolerances.py).

Set RSNN_BRIAN_FAST=1 to skip the tests marked ``slow`` (the markers are
declared in pyproject.toml; ``-m "not slow"`` does the same).
"""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RSNN_BRIAN_FAST"):
        skip = pytest.mark.skip(reason="RSNN_BRIAN_FAST is set")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)
