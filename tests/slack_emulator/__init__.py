"""Tests of slack_emulator/."""
