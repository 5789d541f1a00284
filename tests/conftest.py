"""Shared test set-up (nothing yet: each test module sets up what it needs)."""
