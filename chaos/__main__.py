"""`python -m chaos list | run NAME... | all | heal [--target PATH] [--out DIR] [--times N]`:
see chaos/runner.py and docs/chaos.md."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from chaos import report, runner
from grader.errors import GraderError
from stack.paths import REPO_ROOT, default_data_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["list", "run", "all", "heal"])
    parser.add_argument("names", nargs="*", help="experiments, for `run`")
    parser.add_argument("--target", type=Path, default=default_data_dir().target_file)
    parser.add_argument("--out", type=Path, help="default: reports/chaos/<UTC time>")
    parser.add_argument("--times", type=int, default=1, help="run the chosen list N times over")
    parser.add_argument("--debug", action="store_true", help="a traceback for an unexpected error")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for name, path in runner.catalog().items():
                runner.validate(path)
                sys.stdout.write(f"{name:<16} {runner.description(path)}\n")
            return 0
        if args.command == "heal":
            left = runner.heal_and_probe(args.target)
            sys.stdout.write(f"{left or 'no fault left'}\n")
            return 1 if left else 0
        if args.command == "run" and not args.names:
            raise runner.ChaosError(
                f"name an experiment to run; the catalog has: {', '.join(runner.catalog())}"
            )
        names = list(runner.catalog()) if args.command == "all" else args.names
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        out = args.out or REPO_ROOT / "reports" / "chaos" / stamp
        runs = runner.run_all(names, args.target, out, args.times)
    except (runner.ChaosError, GraderError) as exc:
        sys.stderr.write(f"python -m chaos: {exc}\n")
        return 2
    except runner.Interrupted as exc:
        sys.stderr.write(f"python -m chaos: stopped by {exc}; the faults were undone\n")
        return 130
    except Exception as exc:  # one line for a person; the traceback with --debug
        if args.debug:
            raise
        sys.stderr.write(
            f"python -m chaos: {type(exc).__name__}: {exc} (--debug shows the traceback)\n"
        )
        return 1
    judgements = [r.judgement for r in runs]
    table = report.markdown(judgements)
    pictures = "".join(f"\n![{r.run_dir.name}]({r.run_dir.name}/timeline.svg)\n" for r in runs)
    (out / "report.md").write_text(table + pictures)
    report.junit(judgements, out / "junit.xml")
    sys.stdout.write(f"\n{table}\nreports: {out / 'report.md'}, {out / 'junit.xml'}\n")
    return 0 if all(j.verdict == "passed" for j in judgements) else 1


if __name__ == "__main__":
    sys.exit(main())
