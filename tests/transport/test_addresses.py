"""The address workers are told to connect to (launchers/address.py), and workers that try
each address the manager offers. Every connection stays on loopback: 127.0.0.2 is refused
at once by a manager that listens on 127.0.0.1 only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

import netpool
from conftest import wait_for
from netpool.launchers import SSHWorker
from netpool.launchers.address import HOST_ENV, candidates, choose, local_interfaces
from netpool.launchers.base import WorkerCommand

IFACES = [("lo", "127.0.0.1"), ("eth0", "192.0.2.2"), ("ib0", "10.9.0.7")]


@pytest.fixture(autouse=True)
def no_host_env(monkeypatch):
    monkeypatch.delenv(HOST_ENV, raising=False)


def test_local_workers_listen_on_loopback():
    assert choose(None, all_local=True, interfaces=IFACES, resolved=["192.0.2.2"]) == \
        ("127.0.0.1", ["127.0.0.1"])


def test_name_resolving_to_loopback_is_not_given_to_remote_workers():
    """Stock Debian: the host name resolves to 127.0.1.1; remote workers get the interfaces."""
    bind, offered = choose(None, all_local=False, interfaces=IFACES, resolved=["127.0.1.1"])
    assert bind == "0.0.0.0"
    assert offered == ["192.0.2.2", "10.9.0.7"]


def test_the_resolved_address_comes_first():
    assert candidates(IFACES, ["10.9.0.7"]) == ["10.9.0.7", "192.0.2.2"]
    assert candidates([("lo", "127.0.0.1")], ["127.0.1.1"]) == ["127.0.0.1"]  # no network


def test_host_names_an_interface_or_an_address():
    assert choose("ib0", all_local=False, interfaces=IFACES) == ("10.9.0.7", ["10.9.0.7"])
    assert choose("node1.cluster", False, IFACES) == ("node1.cluster", ["node1.cluster"])
    assert choose("192.0.2.2", True, IFACES) == ("192.0.2.2", ["192.0.2.2"])


def test_environment_names_the_host(monkeypatch):
    monkeypatch.setenv(HOST_ENV, "ib0")
    assert choose(None, all_local=True, interfaces=IFACES) == ("10.9.0.7", ["10.9.0.7"])
    assert choose("eth0", all_local=True, interfaces=IFACES)[0] == "192.0.2.2"  # host wins


def test_this_machine_offers_no_loopback_to_remote_workers():
    """Whatever this machine's name resolves to, the default for remote workers is one of its
    real interface addresses when it has any (nothing connects to them here)."""
    real = [a for _, a in local_interfaces() if not a.startswith("127.")]
    bind, offered = choose(None, all_local=False)
    if not real:
        pytest.skip("this machine has no non-loopback IPv4 interface")
    assert set(offered) <= set(real) and offered
    assert bind == "0.0.0.0"


def test_interface_without_ipv4_is_a_clear_error():
    with_ipv4 = {name for name, _ in local_interfaces()}
    bare = [name for _, name in socket.if_nameindex() if name not in with_ipv4]
    if not bare:
        pytest.skip("every interface of this machine has an IPv4 address")
    with pytest.raises(ValueError, match=f"interface '{bare[0]}' has no IPv4"):
        choose(bare[0], all_local=False)


def test_worker_command_carries_the_alternatives():
    argv = WorkerCommand(("py",), ("10.0.0.1", 5), 3, None, None, ("10.0.0.2", "h3")).argv()
    assert argv == ["py", "-m", "netpool.worker", "10.0.0.1:5", "--id", "3",
                    "--alt", "10.0.0.2", "--alt", "h3"]


def test_pool_gives_remote_workers_every_candidate(monkeypatch):
    """A pool with a remote launcher hands each worker the whole list (the SSH worker is
    never started: the launch is intercepted)."""
    seen = []
    monkeypatch.setattr(SSHWorker, "_start", lambda self, command, key: seen.append(command))
    monkeypatch.setattr("netpool.launchers.local.choose",
                        lambda host, all_local: ("127.0.0.1", ["127.0.0.2", "127.0.0.1"]))
    pool = netpool.DistributedPool(workers=[SSHWorker("nowhere")], connect_timeout=0.5)
    try:
        assert pool.address[0] == "127.0.0.2"
        assert seen and seen[0].address[0] == "127.0.0.2"
        assert seen[0].alternatives == ("127.0.0.1",)
    finally:
        pool.terminate()


def test_worker_tries_the_next_address():
    """A real worker given a refused address first joins through the second."""
    with netpool.DistributedPool(1) as pool:
        port = pool.address[1]
        env = {**os.environ, "NETPOOL_AUTHKEY": pool.authkey.hex()}
        proc = subprocess.Popen([sys.executable, "-m", "netpool.worker", f"127.0.0.2:{port}",
                                 "--alt", "127.0.0.1"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: pool._rt.worker_count() == 2, 20, what="the second worker to join")
        finally:
            pool.terminate()
            out = proc.communicate(timeout=20)[0]
    assert "127.0.0.2" in out and "trying the next address" in out
    assert f"connecting to 127.0.0.1:{port}" in out



@pytest.mark.timeout(120)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract AF_UNIX is Linux's")
def test_forked_workers_link_over_af_unix_and_fresh_interpreters_over_tcp():
    from _tasks import link_family
    with netpool.DistributedPool(1) as pool:  # forked from this process
        assert pool.apply(link_family) == socket.AF_UNIX
    with netpool.DistributedPool(1, python=sys.executable) as pool:  # a fresh interpreter
        assert pool.apply(link_family) == socket.AF_INET
