"""Tuning Ladder core: all logic, no UI."""
