"""The `broadcastctl` command: run the daemon, check config, preview the plan, read the record."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from controller.cli import admin as cli_admin
from controller.cli.tables import asrun_table, plan_table
from controller.config import ConfigError, LoadedConfig, load_config
from controller.config.load import check_main
from controller.core.clock import SystemClock
from controller.core.stationtime import days, local_day
from controller.planning.planner import (
    FIRST_YEAR,
    LAST_YEAR,
    airing_to_dict,
    blackouts_from_config,
    plan,
)
from controller.records.asrun_export import asrun_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="broadcastctl", description="广电站播控 / broadcast controller"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", type=Path, default=Path("config.yaml"), help="config file")
        return p

    p_run = command("run", "run the daemon (scheduler, relays, player, HTTP API)")
    p_run.add_argument(
        "--new-database", action="store_true",
        help="create an empty station database although one existed (it vanished)",
    )  # fmt: skip
    p_run.add_argument(
        "--single-process", action="store_true",
        help="run the engine inside the API process (debugging; no isolation, no restarts)",
    )  # fmt: skip
    command("check", "validate the config and exit non-zero on errors")
    p_plan = command("plan", "print every airing in a date range, with blackouts applied")
    p_plan.add_argument("--from", dest="from_", type=date.fromisoformat, help="YYYY-MM-DD")
    p_plan.add_argument("--days", type=int, default=7)
    p_plan.add_argument("--json", action="store_true")
    p_asrun = command("asrun", "print the as-run record")
    p_asrun.add_argument("--from", dest="from_", type=date.fromisoformat, help="YYYY-MM-DD")
    p_asrun.add_argument("--to", type=date.fromisoformat, help="YYYY-MM-DD (inclusive)")
    fmt = p_asrun.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    cli_admin.add_parsers(command)
    args = parser.parse_args(argv)

    if args.command == "check":
        return check_main(args.config)
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        for message in exc.messages:
            print(message, file=sys.stderr)
        print(f"配置有误，拒绝启动 / invalid config, not starting: {args.config}", file=sys.stderr)
        if args.command == "run":  # the station stays silent: the people on duty must know
            from controller.alerts.refused import tell_refused
            from controller.core.clock import SystemClock

            tell_refused(args.config, exc.messages, SystemClock().now())
        return 2
    if args.command == "run":
        return _run(loaded, args.config, args.new_database, args.single_process)
    if args.command in cli_admin.COMMANDS:
        return cli_admin.run(args, loaded)
    if args.command == "plan":
        return _plan(loaded, args.from_, args.days, args.json)
    return _asrun(
        loaded, args.from_, args.to, "json" if args.json else "csv" if args.csv else "text"
    )


def _today(loaded: LoadedConfig) -> date:
    return local_day(SystemClock().now(), loaded.config.station.tz)


def _plan(loaded: LoadedConfig, start: date | None, days: int, as_json: bool) -> int:
    cfg = loaded.config
    if start is not None and not FIRST_YEAR <= start.year <= LAST_YEAR:
        print(f"日期须在 {FIRST_YEAR}–{LAST_YEAR} 年之间 / --from must lie in {FIRST_YEAR}–"
              f"{LAST_YEAR}", file=sys.stderr)  # fmt: skip
        return 2
    blackouts = blackouts_from_config(cfg)
    db = cfg.station.data_dir / "broadcastctl.sqlite3"
    if db.exists():  # blackouts entered through the API count too: the player sees them
        from controller.records.blackouts import BlackoutStore

        stored = BlackoutStore(db)
        try:
            blackouts += stored.active()
        finally:
            stored.close()
    airings = plan(cfg, blackouts, start or _today(loaded), days)
    if as_json:
        shown = [airing_to_dict(a, cfg.station.tz) for a in airings]
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        print(plan_table(airings, {z.id: z.name for z in cfg.zones}, cfg.station.tz))
    return 0


def _asrun(loaded: LoadedConfig, start: date | None, end: date | None, fmt: str) -> int:
    from controller.records.asrun_store import Store

    cfg = loaded.config
    tz = cfg.station.tz
    first = start or _today(loaded)
    begin, until = days(first, end or first, tz)  # station-local days
    db = cfg.station.data_dir / "broadcastctl.sqlite3"
    if not db.exists():
        print(f"尚无播出记录 / no as-run record yet ({db})", file=sys.stderr)
        return 1
    store = Store(db)
    try:
        rows = store.between(begin, until)
    finally:
        store.close()
    if fmt == "json":
        print(json.dumps([r.to_dict(tz) for r in rows], ensure_ascii=False, indent=2))
    elif fmt == "csv":
        sys.stdout.write(asrun_csv(rows, tz))
    else:
        print(asrun_table(rows, tz))
    return 0


def _run(
    loaded: LoadedConfig, config_path: Path, new_database: bool = False, single: bool = False
) -> int:
    """The supervisor of the engine and API processes (or, `--single-process`, both in one)."""
    from controller.core.dbguard import DatabaseVanished, check_database
    from controller.core.logs import configure_logging, log_to_file

    process, station = "supervisor" if not single else "daemon", loaded.config.station
    configure_logging(process, station.tz)
    log_to_file(station.data_dir / "log", process, station.tz)
    try:
        check_database(loaded.config.station.data_dir / "broadcastctl.sqlite3",
                       allow_new=new_database)  # fmt: skip
    except DatabaseVanished as exc:
        print(exc, file=sys.stderr)
        return 2
    if single:
        from controller.api.app import create_app
        from controller.api.serve import serve
        from controller.daemon.engine_main import move_uploads

        serve(create_app(move_uploads(loaded)), loaded.config.api)
        return 0
    from controller.daemon.supervisor import Supervisor

    return Supervisor(config_path, loaded.config.station.data_dir).run()


if __name__ == "__main__":
    raise SystemExit(main())
