"""Domain services: the incident process, escalation, the inbox and outbox, and the Slack steps."""
