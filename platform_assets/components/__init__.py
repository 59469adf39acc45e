"""The platform's Dagster Components (listed by ``dg list components``)."""
