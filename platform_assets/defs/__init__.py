"""Every definition of the platform, loaded by ``dg.load_from_defs_folder`` (Dagster Components).

``sources/<name>/defs.yaml`` declares a landing source with the
:class:`platform_assets.components.LandingSource` component; the Python modules here hold
the rest as ``@dg.definitions`` functions: the aggregate layer, the dbt project, the
platform-wide checks and freshness, jobs and automation, alerts, resources and the executor.
"""
