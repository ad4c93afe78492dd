"""`vipctl service install`: the systemd unit for a site (controller/service/unit.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from controller.cli.loading import EXIT_FAILED, ConfigOption, exit_on_bad_input, load_site_file
from controller.errors import BadInput
from controller.service.unit import DEFAULT_UNIT_DIR, DEFAULT_USER, STATE_DIR, plan

service_app = typer.Typer(help="vipctl as a systemd service.", no_args_is_help=True)


def _vipctl() -> Path:
    """The console script of this installation: the service runs the same vipctl."""
    beside = Path(sys.executable).parent / "vipctl"
    found = beside if beside.exists() else Path(shutil.which("vipctl") or beside)
    return found.absolute()


@service_app.command("install")
def install(
    config: ConfigOption,
    user: Annotated[str, typer.Option(help="The user the service runs as.")] = DEFAULT_USER,
    unit_dir: Annotated[Path, typer.Option(
        help="Where the unit file goes.")] = DEFAULT_UNIT_DIR,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the unit instead of writing it.")] = False,
) -> None:
    """Write the systemd unit that runs `vipctl run --config CONFIG`; print what to run next."""
    config = config.absolute()
    with exit_on_bad_input():
        # As the service will read it: relative SQLite paths in the state folder.
        site = load_site_file(config, require_env=False, state_dir=STATE_DIR)
        try:
            unit = plan(config=config, database_url=site.database.url, executable=_vipctl(),
                        user=user, unit_dir=unit_dir)
        except ValueError as exc:
            raise BadInput([str(exc)]) from None
    if dry_run:
        print(unit.text, end="")
    else:
        try:
            unit.path.write_text(unit.text, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write {unit.path}: {exc} (as root, or --dry-run)",
                  file=sys.stderr)
            raise typer.Exit(EXIT_FAILED) from None
        print(f"wrote {unit.path}")
    # On stderr under --dry-run, so that stdout is the unit alone (`> vipctl.service`).
    out = sys.stderr if dry_run else sys.stdout
    print(f"database: {unit.database}", file=out)
    for note in unit.notes:
        print(f"note: {note}", file=out)
    print("then, as root:", file=out)
    for command in unit.commands():
        print(f"  {command}", file=out)
