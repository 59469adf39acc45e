"""Triggers: the landing-zone sensor, its landing reports, the daily trigger (automation conditions) and run priority."""
