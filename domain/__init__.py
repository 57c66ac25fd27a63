"""The pure incident domain: severities and statuses, channel names, Alertmanager payloads, errors."""
