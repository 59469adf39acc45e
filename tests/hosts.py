"""Test hosts on one machine: Linux network namespaces joined by a bridge.

Each host is a network namespace (``ip netns``) with its own loopback, one veth interface
on a private test subnet and its own host name (a UTS namespace per process started on it),
so a process started on host ``w1`` reaches another host only through that subnet, by the
address the test assigned, and names itself ``w1`` (e.g. a Celery worker ``default@pa-w1``).
The hosts share the machine's file system and users; they share nothing on the network with
the machine or each other but the subnet. The bridge lives in a namespace of its own, so the
machine's own network (its root namespace) is never touched.

Needs root (``ip netns``). :meth:`NamespaceHosts.close` deletes every namespace, and with them the
veth pairs and the bridge; :func:`leftovers` lists any that survive (expected: none).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

#: A subnet no host of the machine uses: the namespaces are isolated from the root namespace
#: anyway, and nothing is routed out of it.
SUBNET = "10.251.0"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _links() -> set[str]:
    """Names of the links in the machine's (this process's) network namespace."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


@dataclass
class NamespaceHosts:
    """Hosts ``names`` on subnet ``10.251.0.0/24``, addresses ``.1``, ``.2``… in order.

    Namespaces are named ``<prefix>-<name>`` (prefix ``pa<pid>``, unique per test process);
    host names are ``pa-<name>``. Use as a context manager, or call :meth:`close`.
    """

    names: list[str]
    prefix: str = field(default_factory=lambda: f"pa{os.getpid()}")
    _created: list[str] = field(default_factory=list)
    _machine_links: set[str] = field(default_factory=set)

    @property
    def switch(self) -> str:
        return f"{self.prefix}-sw"

    def namespace(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def address(self, host: str) -> str:
        """The host's IPv4 address on the test subnet."""
        return f"{SUBNET}.{self.names.index(host) + 1}"

    @staticmethod
    def hostname(host: str) -> str:
        """The host name processes started on ``host`` see (``socket.gethostname()``)."""
        return f"pa-{host}"

    def open(self) -> NamespaceHosts:
        self._machine_links = _links()
        self._add_namespace(self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        for index, host in enumerate(self.names):
            ns = self.namespace(host)
            self._add_namespace(ns)
            # Both ends are created in the switch namespace (never in the machine's), then one
            # end moves to the host and becomes its eth0.
            port = f"p{index}"
            _ip("-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("-n", self.switch, "link", "set", port, "master", "br0")
            _ip("-n", self.switch, "link", "set", port, "up")
            _ip("-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        return self

    def _add_namespace(self, ns: str) -> None:
        _ip("netns", "add", ns)
        self._created.append(ns)

    def command(self, host: str, argv: list[str], user: str | None = None) -> list[str]:
        """``argv`` as run on ``host``: in its network namespace and a UTS namespace named for
        it, as ``user`` if given. Each wrapper execs the next, so the process started from the
        returned command line is ``argv``'s own process (its PID is the one to stop)."""
        as_user = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"] if user else []
        return [
            "ip", "netns", "exec", self.namespace(host),
            "unshare", "--uts",
            "sh", "-c", 'hostname "$0" && exec "$@"', self.hostname(host),
            *as_user, *argv,
        ]  # fmt: skip

    def popen(self, host: str, argv: list[str], user: str | None = None, **kwargs) -> subprocess.Popen:
        """Start ``argv`` on ``host`` (see :meth:`command`); ``kwargs`` go to ``Popen``."""
        return subprocess.Popen(self.command(host, argv, user), **kwargs)

    def run(self, host: str, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run ``argv`` on ``host`` to completion; ``kwargs`` go to ``subprocess.run``."""
        return subprocess.run(self.command(host, argv), **kwargs)

    def close(self) -> None:
        """Delete the namespaces (their veth ends and the bridge go with them). Processes still
        running on a host keep its network alive: stop them first."""
        for ns in reversed(self._created):
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
        self._created.clear()

    def leftovers(self) -> list[str]:
        """Namespaces of this set that still exist, and links of the machine's own namespace
        that were not there before :meth:`open` (expected: none of either)."""
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
        ours = [line.split()[0] for line in namespaces.splitlines() if line.startswith(f"{self.prefix}-")]
        return ours + sorted(_links() - self._machine_links)

    def __enter__(self) -> NamespaceHosts:
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()
