"""A local emulation of Epicor Kinetic's REST API v2 (OData v4 + business-object methods).

Run it with ``python -m sandbox.epicor --port PORT [--env-file FILE]``; see README.md.
This package emulates an external system: it imports nothing from the product.
"""
