"""Shared test settings: tolerances, and skipping of marked tests on request.

Set RSNN_BRIAN_FAST=1 to skip the tests marked ``slow`` (the markers are
declared in pyproject.toml; ``-m "not slow"`` does the same).
"""

import os

import pytest

#: v at spike, Brian2 against the NumPy simulator.
V_ATOL = 1e-9


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RSNN_BRIAN_FAST"):
        skip = pytest.mark.skip(reason="RSNN_BRIAN_FAST is set")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)
