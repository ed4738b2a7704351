"""pytest plugin entry point (device fixtures are added here)."""
