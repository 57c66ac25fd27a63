"""Errors of the incident domain."""


class IncidentError(Exception):
    """A request the incident process refuses; the message is for the person who asked."""
