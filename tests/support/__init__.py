"""Helpers shared by tests: small typed modules, one per concern, no global fixtures."""
