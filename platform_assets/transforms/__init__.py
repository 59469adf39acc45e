"""Pure transforms on polars frames: parsing landing files, cleaning, quarantine rules, metrics."""
