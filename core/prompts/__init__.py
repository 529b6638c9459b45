"""Prompt templates, variants and safe rendering."""
