#!/usr/bin/env python3
"""Set up and run the k8slearn course with nothing but Python 3.10+ (standard library only).

    python3 course.py lab      # make .venv if needed, install what the course needs, open JupyterLab
    python3 course.py setup    # the same set-up, without starting JupyterLab
    python3 course.py test     # the set-up plus the test tools, then tests, doctests and notebooks
    python3 course.py test -- -x -k layering    # arguments after -- go to pytest

On Windows type ``py`` instead of ``python3``. Every command can be run again at any time: .venv is
made once, and packages are installed again only when pyproject.toml or binder/requirements.txt
change. There are two install flavours, each with its own stamp in .venv: "lab" (k8slearn and the
versions pinned in binder/requirements.txt) and "test" (the same plus the test tools: pytest, nbval,
hypothesis, Playwright, kubernetes-validate). A test install also serves lab, so switching between
the two installs nothing twice. Delete .venv to start over.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
FIRST_NOTEBOOK = "notebooks/00-start-here.ipynb"
WORKSPACES = VENV / "k8slearn-workspaces"  # JupyterLab keeps this course's open tabs here
FLAVOURS = ("lab", "test")  # each flavour includes the ones before it


def step(number: int, text: str) -> None:
    print(f"[{number}/3] {text}", flush=True)


def stamp(flavour: str) -> Path:
    return VENV / f"k8slearn-installed-{flavour}"


def digest() -> str:
    files = [ROOT / "pyproject.toml", ROOT / "binder" / "requirements.txt"]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files if f.exists())).hexdigest()


def installed(flavour: str) -> bool:
    """Is ``flavour`` (or a flavour that includes it) installed from the current pyproject/pins?"""
    wanted = digest()
    return any(stamp(f).exists() and stamp(f).read_text().strip() == wanted
               for f in FLAVOURS[FLAVOURS.index(flavour):])


def pip_command(flavour: str) -> list[str]:
    """The pip install command of a flavour.

    lab installs ``-e .`` with binder's pins and skips byte-compiling (Python compiles what the course
    imports on first use, a few seconds, instead of every file of every package up front); test adds
    the ``[test]`` extra and compiles, since the tests start many Python processes.
    """
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    if flavour == "lab":
        return [*pip, "--no-compile", "-e", ".", *binder_pins()]
    return [*pip, "-e", ".[test]", *binder_pins()]


def setup(flavour: str = "lab") -> None:
    """Make .venv and install ``flavour`` into it, unless that was already done."""
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
    if installed(flavour):
        step(2, "packages are up to date")
        return
    what = "k8slearn and what the course needs" if flavour == "lab" else "k8slearn, the course and the test tools"
    step(2, f"installing {what} into .venv (slow only the first time) ...")
    start = time.monotonic()
    if subprocess.call(pip_command(flavour), cwd=ROOT) != 0:
        sys.exit("pip install failed (see above); fix it and run the command again.")
    stamp(flavour).write_text(digest() + "\n")
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


def course_env() -> dict[str, str]:
    """The environment JupyterLab runs in: the course's .venv first on PATH, as if activated, so its
    terminals find ``k8slearn`` and ``python`` (``k8slearn check ...`` works there)."""
    env = dict(os.environ, VIRTUAL_ENV=str(VENV))
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONHOME", None)
    return env


def lab_command(extra: list[str]) -> list[str]:
    """JupyterLab with the repository as its root, so notebooks/, exercises/, solutions/ and docs/ are
    all in the file browser, and its own workspace folder (see :func:`first_workspace`).

    Its terminals run the learner's shell as a plain interactive shell, so they inherit the PATH of
    :func:`course_env`. (Left alone, JupyterLab starts a login shell whenever its output is not a
    terminal, and a login shell's /etc/profile resets PATH: ``k8slearn`` would not be found.)
    """
    options = [f"--ServerApp.root_dir={ROOT}", f"--LabApp.workspaces_dir={WORKSPACES}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.append("--allow-root")
    if os.name != "nt":
        shell = os.environ.get("SHELL") or shutil.which("sh") or "/bin/sh"
        options.append(f"--ServerApp.terminado_settings=shell_command={shlex.quote(shell)}")
    return [str(PYTHON), "-m", "jupyter", "lab", *options, *extra]


def first_workspace() -> None:
    """On the first start, a JupyterLab workspace with the first notebook open and the file browser at
    the repository root; afterwards JupyterLab restores whatever the learner had open.

    (Naming the notebook on JupyterLab's command line would open it too, but would also make its folder,
    notebooks/, the file browser's landing place.)
    """
    if WORKSPACES.exists() or not (ROOT / FIRST_NOTEBOOK).exists():
        return
    tab = f"notebook:{FIRST_NOTEBOOK}"
    workspace = {
        "data": {
            "layout-restorer:data": {
                "main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": [tab]}, "current": tab},
                "left": {"collapsed": False, "visible": True, "current": "filebrowser", "widgets": ["filebrowser"]},
            },
            tab: {"data": {"path": FIRST_NOTEBOOK, "factory": "Notebook"}},
            "file-browser-filebrowser:cwd": {"path": ""},
        },
        "metadata": {"id": "default"},
    }
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "k8slearn.jupyterlab-workspace.json"
        source.write_text(json.dumps(workspace, indent=1) + "\n")
        done = subprocess.run([str(PYTHON), "-m", "jupyter", "lab", "workspaces", "import",
                               f"--WorkspaceImportApp.workspaces_dir={WORKSPACES}", str(source)],
                              cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:  # not fatal: JupyterLab then opens on its launcher
        print(f"      (could not prepare JupyterLab's first view: {done.stderr.strip()[-300:]})", flush=True)


def lab(extra: list[str]) -> int:
    setup("lab")
    first_workspace()
    step(3, f"starting JupyterLab on {FIRST_NOTEBOOK} (stop it with Ctrl+C) ...")
    try:
        return subprocess.call(lab_command(extra), cwd=ROOT, env=course_env())
    except KeyboardInterrupt:
        return 0


def has_notebooks(folder: str) -> bool:
    return any(".ipynb_checkpoints" not in p.parts for p in (ROOT / folder).rglob("*.ipynb"))


def test(extra: list[str]) -> int:
    setup("test")
    step(3, "running tests ...")
    env = course_env()
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
    if command == ["setup"]:
        start = time.monotonic()
        setup("lab")
        print(f"      ready in {time.monotonic() - start:.0f} s: python3 course.py lab opens the course", flush=True)
        return 0
    if command == ["test"]:
        return test(extra)
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
