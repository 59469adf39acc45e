"""Data quality: pandera schemas (one per table) and the factories turning them into asset checks."""
