"""Binder's environment is the tested one, and Voila serves the explorer's app view.

binder/requirements.txt pins every runtime dependency of pyproject.toml with ``==``; ``course.py``
installs those pins into the venv that CI builds and runs every test and notebook in, so checking
here that the installed versions equal the pins proves the pinned set works with the whole course.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest

from k8slearn.browser import stop

try:  # Python 3.11+; the pins need 3.11 anyway (binder/runtime.txt)
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    tomllib = None

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
APP = ROOT / "notebooks" / "explorer-app.ipynb"


def canonical(name: str) -> str:
    """PEP 503 normalised name: ``PyYAML`` and ``pyyaml``, ``jupyterlab_widgets`` and ``-widgets``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    """{canonical name: version} for every ``name==version`` line of binder/requirements.txt."""
    found = {}
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.split("#")[0].strip()
        if not line or line.startswith((".", "-")):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!-]+)", line)
        assert m, f"binder/requirements.txt: {line!r} is not pinned with =="
        found[canonical(m.group(1))] = m.group(2)
    return found


def runtime_dependencies() -> list[str]:
    if tomllib is None:
        pytest.skip("tomllib needs Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [canonical(re.match(r"[A-Za-z0-9._-]+", d).group(0)) for d in project["dependencies"]]


def runtime_version() -> tuple[int, int]:
    text = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", text), f"binder/runtime.txt should read like python-3.11, not {text!r}"
    major, minor = text.removeprefix("python-").split(".")
    return int(major), int(minor)


def test_requirements_install_the_package_itself() -> None:
    lines = [raw.split("#")[0].strip() for raw in (BINDER / "requirements.txt").read_text().splitlines()]
    # with a binder/ folder repo2docker ignores the root pyproject.toml: the "." line installs k8slearn
    assert "." in lines, "binder/requirements.txt must install the package itself with a '.' line"
    assert not (BINDER / "environment.yml").exists(), "environment.yml would make repo2docker ignore requirements.txt"


def test_every_runtime_dependency_is_pinned() -> None:
    pinned = pins()
    missing = [d for d in runtime_dependencies() if d not in pinned]
    assert not missing, f"binder/requirements.txt lacks a == pin for {missing}"
    for extra in ("voila", "jupyterlab-widgets", "ipykernel", "nbgitpuller"):
        assert extra in pinned, f"{extra} is needed by the course view (app view, widgets, kernel, hub links)"


def test_installed_versions_equal_the_pins() -> None:
    if sys.version_info[:2] < runtime_version():
        pytest.skip(f"course.py installs the pins only on Python >= {'.'.join(map(str, runtime_version()))}")
    wrong = {}
    for name, version in pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = f"pinned {version}, installed {installed}"
    assert not wrong, (f"the test environment is not binder's: {wrong}; run `python3 course.py test` "
                       "(it reinstalls when binder/requirements.txt changes) or refresh the pins "
                       "(docs/instructor-guide.md, 'Refreshing the pins')")


@pytest.mark.parametrize("extension", ["voila", "nbgitpuller"])
def test_server_extensions_for_the_links(extension: str) -> None:
    """The README's /voila/render/... link and docs/jupyterhub.md's /git-pull link need these enabled."""
    pytest.importorskip(extension)
    prefix = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d"
    config = prefix / f"{extension}.json"
    assert config.exists(), f"{extension}'s server-extension config is missing in {prefix}"
    enabled = json.loads(config.read_text())["ServerApp"]["jpserver_extensions"]
    assert any(name.split(".")[0] == extension and on for name, on in enabled.items()), enabled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def voila_command() -> list[str]:
    exe = Path(sys.executable).with_name("voila")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("voila")
    if found:
        return [found]
    pytest.skip("voila is not installed (binder/requirements.txt pins it; run python3 course.py test)")


@pytest.mark.slow
def test_voila_renders_the_explorer_app(tmp_path: Path) -> None:
    """`voila notebooks/explorer-app.ipynb` answers 200 with the executed explorer's widget model."""
    command = voila_command()
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = (tmp_path / "voila.log").open("w")
    proc = subprocess.Popen(
        [*command, str(APP), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--Voila.open_browser=False"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        body, status = "", None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as resp:
                    status, body = resp.status, resp.read().decode("utf-8", "replace")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        log.flush()
        assert status == 200, f"voila did not serve the app: {(tmp_path / 'voila.log').read_text()[-2000:]}"
        # executed server-side: the output is a widget view pointing at a model the kernel holds
        assert "application/vnd.jupyter.widget-view+json" in body, "no widget in the rendered app"
        served = set(re.findall(r'"model_id":\s*"([0-9a-f]{32})"', body))
        assert served, "the widget view names no model"
        stored = set(re.findall(r'"model_id":\s*"([0-9a-f]{32})"', APP.read_text()))
        assert not served & stored, "Voila served the stored output instead of running the notebook"
        assert "The k8slearn explorer" in body, "the app's title is missing"
        assert "k8s.explore(" not in body, "Voila should hide the code"
        assert "Traceback" not in body, "the app's cell raised an error"
    finally:
        stop(proc)
        log.close()


def test_readme_binder_links_open_files_that_exist() -> None:
    """The README's Binder links (JupyterLab and Voila) name notebooks of this repository."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://mybinder\.org/v2/gh/OWNER/k8slearn/main\?urlpath=([^)\s]+)", readme)
    paths = {re.sub(r"^(lab/tree|voila/render)/", "", u) for u in links}
    kinds = {u.split("/")[0] for u in links}
    assert {"lab", "voila"} <= kinds, f"README needs a JupyterLab and a Voila Binder link, found {links}"
    assert {"notebooks/00-start-here.ipynb", "notebooks/explorer-app.ipynb"} <= paths, paths
    for path in paths:
        assert (ROOT / path).exists(), f"README links to {path}, which does not exist"
