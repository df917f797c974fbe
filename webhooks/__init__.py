"""The Stripe webhook receiver: verify, land durably, answer. No ERP work in the request path."""
