"""Pure domain: money, the canonical ERP model, posting rules, revenue recognition
(``domain.revenue``). No Dagster, no I/O."""
