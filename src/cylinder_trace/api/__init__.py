"""The HTTP door: parse, authorize, call a handler, render."""
