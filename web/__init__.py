"""The web view under /ui/: incident history, each incident's timeline, metrics; signed in with Slack."""
