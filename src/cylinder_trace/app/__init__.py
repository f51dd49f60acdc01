"""Handlers: one function per command. They get a :class:`~.unit_of_work.Tx`; the service commits."""
