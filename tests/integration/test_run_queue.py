"""The run queue of the project's instance: Dagster's concurrency settings, as the daemon reads them."""

from __future__ import annotations

from platform_assets.resources.warehouse import WAREHOUSE_POOL


def test_the_project_instance_runs_two_runs_but_one_warehouse_writer_at_a_time(project_instance):
    # the queued-run daemon takes its limits from the instance's `concurrency:` settings
    config = project_instance.get_concurrency_config()
    assert config.run_queue_config.max_concurrent_runs == 2
    assert config.run_queue_config.should_block_op_concurrency_limited_runs
    assert (config.pool_config.pool_granularity.value, config.pool_config.default_pool_limit) == ("run", 1)
    assert project_instance.run_coordinator.dequeue_interval_seconds == 1


def test_exactly_the_warehouse_writing_steps_are_in_the_warehouse_pool():
    from platform_assets.definitions import defs

    job = defs.resolve_job_def("main_job")
    pools = {node.name: node.definition.pool for node in job.graph.nodes}
    writers = {name for name, pool in pools.items() if pool == WAREHOUSE_POOL}
    clean = {name for name in pools if name.startswith("clean_") and not name.endswith("_checks")}
    assert writers == clean | {"flight_daily_metrics", "dbt_models"}
    assert {pool for name, pool in pools.items() if name not in writers} == {None}
    # a checks-only run's Python checks read; its dbt step (dbt's tests) is the only one in the pool
    checks = defs.resolve_job_def("quality_checks")
    assert {n.name for n in checks.graph.nodes if n.definition.pool == WAREHOUSE_POOL} == {"dbt_models"}
