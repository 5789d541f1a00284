"""Shared test set-up: draw with matplotlib's Agg backend (no screen), set before anything imports it."""

import os

os.environ["MPLBACKEND"] = "Agg"
