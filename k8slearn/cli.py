"""The ``k8slearn`` command line: ``k8slearn version``, ``k8slearn --help``.

Subcommands live in :data:`COMMANDS`, one row each: a name, a one-line help, a function that adds
its arguments and a function that runs it and returns the exit code. To add one (``check``,
``bench``, ``doctor``, ``lab`` ...), write those two functions and add a row; import anything heavy
inside the run function so that ``k8slearn --help`` stays fast.

Errors raised by k8slearn (:class:`k8slearn.errors.K8sLearnError`) are printed as one message on
stderr with exit code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NamedTuple

from k8slearn.errors import K8sLearnError

__all__ = ["COMMANDS", "main"]


class Command(NamedTuple):
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("k8slearn")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def _version(args: argparse.Namespace) -> int:
    print(f"k8slearn {_package_version()}")
    return 0


COMMANDS: list[Command] = [
    Command("version", "print the version of k8slearn", _no_arguments, _version),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k8slearn",
        description="Learn how Kubernetes treats a client's source IP.",
        epilog="Run 'k8slearn COMMAND --help' for the options of one command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in COMMANDS:
        sub_parser = sub.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub_parser)
        sub_parser.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2, message already printed)
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except K8sLearnError as err:
        print(f"k8slearn {args.command}: error: {err}", file=sys.stderr)
        return 2
