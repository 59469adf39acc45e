"""Declared definitions, loaded by ``dg.load_from_defs_folder`` (Dagster Components).

Each sub-folder holds one ``defs.yaml``; ``sources/<name>/defs.yaml`` declares a landing
source with the :class:`platform_assets.components.LandingSource` component.
"""
