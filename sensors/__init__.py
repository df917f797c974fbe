"""Sensors: webhook-landed Stripe events (stripe_events.py)."""
