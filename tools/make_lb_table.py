"""Write docs/load-balancers.md from the simulator (k8slearn.lbtable.document()).

Usage::

    python tools/make_lb_table.py            # write docs/load-balancers.md
    python tools/make_lb_table.py --check    # exit 1 if the committed file differs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "load-balancers.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed file")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from k8slearn.lbtable import document

    text = document()
    if args.check:
        same = TARGET.exists() and TARGET.read_text(encoding="utf-8") == text
        print("docs/load-balancers.md is up to date" if same else "docs/load-balancers.md differs: run tools/make_lb_table.py")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
