"""The ``k8slearn`` command line: ``k8slearn version``, ``k8slearn --help``, ``k8slearn check ...``.

Subcommands live in :data:`COMMANDS`, one row each: a name, a one-line help, a function that adds
its arguments and a function that runs it and returns the exit code. To add one (``check``,
``bench``, ``doctor``, ``lab`` ...), write those two functions and add a row; import anything heavy
inside the run function so that ``k8slearn --help`` stays fast.

Errors raised by k8slearn (:class:`k8slearn.errors.K8sLearnError`) are printed as one message on
stderr with exit code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NamedTuple

from k8slearn.errors import K8sLearnError

__all__ = ["CHECK_EXIT_CODES", "COMMANDS", "main"]


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


def _lab_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--list", action="store_true", help="list the scenarios and exit")
    mode.add_argument("--rules", metavar="NODE",
                      help="print the rules the lab loads on NODE (per mode and IP family, each under a header "
                      "naming the command that loads it) and exit")
    mode.add_argument("--cleanup", action="store_true",
                      help="remove what a killed lab run left behind (refused while a run is in progress)")
    parser.add_argument("--scenario", action="append", metavar="NAME",
                        help="run only this scenario (repeatable), or with --rules: print the rules the lab "
                        "loads for it (default: the first scenario, the service as built); not with --list or "
                        "--cleanup")
    parser.add_argument("--mode", choices=("iptables", "nftables", "both"),
                        help="the kube-proxy mode to run the scenarios in, or whose rules --rules prints "
                        "(default: both); not with --list or --cleanup")
    parser.add_argument("--json", action="store_true",
                        help="print JSON (the run's report, the scenario list, or what --cleanup removed); "
                        "not with --rules, which prints iptables-restore / nft text")


def _lab(args: argparse.Namespace) -> int:
    import json

    from k8slearn import lab

    other = "--list" if args.list else "--rules" if args.rules is not None else "--cleanup" if args.cleanup else None
    if args.scenario and other in ("--list", "--cleanup"):
        raise lab.LabError(f"--scenario chooses scenarios to run; it cannot be combined with {other}")
    if args.mode is not None and other in ("--list", "--cleanup"):
        raise lab.LabError(f"--mode chooses the kube-proxy mode to run or print; it cannot be combined with {other}")
    if args.json and args.rules is not None:
        raise lab.LabError("--json cannot be combined with --rules: the rules are iptables-restore / nft text")
    modes = lab.check_modes(args.mode or "both")  # as the lab runs, and so what --rules prints
    if args.list:
        if args.json:
            print(json.dumps([{"name": sc.name, "title": sc.title} for sc in lab.SCENARIOS], indent=2))
        else:
            for sc in lab.SCENARIOS:
                print(f"{sc.name}: {sc.title}")
        return 0
    if args.rules is not None:
        texts = [lab.rules_text(args.rules, modes=modes, scenario=name) for name in args.scenario or [None]]
        print("\n".join(texts), end="")
        return 0
    if args.cleanup:
        lab.check_system()
        removed = lab.cleanup()
        if args.json:
            print(json.dumps({"removed": removed}))
        else:
            print(f"removed {len(removed)} lab namespace(s)" + (f": {', '.join(removed)}" if removed else ""))
        return 0
    progress = None if args.json else (lambda message: print(message, file=sys.stderr))
    try:
        report = lab.run(scenarios=args.scenario, progress=progress, modes=modes)
    except KeyboardInterrupt:
        print("k8slearn lab: interrupted; everything it built was removed", file=sys.stderr)
        return 130
    print(json.dumps(report, indent=2) if args.json else lab.format_report(report))
    return 0 if report["all_agree"] else 1


#: The exit codes of ``k8slearn check`` and ``k8slearn progress`` (k8slearn.grading returns them).
CHECK_EXIT_CODES = {
    0: "every exercise is done",
    1: "some exercises are not done yet (wrong, not attempted, error or missing)",
    2: "a notebook could not be checked (not a readable exercise notebook, a cell ran\n"
       "     too long, the kernel stopped), or the command line was wrong",
}


def _exit_codes() -> str:
    return "exit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in CHECK_EXIT_CODES.items())


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK",
                        help="exercise notebooks (.ipynb), relative to the folder you are in")
    parser.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                        help="time the cells of one notebook may take together (default 300)")
    parser.epilog = (
        "Each notebook runs in a fresh kernel from its own folder, on this computer; save it first.\n"
        "The exercises of a notebook come from k8slearn, not from the notebook: a deleted check cell\n"
        "counts as missing. Per exercise: done, wrong (with the explanation), not attempted, error\n"
        "(a cell of that exercise raised) or missing.\n\n" + _exit_codes())


def _check(args: argparse.Namespace) -> int:
    from k8slearn import grading

    return grading.check_notebooks(args.notebooks, timeout=args.timeout)


def _progress_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", metavar="FOLDER",
                        help="the exercises folder (default: ./exercises, the folder you are in, or the course's)")
    parser.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                        help="time the cells of one notebook may take together (default 300)")
    parser.epilog = ("Grades every exercise notebook as `k8slearn check` does, in short: done, wrong,\n"
                     "not attempted, error or missing per exercise. Nothing is sent anywhere.\n\n" + _exit_codes())


def _progress(args: argparse.Namespace) -> int:
    from k8slearn import grading

    return grading.progress(args.folder, timeout=args.timeout)


def _doctor(args: argparse.Namespace) -> int:
    from k8slearn import doctor

    return doctor.main()


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object (to track the figures over time)")
    parser.add_argument("--quick", action="store_true", help="small clusters and few repeats (a few seconds)")
    parser.add_argument("--browser", action="store_true",
                        help="the learner's wait in a real browser: JupyterLab in headless Chromium, click to last "
                        "change, per kind of interaction (needs playwright and /usr/bin/chromium; about 2 minutes)")


def _bench(args: argparse.Namespace) -> int:
    from k8slearn import bench

    return bench.main(as_json=args.json, quick=args.quick, browser=args.browser)


COMMANDS: list[Command] = [
    Command("version", "print the version of k8slearn", _no_arguments, _version),
    Command("doctor", "is this installation ready for the course? (versions and a self-check)",
            _no_arguments, _doctor),
    Command("lab", "compare the simulator with the Linux kernel, in network namespaces (needs root)",
            _lab_arguments, _lab),
    Command("check", "grade exercise notebooks: done, wrong, not attempted, error or missing per exercise",
            _check_arguments, _check),
    Command("progress", "summarise all your exercise notebooks (done / wrong / not attempted per exercise)",
            _progress_arguments, _progress),
    Command("bench", "is the explorer fast enough to feel instant? (update times, exact shares, sampler, import)",
            _bench_arguments, _bench),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k8slearn",
        description="Learn how Kubernetes treats a client's source IP.",
        epilog="Run 'k8slearn COMMAND --help' for the options of one command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in COMMANDS:
        sub_parser = sub.add_parser(command.name, help=command.help, description=command.help,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
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
    except BrokenPipeError:
        # The reader went away (`k8slearn doctor | head`): stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141  # 128 + SIGPIPE, the status a shell reports for such a pipeline
