"""Which address the manager listens on, and which ones workers are told to try.

Workers connect back to the manager, so the address they are given must be one they can reach.
Stock Debian maps the host's own name to 127.0.1.1 (``/etc/hosts``), and containers often map
it to 127.0.0.1, so "the address our name resolves to" is loopback on many machines: a remote
worker told to connect there connects to itself. Instead:

* every worker local: listen on and give ``127.0.0.1`` (nothing listens on the network);
* otherwise, with no ``host``: listen on all interfaces and give the workers every
  non-loopback IPv4 address of this machine, the one its name resolves to first; each worker
  tries them in order, as Parsl's do (a cluster node may reach only one of several networks);
* ``host`` names an interface (``"ib0"``): its address, only; any other ``host`` (a name or
  an address): exactly that, only.

``NETPOOL_HOST`` in the environment is used when ``host`` is not given (the same forms), so a
site or a test suite can pin the address without changing programs.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Iterable, Optional, Sequence

LOOPBACK = "127.0.0.1"
ANY = "0.0.0.0"
HOST_ENV = "NETPOOL_HOST"
_SIOCGIFADDR = 0x8915  # Linux ioctl: an interface's IPv4 address


def local_interfaces() -> list[tuple[str, str]]:
    """(name, IPv4 address) of this machine's interfaces that have one, in index order."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return []
    out = []
    for name in names:
        addr = interface_address(name)
        if addr is not None:
            out.append((name, addr))
    return out


def interface_address(name: str) -> Optional[str]:
    """The IPv4 address of interface ``name``, or None (no such interface, or no IPv4)."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), _SIOCGIFADDR,
                                 struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def _resolved_own_addresses() -> list[str]:
    try:
        return socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        return []


def candidates(interfaces: Sequence[tuple[str, str]], resolved: Iterable[str]) -> list[str]:
    """Non-loopback addresses to offer remote workers, best first. Pure.

    The addresses the host name resolves to come first (the site's own choice, when it made
    one), then every other interface address in index order. Loopback only if nothing else
    exists (a machine with no network: its workers can only be its own).
    """
    own = {addr for _, addr in interfaces}
    out: list[str] = []
    for addr in [*resolved, *(a for _, a in interfaces)]:
        if addr.startswith("127.") or addr in out:
            continue
        if addr in own or not own:
            out.append(addr)
    return out or [LOOPBACK]


def choose(host: Optional[str], all_local: bool,
           interfaces: Optional[Sequence[tuple[str, str]]] = None,
           resolved: Optional[Iterable[str]] = None) -> tuple[str, list[str]]:
    """``(address to listen on, addresses workers try in order)`` for ``host`` (see the module
    doc). ``interfaces``/``resolved`` are for tests; by default this machine's own.

    Raises ``ValueError`` when ``host`` names an interface that has no IPv4 address.
    """
    host = host or os.environ.get(HOST_ENV) or None
    if host is None and all_local:
        return LOOPBACK, [LOOPBACK]
    ifaces = list(local_interfaces() if interfaces is None else interfaces)
    if host is not None:
        by_name = dict(ifaces)
        if host in by_name:
            return by_name[host], [by_name[host]]
        if interfaces is None and _is_interface_name(host):
            raise ValueError(f"interface {host!r} has no IPv4 address; give an address or "
                             "another interface as `host`")
        return host, [host]
    offered = candidates(ifaces, _resolved_own_addresses() if resolved is None else resolved)
    return (LOOPBACK if offered == [LOOPBACK] else ANY), offered


def _is_interface_name(name: str) -> bool:
    try:
        return name in {n for _, n in socket.if_nameindex()}
    except OSError:
        return False
