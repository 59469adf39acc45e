"""Talking to a running Dagster webserver from tests: its GraphQL API and its health endpoint."""

from __future__ import annotations

import json
import urllib.request


def graphql(base_url: str, query: str, variables: dict | None = None) -> dict:
    """The ``data`` of a GraphQL request to the webserver at ``base_url`` (what the UI itself reads).

    Raises:
        AssertionError: the response carries GraphQL errors (shown in the message).
    """
    request = urllib.request.Request(
        f"{base_url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def serving(base_url: str) -> bool:
    """Whether the webserver at ``base_url`` answers its ``/server_info`` endpoint."""
    try:
        with urllib.request.urlopen(f"{base_url}/server_info", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False
