"""The HTTP layer: routers, the ASGI fast paths, the edge (limits, keys, problem answers)
and the OpenAPI description. It sits beside the domain packages and calls their services;
no domain package imports it (``tests/unit/test_layers.py``)."""
