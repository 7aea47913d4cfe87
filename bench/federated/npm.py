"""The Node.js packages of the router, installed with the machine's npm under var/npm/ (never
committed), once per set of versions: later runs find them there and install nothing."""

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from bench.options import ROOT

# Exact versions, so every run composes and routes with the same code. Apollo Server 5 needs
# Node.js 20.
PACKAGES = {
    "@apollo/composition": "2.14.4",
    "@apollo/gateway": "2.14.4",
    "@apollo/server": "5.5.1",
    "graphql": "16.11.0",
}
NODE_MAJOR = 20
# A cold install fetches about 250 packages (~100 MB); a slow registry must not hang a run, and
# the message must come before pytest's own 300 s limit on the test that installs.
INSTALL_TIMEOUT_SECONDS = 240
TAIL = 800


class NodeUnavailable(Exception):
    """Node.js or npm is missing or too old, or the packages could not be installed."""


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise NodeUnavailable("Node.js is not installed (no `node` on PATH)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    major = re.match(r"v(\d+)\.", version.stdout)
    if major is None or int(major[1]) < NODE_MAJOR:
        raise NodeUnavailable(f"Node.js {NODE_MAJOR}+ is needed; found {version.stdout.strip()}")
    return found


def node_modules(var: Path = ROOT / "var") -> Path:
    """The folder that holds PACKAGES, installing them on first use (one install at a time)."""
    node()
    npm = shutil.which("npm")
    if npm is None:
        raise NodeUnavailable("npm is not installed (no `npm` on PATH)")
    key = hashlib.sha256(json.dumps(PACKAGES, sort_keys=True).encode()).hexdigest()[:12]
    folder = var / "npm" / key
    installed = folder / ".installed"
    if installed.exists():
        return folder / "node_modules"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed.exists():
            _install(npm, folder, var / "npm-cache")
            installed.touch()
    return folder / "node_modules"


def _install(npm: str, folder: Path, cache: Path) -> None:
    manifest = {"private": True, "dependencies": PACKAGES}
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    command = [
        npm,
        "install",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",  # nothing here needs a build step; none runs
        "--loglevel=error",
        "--cache",
        str(cache),
    ]
    try:
        subprocess.run(
            command,
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            env={**os.environ, "npm_config_update_notifier": "false"},
        )
    except subprocess.TimeoutExpired:
        raise NodeUnavailable(
            f"npm install took over {INSTALL_TIMEOUT_SECONDS} s (is the registry reachable?)"
        ) from None
    except subprocess.CalledProcessError as error:
        raise NodeUnavailable(f"npm install failed: {(error.stderr or '')[-TAIL:]}") from None
