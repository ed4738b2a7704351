"""Test-suite root: its folder is on sys.path, so helpers shared by several test
folders (west_workspace.py) are imported by plain module name."""
