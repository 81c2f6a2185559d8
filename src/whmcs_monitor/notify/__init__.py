"""Notifications: the outbox, its dispatcher, the channels (webhook, SMTP, apprise) and templates."""
