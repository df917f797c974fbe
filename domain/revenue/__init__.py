"""Revenue recognition and subscription metrics, pure (no Dagster, no I/O, no ERP).

``schedules`` spreads each invoice line over its service days; ``adjustments`` applies credit
notes, refunds, disputes, voids and write-offs from their effective dates; ``ledger`` holds all
of it as one table; ``journals``, ``waterfall`` and ``metrics`` read that table;
``stripe_inputs`` turns mirrored Stripe objects into these inputs.
"""
