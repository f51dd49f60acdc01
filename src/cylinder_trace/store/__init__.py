"""Persistence: the event store, projections and the SQLAlchemy Core tables behind them."""
