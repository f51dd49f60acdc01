"""Server-rendered pages: the public cylinder page behind every QR code (``/8003/{grai}``)."""
