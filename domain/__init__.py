"""Pure domain: money, the canonical ERP model, posting rules. No Dagster, no I/O."""
