"""A smart angle valve simulator: its own package, talking to the service only over MQTT."""
