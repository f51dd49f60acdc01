"""GS1 EPCIS 2.0 export of the cylinder events (JSON-LD, validated against the official schema)."""
