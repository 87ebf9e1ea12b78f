"""Starting the real daxd binary for end-to-end tests, and talking to it
with the real AWS CLI and boto3."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("DAXD_BIN", str(ROOT / "target" / "debug" / "daxd"))
AWS = str(Path(sys.executable).parent / "aws")
ROOT_KEY = ("FOOBARKEY", "FOOBARSECRET")


class Daxd:
    """One daxd process on an ephemeral loopback port with its own data dir."""

    def __init__(self, data_dir=None, args=(), root=ROOT_KEY, env=None):
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="daxd-e2e-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir)
        self.args = list(args)
        self.root = root
        self.env = env
        self.proc = None
        self.endpoint = None
        self.output = []

    def start(self, timeout=30):
        cmd = [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir)]
        if not any(a.startswith("--provisioning-delay-ms") for a in self.args):
            cmd += ["--provisioning-delay-ms", "0"]
        cmd += self.args
        if self.root:
            cmd += ["--root-access-key-id", self.root[0], "--root-secret-access-key", self.root[1]]
        env = dict(os.environ)
        env.pop("DAXD_ROOT_ACCESS_KEY_ID", None)
        env.pop("DAXD_ROOT_SECRET_ACCESS_KEY", None)
        env.update(self.env or {})
        self.output = []
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        ready = threading.Event()

        def drain(proc=self.proc, lines=self.output):
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("daxd ready:"):
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(timeout) or self.proc.poll() is not None:
            raise RuntimeError("daxd did not become ready:\n" + "\n".join(self.output))
        line = next(l for l in self.output if l.startswith("daxd ready:"))
        self.endpoint = line.split(" on ", 1)[1].split()[0]
        # With --tls-listen: the HTTPS endpoint and the CA that signs its certificate.
        tls = next((l for l in self.output if l.startswith("daxd: serving AWS APIs over HTTPS on ")), None)
        self.https = tls.split(" on ", 1)[1].split()[0] if tls else None
        self.ca = str(self.data_dir / "tls" / "ca.pem")
        return self

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        return self.proc.returncode if self.proc else None

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        self.stop()
        if self._tmp:
            self._tmp.cleanup()

    def client(self, service, key=None, region="us-east-1", **config):
        key = key or self.root
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            aws_session_token=key[2] if len(key) > 2 else None,
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def aws(self, *args, key=None, region="us-east-1", check=True):
        """Run the real AWS CLI against this daxd; returns the CompletedProcess."""
        key = key or self.root
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=key[0],
            AWS_SECRET_ACCESS_KEY=key[1],
            AWS_DEFAULT_REGION=region,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_MAX_ATTEMPTS="1",
        )
        if len(key) > 2:
            env["AWS_SESSION_TOKEN"] = key[2]
        proc = subprocess.run([AWS, *args, "--output", "json"], capture_output=True, text=True, env=env, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc


def signed_headers(daxd, service, body, headers, key=ROOT_KEY, region="us-east-1"):
    """`headers` with the SigV4 signature of a POST of `body` to daxd's endpoint, as an SDK
    signs it (for requests sent over a raw connection)."""
    req = botocore.awsrequest.AWSRequest(method="POST", url=daxd.endpoint + "/", data=body, headers=headers)
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(*key), service, region).add_auth(req)
    return dict(req.headers.items())


def refused(port):
    """Whether nothing accepts connections on the loopback `port` (a DAX node not listening)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return False
    except OSError:
        return True


def wait_for(predicate, timeout=10.0, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
