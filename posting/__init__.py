"""Posting Stripe activity to the ERP: exactly once, with dead letters and replays.

``run.post_window`` is the one path for backfills, event-driven runs and
replays: it reads the Stripe mirror, builds canonical documents
(``domain.postings``), skips what the link table says is posted, posts the
rest in batches through the ERP adapter (find-then-create), and records each
outcome (link, or dead letter with the ERP's exact message) in the warehouse.
No Dagster import here.
"""
