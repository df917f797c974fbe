"""Local TIMS sandbox (our own REST contract; TIMS publishes no API spec).

Layers: ``store`` (in-memory state and business rules), ``api`` (routes of
``/api/v1`` below HTTP, shared by single requests and ``/batch``), ``app``
(Starlette: auth, content negotiation, idempotency, faults, control API) and
``wire`` (JSON/XML and problem+json).  It emulates an external system and never
imports product code.
"""
