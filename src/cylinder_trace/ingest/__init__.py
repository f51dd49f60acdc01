"""The MQTT ingestor: decode, verify, batch, hand to the handlers, acknowledge after commit."""
