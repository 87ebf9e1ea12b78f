"""Run daxd from Python: `Daxd` starts the daxd binary that this package installs on a free
loopback port with a temporary data directory, hands out boto3 clients signed with its root
credentials, wipes its state between tests, makes DAX clusters and stops it again.

    with daxd.Daxd() as server:
        server.client("dynamodb").list_tables()

The pytest plugin (`daxd.pytest_plugin`, loaded automatically once the package is installed)
wraps one `Daxd` per test session in the `daxd` fixture.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

__all__ = ["Credentials", "Daxd", "DaxdError", "find_binary", "DAX_TRUST_POLICY", "DYNAMODB_FULL_ACCESS"]

# The trust policy a DAX cluster's role needs: DAX assumes it to reach DynamoDB.
DAX_TRUST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})
DYNAMODB_FULL_ACCESS = "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"

# daxd reads its root credentials from these when no flag names them; `Daxd` passes its own
# (or lets daxd generate a pair into the data dir), so a developer's shell never leaks in.
_ROOT_ENV = ("DAXD_ROOT_ACCESS_KEY_ID", "DAXD_ROOT_SECRET_ACCESS_KEY")
_READY = "daxd ready:"


class DaxdError(RuntimeError):
    """daxd could not be started, or did not answer as expected."""


class Credentials(NamedTuple):
    """An access key: what boto3 calls aws_access_key_id and aws_secret_access_key."""

    access_key_id: str
    secret_access_key: str


def find_binary(binary: Optional[str] = None) -> str:
    """The daxd executable: `binary`, else $DAXD_BIN, else the one installed beside this
    Python (the venv's bin directory, found even when the venv is not activated), else PATH."""
    named = binary or os.environ.get("DAXD_BIN")
    if named:
        if os.path.isfile(named) and os.access(named, os.X_OK):
            return named
        source = "the binary argument" if binary else "$DAXD_BIN"
        raise DaxdError(f"daxd binary {named} (from {source}) is not an executable file")
    scripts = sysconfig.get_path("scripts")
    installed = Path(scripts) / "daxd" if scripts else None
    if installed and installed.is_file() and os.access(installed, os.X_OK):
        return str(installed)
    found = shutil.which("daxd")
    if found:
        return found
    raise DaxdError("daxd binary not found: install the daxd wheel, or set DAXD_BIN")


class Daxd:
    """One daxd process on a free loopback port, with its own data directory.

    `data_dir=None` makes a temporary one that `stop()` removes. Provisioning is instant
    (`--provisioning-delay-ms 0`) and `POST /moto-api/reset` is on (for `reset()`); `args` adds
    any other `daxd serve` flag. `root=None` lets daxd generate root credentials, read back from
    the data dir."""

    def __init__(
        self,
        *,
        binary: Optional[str] = None,
        data_dir: Optional[str] = None,
        args: Sequence[str] = (),
        root: Optional[Sequence[str]] = None,
        region: str = "us-east-1",
        dax_ports: Optional[str] = None,
        startup_timeout: float = 30.0,
    ):
        self.binary = find_binary(binary)
        self._given_data_dir = data_dir
        self.args = list(args)
        self._root = Credentials(*root) if root else None
        self.region = region
        self.dax_ports = dax_ports
        self.startup_timeout = startup_timeout
        self.data_dir: Optional[Path] = None
        self.endpoint: Optional[str] = None
        self.credentials: Optional[Credentials] = None
        self.output: deque = deque(maxlen=200)
        self._tmp = None
        self._proc = None
        self._dax_clients = []

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> "Daxd":
        if self._proc is not None and self._proc.poll() is None:
            return self
        if self._given_data_dir is not None:
            self.data_dir = Path(self._given_data_dir)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="daxd-")
            self.data_dir = Path(self._tmp.name)
        cmd = [self.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir), "--enable-reset"]
        if not any(a.startswith("--provisioning-delay-ms") for a in self.args):
            cmd += ["--provisioning-delay-ms", "0"]
        if self.dax_ports:
            cmd += ["--dax-ports", self.dax_ports]
        if self._root:
            cmd += ["--root-access-key-id", self._root[0], "--root-secret-access-key", self._root[1]]
        cmd += self.args
        env = {k: v for k, v in os.environ.items() if k not in _ROOT_ENV}
        self.output.clear()
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env
        )
        ready = threading.Event()
        endpoint = []

        def drain(proc=self._proc, lines=self.output):
            for line in proc.stdout:
                line = line.rstrip("\n")
                lines.append(line)
                if line.startswith(_READY) and " on " in line:
                    endpoint.append(line.split(" on ", 1)[1].split()[0])
                    ready.set()
            ready.set()

        threading.Thread(target=drain, name="daxd-output", daemon=True).start()
        if not ready.wait(self.startup_timeout) or not endpoint or self._proc.poll() is not None:
            self._terminate()
            self._cleanup()
            raise DaxdError("daxd did not become ready:\n" + "\n".join(self.output))
        self.endpoint = endpoint[0]
        self.credentials = self._root or self._stored_root()
        return self

    def stop(self, timeout: float = 15.0) -> Optional[int]:
        """Stops daxd (SIGTERM, then SIGKILL after `timeout`) and removes a temporary data dir."""
        self._close_dax_clients()
        code = self._terminate(timeout)
        self._cleanup()
        return code

    def __enter__(self) -> "Daxd":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _terminate(self, timeout: float = 15.0) -> Optional[int]:
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        return self._proc.returncode

    def _cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _stored_root(self) -> Credentials:
        with open(self.data_dir / "root-credentials.json") as f:
            stored = json.load(f)
        return Credentials(stored["access_key_id"], stored["secret_access_key"])

    # -- using it -------------------------------------------------------------------

    def client(self, service: str, credentials: Optional[Sequence[str]] = None, region: Optional[str] = None, **kw):
        """A boto3 client for `service` at this daxd, signed with the root credentials (or
        `credentials`: a key id, a secret and optionally a session token)."""
        import boto3
        from botocore.config import Config

        key = tuple(credentials or self.credentials)
        kw.setdefault("config", Config(retries={"max_attempts": 2}))
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region or self.region,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            aws_session_token=key[2] if len(key) > 2 else None,
            **kw,
        )

    def env(self) -> dict:
        """Environment variables that point an AWS SDK or the AWS CLI at this daxd."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def health(self) -> dict:
        with urllib.request.urlopen(self.endpoint + "/health", timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def reset(self) -> None:
        """Wipes every table, IAM entity and DAX cluster (the root credentials stay), after
        closing the DAX clients that `create_dax_cluster` handed out."""
        self._close_dax_clients()
        req = urllib.request.Request(self.endpoint + "/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=60) as r:
            body = json.loads(r.read())
        if body.get("status") != "ok":
            raise DaxdError(f"reset failed: {body}")

    def create_dax_role(self, name: str, policy_arn: str = DYNAMODB_FULL_ACCESS) -> str:
        """An IAM role that DAX may assume, with `policy_arn` attached; returns its ARN."""
        iam = self.client("iam")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=DAX_TRUST_POLICY)
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        return iam.get_role(RoleName=name)["Role"]["Arn"]

    def create_dax_cluster(
        self,
        name: str = "daxd-test",
        *,
        node_type: str = "dax.t3.small",
        replication_factor: int = 1,
        role_arn: Optional[str] = None,
        timeout: float = 30.0,
        **client_kw,
    ):
        """Creates a DAX cluster (with a role trusting DAX and allowed all of DynamoDB, unless
        `role_arn` names one), waits until its nodes accept connections, and returns an
        `amazondax.AmazonDaxClient` connected to it with the root credentials (close it, or
        let `reset()`/`stop()` do so). Needs the `amazon-dax-client` package."""
        try:
            import amazondax
        except ImportError as e:
            raise DaxdError("create_dax_cluster needs the official DAX client: pip install amazon-dax-client") from e
        role_arn = role_arn or self.create_dax_role(f"{name}-dax-role")
        dax = self.client("dax")
        dax.create_cluster(
            ClusterName=name, NodeType=node_type, ReplicationFactor=replication_factor, IamRoleArn=role_arn
        )
        cluster = self.wait_for_cluster(name, timeout)
        client = amazondax.AmazonDaxClient(
            endpoint_url=cluster["ClusterDiscoveryEndpoint"]["URL"],
            region_name=self.region,
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
            **client_kw,
        )
        self._dax_clients.append(client)
        return client

    def wait_for_cluster(self, name: str, timeout: float = 30.0) -> dict:
        """Waits until cluster `name` and all its nodes are available and listening; returns
        its description."""
        dax = self.client("dax")
        deadline = time.monotonic() + timeout
        while True:
            c = dax.describe_clusters(ClusterNames=[name])["Clusters"][0]
            nodes = c.get("Nodes", [])
            if (
                c["Status"] == "available"
                and nodes
                and all(n["NodeStatus"] == "available" for n in nodes)
                and all(_listening(n["Endpoint"]["Address"], n["Endpoint"]["Port"]) for n in nodes)
            ):
                return c
            if time.monotonic() > deadline:
                raise DaxdError(f"cluster {name} not available after {timeout}s: {c}")
            time.sleep(0.1)

    def _close_dax_clients(self) -> None:
        while self._dax_clients:
            try:
                self._dax_clients.pop().close()
            except Exception:  # noqa: BLE001 - a client already broken is closed enough
                pass


def _listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False
