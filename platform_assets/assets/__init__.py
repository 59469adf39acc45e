"""Software-defined assets, one module per layer: raw, clean, aggregate, dbt."""
