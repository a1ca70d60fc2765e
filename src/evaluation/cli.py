"""Command line: `evaluation run|validate|synth|render|verify|export|init-project|dictionary`.

Imports stay inside the commands so that `evaluation --help` answers at once.
Exit codes: 0 ok · 1 invalid input data · 2 usage or configuration · 3 notebook or render
failure · 4 the machine: a folder read-only, the disk full, permission denied, or the build
folder in use by another run.
"""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.errors import EvaluationError

if TYPE_CHECKING:
    from evaluation.config import Config


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evaluation",
        description="Evaluate VluchtelingenWerk's return projects: validate data, execute the "
        "notebooks, render the report.",
        epilog="Exit codes: 0 ok, 1 invalid input data, 2 usage or configuration error, "
        "3 a notebook or render step failed, 4 a folder could not be written or read "
        "(read-only, disk full, permission denied) or the build folder is in use.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--config",
            type=Path,
            default=Path("evaluation.yml"),
            help="configuration file (default: evaluation.yml)",
        )
        sp.add_argument(
            "--build",
            type=Path,
            default=Path("build"),
            help="where every output goes (default: build)",
        )
        sp.add_argument("--quiet", action="store_true", help="no progress lines")

    r = sub.add_parser("run", help="validate, execute the notebooks and render the report")
    common(r)
    r.add_argument("--data", type=Path, help="case-data folder to evaluate instead of the default")
    r.add_argument(
        "--project",
        action="append",
        help="evaluate only this project (repeatable); with --data, the data is its own",
    )
    r.add_argument("--jobs", type=int, default=0, help="notebooks run at once (default: cores)")
    r.add_argument("--pandoc", action="store_true", help="render with pandoc even if quarto exists")
    r.add_argument("--no-render", action="store_true", help="stop after executing the notebooks")

    v = sub.add_parser("validate", help="validate a case-data folder against the contract")
    v.add_argument(
        "dir", nargs="?", type=Path, help="folder to validate (default: configured data)"
    )
    common(v)
    v.add_argument(
        "--out",
        type=Path,
        help="where the report goes (default: BUILD/validation-only; never the last run's)",
    )

    s = sub.add_parser("synth", help="generate calibrated synthetic case data")
    s.add_argument("--seed", type=int, default=20151001)
    s.add_argument("--scale", type=float, default=1.0, help="population multiplier (1 = published)")
    s.add_argument("--out", type=Path, default=Path("build/synthetic"))
    s.add_argument("--format", choices=("csv", "parquet"), default="csv")

    rd = sub.add_parser("render", help="render what was executed (quarto, else pandoc)")
    common(rd)
    rd.add_argument("--pandoc", action="store_true")

    vf = sub.add_parser("verify", help="re-run from the manifest and report any difference")
    common(vf)
    vf.add_argument("--keep", type=Path, help="rerun into this new folder and keep it")

    ex = sub.add_parser(
        "export", help="write the handover archive: report, public results, manifest, checksums"
    )
    ex.add_argument("dest", type=Path, help="archive to write (.zip or .tar.gz) or a folder")
    common(ex)

    ip = sub.add_parser("init-project", help="add a project block and an empty mapping file")
    ip.add_argument("name", help="project id, e.g. MOH3")
    ip.add_argument("--data", type=Path, required=True, help="the export folder of this project")
    ip.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    ip.add_argument("--end", required=True, help="last day, YYYY-MM-DD")
    ip.add_argument("--kind", choices=("return", "counselling"), default="return")
    ip.add_argument("--baseline", default="MOH1")
    ip.add_argument(
        "--cutoff", help="the date the export was taken, YYYY-MM-DD (default: data.cutoff)"
    )
    ip.add_argument("--config", type=Path, default=Path("evaluation.yml"))

    d = sub.add_parser("dictionary", help="write the data dictionary (Markdown)")
    d.add_argument("--out", type=Path, default=Path("build/data_dictionary.md"))
    return p


def _config(args: argparse.Namespace):
    from evaluation import config

    cfg = config.load(args.config)
    return cfg


def _run_options(args: argparse.Namespace) -> dict:
    """What a run's outputs depend on from the command line (not --jobs or --quiet)."""
    return {
        "config": str(args.config.resolve()),
        "build": str(args.build.resolve()),
        "data": str(args.data.resolve()) if args.data else None,
        "project": sorted(args.project or []),
        "pandoc": bool(args.pandoc),
        "render": not args.no_render,
    }


def cmd_run(args: argparse.Namespace) -> int:
    from evaluation.pipeline import noop_stamp

    options = _run_options(args)
    if noop_stamp.up_to_date(args.build, options):
        if not args.quiet:
            print(f"[   0.0s] {noop_stamp.MESSAGE}", file=sys.stderr)
        return 0
    from evaluation.pipeline import prepare

    prepare.start_children()  # imports what validation needs while this process imports the run
    from evaluation.pipeline.run import RunOptions, run

    cfg = with_data(_config(args), args.project, args.data)
    data = [cfg.cases, cfg.published, *(p.data for p in cfg.projects if p.data)]
    roots = noop_stamp.roots_of(cfg.path, data)
    before = noop_stamp.fingerprint(options, roots)  # the inputs as this run reads them
    manifest = run(
        cfg,
        RunOptions(
            build=args.build,
            jobs=args.jobs,
            quiet=args.quiet,
            force_pandoc=args.pandoc,
            render=not args.no_render,
        ),
    )
    names = ["notebooks", "results", "disclosure"] + (["report"] if not args.no_render else [])
    if manifest.get("run_key"):
        noop_stamp.write(args.build.resolve(), options, roots, before, manifest["run_key"], names)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from evaluation.data.rules_cutoff import cutoffs_of
    from evaluation.data.validate import validate_dataset

    cfg = _config(args)
    folder = args.dir or cfg.cases
    if not Path(folder).is_dir():
        from evaluation.errors import ConfigError

        raise ConfigError(f"{folder} is not a folder of case-data files")
    _, report = validate_dataset(Path(folder), cfg.periods, cutoff=cutoffs_of(cfg))
    # its own folder: build/validation/ belongs to the last run and stays as that run left it
    out = args.out or args.build / "validation-only"
    report.write(out)
    print(report.to_markdown())
    print(f"\nReport written to {out / 'report.md'} and {out / 'report.json'}", file=sys.stderr)
    return 0 if report.ok else 1


