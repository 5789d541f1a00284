"""The command line: ``k8slearn version`` in-process and as ``python -m k8slearn``; usage errors."""

import subprocess
import sys
from pathlib import Path

from k8slearn.cli import COMMANDS, main
from k8slearn.errors import K8sLearnError

ROOT = Path(__file__).resolve().parent.parent


def test_version_in_process(capsys):
    assert main(["version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("k8slearn ")
    assert out.split()[1][0].isdigit()


def test_version_as_module():
    done = subprocess.run(
        [sys.executable, "-m", "k8slearn", "version"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("k8slearn ")


def test_help_lists_only_implemented_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    names = {command.name for command in COMMANDS}
    for name in names:
        assert f"    {name} " in out
    for planned in {"check", "bench", "doctor", "lab"} - names:  # not there until implemented
        assert f"    {planned} " not in out


def test_unknown_command_exits_2_and_names_the_choices(capsys):
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "frobnicate" in err
    assert "version" in err  # the valid choices are listed


def test_package_error_is_one_message_without_traceback(capsys, monkeypatch):
    def broken(args):
        raise K8sLearnError('nodes "node-z" not found', hint="the nodes are: 'node-a'.")

    monkeypatch.setattr("k8slearn.cli.COMMANDS", [COMMANDS[0]._replace(run=broken)])
    assert main(["version"]) == 2
    err = capsys.readouterr().err
    assert err.startswith('k8slearn version: error: nodes "node-z" not found')
    assert "Hint:" in err
    assert "Traceback" not in err


def test_a_reader_that_goes_away_gets_no_traceback():
    """`k8slearn doctor | head -1`: the pipe closes after one line; no BrokenPipeError is printed."""
    proc = subprocess.Popen([sys.executable, "-m", "k8slearn", "doctor"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
    proc.stdout.readline()
    proc.stdout.close()  # as head does after its first line
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 141
