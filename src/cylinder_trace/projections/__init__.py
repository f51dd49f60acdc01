"""The read models, each a catch-up projection over the event store."""
