"""The platform's Dagster Components (listed by ``dg list components``)."""

from platform_assets.components.landing_source import LandingSource

__all__ = ["LandingSource"]
