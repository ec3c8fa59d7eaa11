"""Notifications: email and webhooks through a durable outbox."""
