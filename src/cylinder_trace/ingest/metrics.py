"""Prometheus metrics of the ingestor and the valve command relay (served at ``/metrics``)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

MESSAGES: Final = Counter(
    "ct_ingest_messages", "Valve messages handled, by outcome (stored, duplicate, status, dead_letter)",
    ["outcome"],
)
DEAD_LETTERS: Final = Counter(
    "ct_ingest_dead_letters", "Messages parked in the dead-letter table, by reason", ["reason"],
)
REPLAYS: Final = Counter(
    "ct_ingest_replays", "Repeats of a stored (valve_id, seq) with different content",
)
BATCH_SIZE: Final = Histogram(
    "ct_ingest_batch_size", "Messages per committed batch",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
)
LAG: Final = Histogram(
    "ct_ingest_lag_seconds", "From receipt of a batch's oldest message to the commit that stored it",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
EVENT_AGE: Final = Histogram(
    "ct_ingest_event_age_seconds", "From the oldest valve timestamp of a batch to the commit that stored it",
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 3600, 86400),
)
COMMIT_FAILURES: Final = Counter(
    "ct_ingest_commit_failures", "Batches whose commit failed and was retried, by kind", ["kind"],
)
QUEUE_DEPTH: Final = Gauge("ct_ingest_queue_depth", "Messages received and not yet committed")
CONNECTED: Final = Gauge("ct_ingest_connected", "1 while the ingestor is connected to the broker")
DISCONNECTS: Final = Counter("ct_ingest_disconnects", "Connections to the broker lost (not closed by the ingestor)")
DROPPED: Final = Counter("ct_ingest_dropped_qos0", "QoS 0 messages dropped because the inbox was past its capacity")
COMMANDS: Final = Counter("ct_valve_commands", "Commands published to valves", ["cmd"])
