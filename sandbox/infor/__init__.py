"""A local Infor M3 (ION API gateway + M3 MI REST v2) for tests, demos and benchmarks.

Run ``python -m sandbox.infor --port 0 --env-file infor.env``; see README.md.
Emulates an external system: imports nothing from the product.
"""
