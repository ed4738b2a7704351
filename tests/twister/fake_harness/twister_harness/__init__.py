"""Stand-in for Zephyr's pytest-twister-harness in the coexistence test: same module name,
same option names registered by its plugin (as its plugin.py registers them)."""
