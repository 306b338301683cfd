"""Webhooks: an outbox of events, endpoints that subscribe to them, and signed, retried delivery."""
