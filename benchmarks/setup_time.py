"""How long a learner waits for the course: `python3 course.py setup` on a fresh clone, then the
first start of JupyterLab. Prints the figures; needs the network (PyPI) for the cold runs.

    python3 benchmarks/setup_time.py                 # 1 cold + 1 local-wheels run + first start
    python3 benchmarks/setup_time.py --repeat 3 --source /path/to/repo --branch main

Each run clones ``--source`` (default: this repository) into a temporary folder and times
``python3 course.py setup`` there (it creates ``.venv`` and installs the "lab" flavour):

* cold: an empty pip cache (a fresh ``PIP_CACHE_DIR``), every package downloaded from PyPI;
* local wheels: every wheel already on disk (``PIP_FIND_LINKS`` + ``PIP_NO_INDEX``), which is what a
  warm pip cache saves: the downloads. (Where a proxy strips HTTP caching headers, pip's own cache
  stays empty, so a second run is cold again; this measures the warm case without relying on it.)

Machine-wide pip configuration files are ignored (``PIP_CONFIG_FILE=/dev/null``), so a local
mirror does not make the cold run look faster than a learner's. Then ``python3 course.py lab``
is started once (bytecode written as usual) and timed until JupyterLab answers ``/lab``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def learner_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PIP_") and k not in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "PYTHONPATH")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def clone(source: str, branch: str | None, into: Path) -> Path:
    target = into / "k8slearn"
    cmd = ["git", "clone", "-q", *(["-b", branch] if branch else []), source, str(target)]
    subprocess.run(cmd, check=True)
    return target


def timed_setup(repo: Path, env: dict[str, str]) -> float:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "course.py", "setup"], cwd=repo, env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"course.py setup failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def download_wheels(repo: Path, into: Path) -> None:
    """Every wheel the lab flavour installs (and setuptools for the editable build), into ``into``."""
    sys.path.insert(0, str(repo))
    import course  # noqa: PLC0415 -- the clone's own course.py

    reqs = [*course.binder_pins(), "setuptools>=64"]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "-d", str(into), *reqs],
                   env=learner_env(), check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_start(repo: Path) -> float:
    port = free_port()
    env = learner_env()
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "course.py", "lab", "--", "--no-browser", f"--port={port}",
                             "--ServerApp.port_retries=0"], cwd=repo, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while time.monotonic() - start < 300:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=5):
                    return time.monotonic() - start
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise SystemExit("JupyterLab did not answer within 300 s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default=str(ROOT), help="repository to clone (default: this one)")
    parser.add_argument("--branch", default=None, help="branch to clone (default: the source's HEAD)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind (default 1)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f}, Python {sys.version.split()[0]}")
    cold, local, starts = [], [], []
    with tempfile.TemporaryDirectory(prefix="k8slearn-setup-") as tmp:
        wheels = Path(tmp) / "wheels"
        for i in range(args.repeat):
            run = Path(tmp) / f"cold{i}"
            run.mkdir()
            repo = clone(args.source, args.branch, run)
            cold.append(timed_setup(repo, learner_env(PIP_CACHE_DIR=str(run / "pip-cache"))))
            print(f"cold (empty pip cache, PyPI)       {cold[-1]:6.1f} s", flush=True)
            if i == 0:
                download_wheels(repo, wheels)
                starts.append(first_start(repo))
                print(f"first start of JupyterLab          {starts[-1]:6.1f} s", flush=True)
        for i in range(args.repeat):
            run = Path(tmp) / f"local{i}"
            run.mkdir()
            repo = clone(args.source, args.branch, run)
            env = learner_env(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_CACHE_DIR=str(run / "pip-cache"))
            local.append(timed_setup(repo, env))
            print(f"local wheels (no downloads)        {local[-1]:6.1f} s", flush=True)
    print(f"course.py setup: cold median {statistics.median(cold):.0f} s, local wheels median "
          f"{statistics.median(local):.0f} s; JupyterLab's first start {starts[0]:.0f} s more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
