"""Twister-style device testing: pytest plugin and testcase.yaml handling."""
