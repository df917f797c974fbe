"""The exceptions workbench: dead letters by cause with suggested fixes, apply and replay,
reconciliation variances, and the audit of every action.  ``python -m workbench --port P``."""
