#!/usr/bin/env python3
"""Set up and run the k8slearn course with nothing but Python 3.10+ (standard library only).

    python3 course.py lab     # make .venv if needed, install k8slearn, open JupyterLab
    python3 course.py test    # the same set-up, then tests, doctests and notebooks
    python3 course.py test -- -x -k layering    # arguments after -- go to pytest

On Windows type ``py`` instead of ``python3``. Both commands can be run again at any time: .venv is
made once, and packages (k8slearn, its test tools and the versions pinned in binder/requirements.txt)
are installed again only when pyproject.toml or binder/requirements.txt change (a hash of both is
kept in .venv/k8slearn-installed). Delete .venv to start over.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / "k8slearn-installed"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
FIRST_NOTEBOOK = "notebooks/00-start-here.ipynb"


def step(number: int, text: str) -> None:
    print(f"[{number}/3] {text}", flush=True)


def setup() -> None:
    """Make .venv and install ``-e .[test]`` into it, unless that was already done."""
    if sys.version_info < (3, 10):  # noqa: UP036 -- this file may be run by an older Python
        sys.exit(f"k8slearn needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    if PYTHON.exists():
        step(1, ".venv exists")
    else:
        step(1, "creating .venv ...")
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError) as err:
            shutil.rmtree(VENV, ignore_errors=True)
            sys.exit(f"could not create .venv: {err}\n(on Debian/Ubuntu: apt install python3-venv)")
    files = [ROOT / "pyproject.toml", ROOT / "binder" / "requirements.txt"]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files if f.exists())).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        step(2, "packages are up to date")
        return
    step(2, "installing k8slearn and its dependencies into .venv (slow only the first time) ...")
    start = time.monotonic()
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    if subprocess.call([*pip, "-e", ".[test]", *binder_pins()], cwd=ROOT) != 0:
        sys.exit("pip install failed (see above); fix it and run the command again.")
    STAMP.write_text(digest + "\n")
    print(f"      installed in {time.monotonic() - start:.0f} s", flush=True)


def binder_pins() -> list[str]:
    """The pinned requirements of binder/requirements.txt (Binder's tested set), without its "." line.

    They apply on the Python version of binder/runtime.txt and newer; on an older Python (3.10)
    pip resolves from pyproject.toml's lower bounds alone.
    """
    req, runtime = ROOT / "binder" / "requirements.txt", ROOT / "binder" / "runtime.txt"
    if not req.exists():
        return []
    if runtime.exists():
        wanted = tuple(int(x) for x in runtime.read_text().strip().removeprefix("python-").split(".")[:2])
        if sys.version_info[:2] < wanted:
            print(f"      Python {sys.version.split()[0]} is older than binder/runtime.txt: "
                  "installing without binder's pins", flush=True)
            return []
    lines = (line.split("#")[0].strip() for line in req.read_text().splitlines())
    return [line for line in lines if line and not line.startswith((".", "-"))]


def lab(extra: list[str]) -> int:
    setup()
    target = FIRST_NOTEBOOK if (ROOT / FIRST_NOTEBOOK).exists() else "notebooks"
    step(3, f"starting JupyterLab on {target} (stop it with Ctrl+C) ...")
    root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    try:
        return subprocess.call(
            [str(PYTHON), "-m", "jupyter", "lab", target, *root, *extra], cwd=ROOT
        )
    except KeyboardInterrupt:
        return 0


def has_notebooks(folder: str) -> bool:
    return any(".ipynb_checkpoints" not in p.parts for p in (ROOT / folder).rglob("*.ipynb"))


def test(extra: list[str]) -> int:
    setup()
    step(3, "running tests ...")
    env = dict(os.environ, MPLBACKEND="Agg")
    runs = [("tests and doctests", ["tests", "--doctest-modules", "k8slearn"])]
    folders = [f for f in ("notebooks", "solutions") if has_notebooks(f)]
    if folders:
        runs.append(("notebooks", ["--nbval-lax", *folders]))
    else:
        print("      no notebooks yet: nbval skipped", flush=True)
    failed = []
    for name, args in runs:
        code = subprocess.call([str(PYTHON), "-m", "pytest", *args, *extra], cwd=ROOT, env=env)
        # Exit code 5 means "no tests collected": a failure, unless extra arguments filtered them out.
        if code != 0 and not (code == 5 and extra):
            failed.append(f"{name} (pytest exit code {code})")
    if failed:
        print("FAILED: " + ", ".join(failed), file=sys.stderr, flush=True)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    command = argv[: argv.index("--")] if "--" in argv else argv
    if command == ["lab"]:
        return lab(extra)
    if command == ["test"]:
        return test(extra)
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
