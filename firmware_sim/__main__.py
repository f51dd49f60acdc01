"""``python -m firmware_sim`` is ``valve-sim``."""

from firmware_sim.cli import app

app(prog_name="valve-sim")
