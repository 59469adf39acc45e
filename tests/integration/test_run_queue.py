"""The run queue of the project's instance: Dagster's concurrency settings, as the daemon reads them."""

from __future__ import annotations


def test_the_project_instance_runs_one_run_at_a_time(project_instance):
    # the queued-run daemon takes its limits from the instance's `concurrency:` settings
    assert project_instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
    assert project_instance.run_coordinator.dequeue_interval_seconds == 1
