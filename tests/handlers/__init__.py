"""Tests of handlers/."""
