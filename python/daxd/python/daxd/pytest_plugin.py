"""The pytest plugin of the daxd package (registered through the `pytest11` entry point).

`daxd` is a session fixture: one daxd process for the whole run, started on first use. Each
test that uses it gets a clean server: its state is wiped after the test (`Daxd.reset`), which
is much quicker than a restart. The fixture yields the `daxd.Daxd` handle:

    def test_tables(daxd):
        ddb = daxd.client("dynamodb")          # boto3, signed with the root credentials
        daxd.endpoint, daxd.credentials        # for other SDKs and tools
        dax = daxd.create_dax_cluster("c1")    # amazondax.AmazonDaxClient, connected

Options: `--daxd-bin PATH` (or $DAXD_BIN) picks the binary; `--daxd-arg FLAG` (repeatable)
and the ini list `daxd_args` pass extra `daxd serve` flags; the ini value `daxd_dax_ports`
sets the port range of DAX nodes.
"""
import shlex

import pytest

from . import Daxd


def pytest_addoption(parser):
    group = parser.getgroup("daxd", "daxd emulator")
    group.addoption(
        "--daxd-bin", default=None, help="daxd binary for the daxd fixture (default: $DAXD_BIN, else the installed one)"
    )
    group.addoption(
        "--daxd-arg", action="append", default=[], help="extra `daxd serve` flag for the daxd fixture (repeatable)"
    )
    parser.addini("daxd_args", type="args", default=[], help="extra `daxd serve` flags for the daxd fixture")
    parser.addini("daxd_dax_ports", default="", help="port range FIRST-LAST handed to DAX nodes")


@pytest.fixture(scope="session")
def daxd(request):
    """One daxd for the test session, wiped after each test that uses it."""
    config = request.config
    args = list(config.getini("daxd_args"))
    for a in config.getoption("daxd_arg"):
        args += shlex.split(a)
    server = Daxd(binary=config.getoption("daxd_bin"), args=args, dax_ports=config.getini("daxd_dax_ports") or None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _daxd_reset(request):
    """Wipes daxd's state after every test that used the `daxd` fixture."""
    yield
    # The value the test received: none when daxd failed to start (that error is reported once).
    server = request.node.funcargs.get("daxd") if "daxd" in request.fixturenames else None
    if server is not None and server.running:
        server.reset()
