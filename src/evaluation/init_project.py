"""`evaluation init-project NAME`: append a project block to evaluation.yml and write an empty
mapping file in the export folder for the data team to fill in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from evaluation.errors import ConfigError

MAPPING_TEMPLATE = """\
# mapping.yaml — how this export's files, headers and codes map onto the data contract.
# Fill in one block per contract table (clients, enrolments, sessions, referrals, departures,
# support, monitoring). Headers not listed here, and codes not mapped, are reported by
# `evaluation validate` — nothing is dropped silently. See build/data_dictionary.md.
tables:
  clients:
    file: ""            # e.g. Clienten.xlsx
    columns: {}         # e.g. {"Cliëntnummer": client_id, "Land van herkomst": nationality}
    codes: {}           # e.g. {nationality: {Nigeria: NGA, Irak: IRQ}}
  enrolments:
    file: ""
    columns: {}
    codes: {}
"""


def init_project(
    config_path: Path, name: str, data: Path, start: str, end: str, kind: str = "return",
    baseline: str | None = "MOH1",
) -> str:
    """Add the project to the configuration and create data/mapping.yaml; return a summary."""
    from evaluation import config

    cfg = config.load(config_path)
    if any(p.id.lower() == name.lower() for p in cfg.projects):
        raise ConfigError(f"project '{name}' is already in {config_path.name}")
    for label, value in (("--start", start), ("--end", end)):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{label} is {value!r}; expected a date as YYYY-MM-DD") from None
    rel = Path(data)
    block = (
        f"\n  - id: {name}\n    name: {name}\n    kind: {kind}\n    start: {start}\n"
        f"    end: {end}\n    data: {rel.as_posix()}\n"
        + (f"    baseline: {baseline}\n" if baseline else "")
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
    if not mapping.exists():
        mapping.write_text(MAPPING_TEMPLATE, encoding="utf-8")
    return (f"added project {name} ({start} to {end}) to {config_path}; fill in {mapping}, then "
            f"run `evaluation validate {folder}`")
