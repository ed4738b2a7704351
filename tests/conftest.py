"""Test-suite root: its folder is on sys.path, so helpers shared by several test
folders (west_workspace.py) are imported by plain module name."""

import gc

import pytest


@pytest.fixture(autouse=True, scope="module")
def _release_dropped_machines():
    """Simulated machines hold pipes and ptys and sit in reference cycles (unicorn hooks):
    collect them after each module so descriptors stay below select()'s limit."""
    yield
    gc.collect()
