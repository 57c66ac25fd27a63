"""The machinery under the incident process: the inbox and its worker, the journal, the outbox,
Slack steps, retries, metrics, logs, the clock and the job runner."""
