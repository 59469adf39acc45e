"""Triggers: the landing-zone sensor and the daily schedule."""
