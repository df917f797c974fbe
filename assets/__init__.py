"""Asset definitions and asset checks, one module per domain."""