def with_data(cfg: Config, projects: list[str] | None, data: Path | None) -> Config:
    """The configuration for `run --project ... --data ...`: a folder written by `evaluation
    synth` is labelled synthetic; any other --data folder is taken as real case data."""
    from dataclasses import replace

    from evaluation.data.synthetic import is_synthetic

    if projects:
        cfg = cfg.only(projects)
        if data:
            own = tuple(replace(p, data=data.resolve()) for p in cfg.projects)
            cfg = replace(cfg, projects=own, synthetic=cfg.synthetic or is_synthetic(data))
    elif data:
        cfg = replace(cfg, cases=data.resolve(), synthetic=is_synthetic(data))
    return cfg


def cmd_synth(args: argparse.Namespace) -> int:
    from evaluation.data import synthetic

    if args.scale <= 0:
        from evaluation.errors import ConfigError

        raise ConfigError(f"--scale is {args.scale}; expected a positive number")
    tables = synthetic.generate(seed=args.seed, scale=args.scale)
    paths = synthetic.write(tables, args.out, fmt=args.format)
    n = len(tables["clients"])
    print(
        f"wrote {len(paths)} SYNTHETIC tables ({n} clients, seed {args.seed}, scale "
        f"{args.scale:g}) to {args.out}"
    )
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from evaluation.pipeline.run import RunOptions, run

    cfg = _config(args)
    run(cfg, RunOptions(build=args.build, quiet=args.quiet, force_pandoc=args.pandoc))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from evaluation.pipeline.verify import verify

    cfg = _config(args)
    differences = verify(cfg, args.build, quiet=args.quiet, keep=args.keep)
    if differences:
        print("verify: the rerun differs from the recorded outputs:", file=sys.stderr)
        for d in differences:
            print(f"  - {d}", file=sys.stderr)
        return 3
    print("verify: the rerun reproduces every results file and metric exactly")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from evaluation.pipeline.handover import write_bundle

    archive, names = write_bundle(args.build, args.dest, args.config)
    print(f"wrote {archive} ({len(names)} files): hand this file over; SHA256SUMS inside")
    return 0


def cmd_init_project(args: argparse.Namespace) -> int:
    from evaluation.pipeline.init_project import init_project

    print(
        init_project(
            args.config,
            args.name,
            args.data,
            args.start,
            args.end,
            args.kind,
            args.baseline,
            args.cutoff,
        )
    )
    return 0


def cmd_dictionary(args: argparse.Namespace) -> int:
    from evaluation.report.dictionary import write_dictionary

    write_dictionary(args.out)
    print(f"data dictionary written to {args.out}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "validate": cmd_validate,
    "synth": cmd_synth,
    "render": cmd_render,
    "verify": cmd_verify,
    "export": cmd_export,
    "init-project": cmd_init_project,
    "dictionary": cmd_dictionary,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `evaluation` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except EvaluationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: earlier outputs are untouched", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"error: {io_problem(exc)}", file=sys.stderr)
        return 4


def console() -> None:
    """The `evaluation` console script: main(), then exit without tearing down the interpreter
    (after a run, freeing every imported module and the data took 0.3 s). Exit functions run
    and output is flushed first; with a thread still running, the ordinary exit waits for it."""
    import atexit
    import os
    import threading

    code = main()
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(t.is_alive() and not t.daemon for t in others):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            pass
    os._exit(code)


# What to do about a failure of the machine, by errno.
_IO_ADVICE = {
    errno.EACCES: "permission denied: make the folder writable for you, or choose another "
    "folder (--build DIR, --out DIR)",
    errno.EPERM: "operation not permitted: choose a folder you own (--build DIR, --out DIR)",
    errno.EROFS: "the file system is read-only: choose a folder on a writable disk "
    "(--build DIR, --out DIR)",
    errno.ENOSPC: "the disk is full: free some space (for example `make clean` or remove old "
    "build folders) or choose a folder on another disk (--build DIR), then run again",
    errno.EDQUOT: "your disk quota is used up: free some space, then run again",
    errno.EFBIG: "a file grew past what the system allows (a size limit or a full disk): free "
    "space or lift the limit, or choose a folder on another disk (--build DIR)",
    errno.ENOTDIR: "a file stands where a folder is needed: remove or rename it, or choose "
    "another folder (--build DIR, --out DIR)",
    errno.EEXIST: "a file stands where a folder is needed: remove or rename it, or choose "
    "another folder (--build DIR, --out DIR)",
}


def io_problem(exc: OSError) -> str:
    """One sentence for an I/O failure: the path, what went wrong and what to do (exit 4)."""
    path = exc.filename or "a file"
    reason = f" ({exc.strerror})" if exc.strerror else ""
    what = _IO_ADVICE.get(exc.errno or 0, "check the path and the free disk space, then run again")
    return f"cannot write or read {path}{reason}: {what}; earlier outputs are untouched"


if __name__ == "__main__":
    sys.exit(main())
