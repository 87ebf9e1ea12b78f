"""The Python package path end to end: the daxd wheel (python/daxd) is built around the debug
binary, pip installs it into a fresh venv with boto3, the official DAX client and pytest at
the pins of tests/requirements.txt, and that venv runs the sample suite in
tests/package/sample, which uses only the wheel's `daxd` fixture.

Two builds of the wheel: `prebuilt` packs the binary that is already built (DAXD_BIN, else
target/debug/daxd) with python/daxd/build_wheel.py, in a second and without cargo; `maturin`
is the users' build (pyproject.toml) with the dev profile, which runs cargo for the daxd
package alone and so may rebuild daxd when the last build was a workspace one (other features
of shared dependencies): it runs only with DAXD_PACKAGE_MATURIN=1 (scripts/package-test
--maturin).

The venv sees nothing of this repository: no system site-packages, no DAXD_BIN, no
PYTHONPATH, and the suite runs from a copy outside the tree."""
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "python" / "daxd"
HERE = Path(__file__).resolve().parent
PINS = ROOT / "tests" / "requirements.txt"
BUILD_PINS = HERE / "requirements-build.txt"
# maturin lives in a venv of its own, reinstalled only when its pin changes.
BUILD_VENV = ROOT / "target" / "package" / "build-venv"


def run(cmd, timeout=600, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def maturin():
    stamp = BUILD_VENV / ".requirements.sha256"
    want = hashlib.sha256(BUILD_PINS.read_bytes()).hexdigest()
    if not (BUILD_VENV / "bin" / "maturin").exists() or not stamp.exists() or stamp.read_text() != want:
        shutil.rmtree(BUILD_VENV, ignore_errors=True)
        run([sys.executable, "-m", "venv", BUILD_VENV])
        run([BUILD_VENV / "bin" / "pip", "install", "-q", "--disable-pip-version-check", "-r", BUILD_PINS])
        stamp.write_text(want)
    return BUILD_VENV / "bin" / "maturin"


def clean_env(venv):
    """The environment of a user whose shell activated `venv`: nothing pointing at this repo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAXD_", "PYTHON", "VIRTUAL_ENV", "AWS_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def build_wheel(how, out):
    if how == "maturin":
        # The dev profile: no release build here.
        run([maturin(), "build", "--profile", "dev", "--compatibility", "linux", "--out", out], cwd=PACKAGE)
    else:
        binary = Path(os.environ.get("DAXD_BIN") or ROOT / "target" / "debug" / "daxd")
        if not binary.is_file():
            pytest.fail(f"{binary} missing: build it first (cargo build -p daxd)")
        run([sys.executable, PACKAGE / "build_wheel.py", "--binary", binary, "--out", out])
    (wheel,) = out.glob("daxd-*.whl")
    return wheel


BUILDS = ["prebuilt"] + (["maturin"] if os.environ.get("DAXD_PACKAGE_MATURIN") == "1" else [])


@pytest.fixture(scope="module", params=BUILDS)
def venv(request, tmp_path_factory):
    """A fresh venv with the daxd wheel installed."""
    tmp = tmp_path_factory.mktemp(request.param)
    wheel = build_wheel(request.param, tmp / "wheels")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", venv])
    pip = [venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check", "-c", PINS]
    run([*pip, "boto3", "amazon-dax-client", "pytest", wheel], env=clean_env(venv))
    return venv


def test_the_wheel_puts_daxd_on_the_path(venv, tmp_path):
    assert (venv / "bin" / "daxd").is_file()
    out = run(["daxd", "serve", "--help"], env=clean_env(venv), cwd=tmp_path).stdout
    assert "--provisioning-delay-ms" in out
    where = run([venv / "bin" / "python", "-c", "import daxd; print(daxd.__file__)"], env=clean_env(venv), cwd=tmp_path)
    assert where.stdout.strip().startswith(str(venv)), where.stdout


def test_the_context_manager_starts_and_stops_daxd(venv, tmp_path):
    script = textwrap.dedent("""
        import os, daxd
        with daxd.Daxd() as server:
            assert server.health()["status"] == "ok"
            assert server.client("sts").get_caller_identity()["Account"] == "123456789012"
            data_dir, proc = server.data_dir, server._proc
            assert data_dir.is_dir()
        assert proc.returncode == 0 and not data_dir.exists()
        print("ok")
    """)
    assert run([venv / "bin" / "python", "-c", script], env=clean_env(venv), cwd=tmp_path).stdout.strip() == "ok"


def test_the_sample_suite_passes_with_the_fixture(venv, tmp_path):
    suite = tmp_path / "sample"
    shutil.copytree(HERE / "sample", suite)
    proc = subprocess.run([venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=suite, env=clean_env(venv), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 passed" in proc.stdout, proc.stdout
