"""k8slearn doctor: a healthy install passes; a missing or old package fails with advice."""

from __future__ import annotations

import subprocess
import sys

from k8slearn import doctor


def test_this_environment_is_healthy(capsys) -> None:
    assert doctor.main() == 0
    out = capsys.readouterr().out
    assert "simulator" in out and "All good" in out


def test_missing_package_fails_with_advice(monkeypatch, capsys) -> None:
    real = doctor._version
    monkeypatch.setattr(doctor, "_version", lambda dist: None if dist == "ipywidgets" else real(dist))
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert "BAD  ipywidgets" in out.replace("  ipywidgets ", "  ipywidgets") or "BAD" in out
    assert "ipywidgets is needed for the explorer" in out and "course.py" in out


def test_old_package_fails(monkeypatch) -> None:
    real = doctor._version
    monkeypatch.setattr(doctor, "_version", lambda dist: "3.9.1" if dist == "jupyterlab" else real(dist))
    bad = [c for c in doctor.run_checks() if not c.ok]
    assert [c.name for c in bad] == ["jupyterlab"] and "4.0 or newer" in bad[0].advice


def test_a_crashing_self_check_is_reported_not_raised(monkeypatch) -> None:
    def boom():
        raise RuntimeError("no display")
    monkeypatch.setattr(doctor, "_self_check_figure", boom)
    bad = [c for c in doctor.run_checks() if not c.ok]
    assert bad and bad[0].name == "figure" and "no display" in bad[0].detail


def test_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "k8slearn", "doctor"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "jupyterlab" in done.stdout
