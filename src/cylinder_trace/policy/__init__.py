"""Policy data files shipped with the service (the town's defaults)."""
