"""`gateway` commands that refuse a configuration rather than run it wrongly."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"}
    env["REDIS_URL"] = ""
    done = subprocess.run(
        [sys.executable, "-m", "graph.cli", "serve", "--workers", "2"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "--workers > 1 needs REDIS_URL" in done.stderr
