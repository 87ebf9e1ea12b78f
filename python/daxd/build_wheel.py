#!/usr/bin/env python3
"""Builds the daxd wheel around a daxd binary that is already built, without cargo: the same
wheel maturin makes from pyproject.toml (the Python module under python/, the binary as the
`daxd` script, the metadata and the pytest11 entry point), for a binary from `cargo build`,
`cargo install` or a CI artifact.

    python3 python/daxd/build_wheel.py --binary target/debug/daxd --out dist/

Needs Python 3.11 or later (tomllib). The platform tag is this machine's (linux_x86_64 and the
like): the wheel installs where the binary runs.
"""
import argparse
import base64
import hashlib
import os
import sysconfig
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def version() -> str:
    """The workspace version: the daxd crate inherits it (version.workspace = true)."""
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    return cargo["workspace"]["package"]["version"]


def metadata(project: dict, ver: str) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {ver}"]
    lines.append(f"Summary: {project['description']}")
    lines.append(f"License: {project['license']['text']}")
    lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Classifier: {c}" for c in project.get("classifiers", [])]
    lines += [f"Requires-Dist: {d}" for d in project.get("dependencies", [])]
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {d} ; extra == '{extra}'" for d in deps]
    lines.append("Description-Content-Type: text/markdown; charset=UTF-8")
    return "\n".join(lines) + "\n\n" + (HERE / project["readme"]).read_text()


def entry_points(project: dict) -> str:
    out = []
    for group, entries in project.get("entry-points", {}).items():
        out.append(f"[{group}]")
        out += [f"{name} = {target}" for name, target in entries.items()]
        out.append("")
    return "\n".join(out)


def digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build(binary: Path, out: Path) -> Path:
    pyproject = tomllib.loads((HERE / "pyproject.toml").read_text())
    project = pyproject["project"]
    source = HERE / pyproject["tool"]["maturin"]["python-source"]
    ver = version()
    name = project["name"].replace("-", "_")
    tag = "py3-none-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")
    dist_info = f"{name}-{ver}.dist-info"
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{name}-{ver}-{tag}.whl"
    record = []

    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def add(arcname: str, data: bytes, mode: int = 0o644) -> None:
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=1 if len(data) > 1 << 20 else 6)
            record.append(f"{arcname},{digest(data)},{len(data)}")

        for path in sorted(source.rglob("*.py")):
            add(path.relative_to(source).as_posix(), path.read_bytes())
        add(f"{name}-{ver}.data/scripts/daxd", binary.read_bytes(), 0o755)
        add(f"{dist_info}/METADATA", metadata(project, ver).encode())
        wheel_file = f"Wheel-Version: 1.0\nGenerator: daxd build_wheel.py\nRoot-Is-Purelib: false\nTag: {tag}\n"
        add(f"{dist_info}/WHEEL", wheel_file.encode())
        add(f"{dist_info}/entry_points.txt", entry_points(project).encode())
        record.append(f"{dist_info}/RECORD,,")
        info = zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100644 << 16
        zf.writestr(info, "\n".join(record) + "\n", compress_type=zipfile.ZIP_DEFLATED)
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "daxd", help="the daxd binary")
    parser.add_argument("--out", type=Path, default=ROOT / "target" / "wheels", help="directory for the wheel")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        parser.error(f"{args.binary} is not an executable daxd binary")
    print(build(args.binary, args.out))


if __name__ == "__main__":
    main()
