"""MQTT: the smart valve protocol's pure pieces, broker addresses, and the embedded broker."""
