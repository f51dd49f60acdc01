"""Server-rendered pages: the public cylinder page behind every QR code (``/8003/{grai}``) and the
regulator's desk (``/``, ``/signin``, ``/desk/…``; every route in ``desk.PAGE_ROUTES``)."""
