"""`evaluation init-project NAME`: append a project block to evaluation.yml and write an empty
mapping file in the export folder for the data team to fill in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from evaluation.errors import ConfigError

MAPPING_HEAD = """\
# mapping.yaml — how this export's files, headers and codes map onto the data contract.
# One block per contract table. In each block:
#   file:    the export's file for the table (.csv, .xlsx or .parquet); empty = <table>.csv etc.
#   sheet:   (optional) the Excel sheet to read; default the first sheet
#   columns: export header -> contract column, e.g. {"Cliëntnummer": client_id}
#   codes:   contract column -> {export value: contract code}, e.g. {sex: {vrouw: female}}
# Headers not mapped and codes not translated are reported by `evaluation validate`:
# nothing is dropped silently. Column meanings and code lists: `evaluation dictionary`.
tables:
"""


def mapping_template() -> str:
    """An empty mapping.yaml naming every contract table and, in a comment, its columns."""
    from evaluation.data.contract import TABLES, load_spec

    blocks = []
    for table in TABLES:
        names = ", ".join(load_spec(table).columns)
        blocks.append(
            f"  {table}:\n"
            f"    # contract columns: {names}\n"
            f'    file: ""\n'
            f"    columns: {{}}\n"
            f"    codes: {{}}\n"
        )
    return MAPPING_HEAD + "".join(blocks)


def _yaml_scalar(value: str) -> str:
    """A string as a YAML scalar that reads back as the same string."""
    import yaml

    return yaml.safe_dump(value, default_style=None, width=1000).removesuffix("\n...\n").strip()


def init_project(
    config_path: Path,
    name: str,
    data: Path,
    start: str,
    end: str,
    kind: str = "return",
    baseline: str | None = "MOH1",
    cutoff: str | None = None,
) -> str:
    """Add the project to the configuration and create data/mapping.yaml; return a summary."""
    from evaluation import config

    cfg = config.load(config_path)
    if any(p.id.lower() == name.lower() for p in cfg.projects):
        raise ConfigError(f"project '{name}' is already in {config_path.name}")
    for label, value in (("--start", start), ("--end", end), ("--cutoff", cutoff)):
        if value is None:
            continue
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{label} is {value!r}; expected a date as YYYY-MM-DD") from None
    block = (
        f"\n  - id: {name}\n    name: {name}   # the project's full name, shown in the report\n"
        f"    kind: {kind}\n    start: {start}\n    end: {end}\n"
        f"    data: {_yaml_scalar(Path(data).as_posix())}   # this project's export folder\n"
        + (f"    baseline: {baseline}   # compared against this project\n" if baseline else "")
        + (f"    cutoff: {cutoff}   # the date the export was taken\n" if cutoff else "")
    )
    text = config_path.read_text(encoding="utf-8")
    marker = "\nthresholds:"
    if marker not in text:
        raise ConfigError(f"{config_path.name} has no 'thresholds:' block to insert before")
    new = text.replace(marker, block + marker, 1)
    config_path.write_text(new, encoding="utf-8")
    try:
        config.load(config_path)
    except ConfigError:
        config_path.write_text(text, encoding="utf-8")
        raise
    folder = data if data.is_absolute() else config_path.parent / data
    folder.mkdir(parents=True, exist_ok=True)
    mapping = folder / "mapping.yaml"
    wrote = not mapping.exists()
    if wrote:
        mapping.write_text(mapping_template(), encoding="utf-8")
    option = "" if config_path == Path("evaluation.yml") else f" --config {config_path}"
    return (
        f"added project {name} ({start} to {end}) to {config_path}\n"
        + (f"wrote an empty {mapping}: fill it in\n" if wrote else f"kept the existing {mapping}\n")
        + f"next: evaluation validate {folder}{option}"
    )
