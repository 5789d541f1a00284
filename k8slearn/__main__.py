"""``python -m k8slearn`` runs the command line (see :mod:`k8slearn.cli`)."""

from k8slearn.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
