"""`broadcastctl user …` and `broadcastctl media …`: local admin actions, each one audited."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from controller.access.users import ROLES, UserError, UserStore
from controller.config import LoadedConfig
from controller.core.stationtime import for_people

if TYPE_CHECKING:
    from controller.media.library import Clip, MediaLibrary
    from controller.records.audit import AuditLog

COMMANDS = ("user", "media")
CLI_USER = "cli"
Command = Callable[[str, str], argparse.ArgumentParser]


def add_parsers(command: Command) -> None:
    """Register `user` and `media` (with their actions) on the main parser."""
    users = _actions(command("user", "users, roles, tokens, passwords / 用户、角色、令牌与密码"))
    p = _leaf(users, "add", "create a user and print its API token once")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    _leaf(users, "list", "list users (never their tokens)").add_argument(
        "--json", action="store_true"
    )
    p = _leaf(users, "revoke", "revoke a user and all its tokens")
    p.add_argument("name")
    p.add_argument("--reason", default="")
    _leaf(users, "token", "issue another token for a user").add_argument("name")
    p = _leaf(users, "passwd", "set a user's web console password (asked twice)")
    p.add_argument("name")
    p.add_argument("--stdin", action="store_true", help="read it from one line of standard input")

    media = _actions(command("media", "the media library / 节目库"))
    p = _leaf(media, "add", "ingest an audio file (approved unless --pending)")
    p.add_argument("file", type=Path)
    p.add_argument("--title")
    p.add_argument("--tag", action="append", default=[], help="repeat for several tags")
    p.add_argument("--valid-from", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (station time)")
    p.add_argument("--valid-until", help="YYYY-MM-DD (airs all that day) or a date-time")
    p.add_argument("--pending", action="store_true", help="wait for an operator's approval")
    p = _leaf(media, "list", "list clips")
    p.add_argument("--status", choices=("pending", "approved", "rejected", "retired"))
    p.add_argument("--tag")
    p.add_argument("--json", action="store_true")
    for action, text in (("approve", "approve"), ("reject", "reject"), ("retire", "retire")):
        _leaf(media, action, f"{text} a clip").add_argument("id")
    for name in ("add", "approve", "reject", "retire"):
        leaf = media.choices[name]
        leaf.add_argument("--as", dest="as_user", help="audit the action as this user")
        leaf.add_argument("--reason", default="", help="why, for the audit trail")


def _actions(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any]:
    return parser.add_subparsers(dest="action", required=True)


def _leaf(
    actions: argparse._SubParsersAction[Any], name: str, help_text: str
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
    # Also accepted after the action; SUPPRESS keeps the parent's value when not given here.
    p.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="config file")
    return p


def run(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    """Carry out a `user` or `media` command; 0 on success, 1 with a message on stderr."""
    from controller.records.audit import AuditLog

    db = loaded.config.station.data_dir / "broadcastctl.sqlite3"
    users, audit = UserStore(db), AuditLog(db)
    try:
        if args.command == "user":
            return _user(args, users, audit, loaded.config.station.tz)
        return _media(args, loaded, users, audit)
    except (UserError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        users.close()
        audit.close()


def _user(args: argparse.Namespace, users: UserStore, audit: AuditLog, tz: ZoneInfo) -> int:
    if args.action == "list":
        rows = users.list()
        if args.json:
            print(json.dumps([u.to_dict(tz) for u in rows], ensure_ascii=False, indent=2))
            return 0
        if not rows:
            print("尚无用户 / no users yet")
        for u in rows:
            revoked = for_people(u.revoked_at, tz)
            state = "有效 / active" if u.active else f"已吊销 / revoked {revoked}"
            print(f"{u.name:<20} {u.role:<9} {for_people(u.created_at, tz)}  {state}")
        return 0
    if args.action == "revoke":
        users.revoke(args.name)
        audit.record(CLI_USER, "user.revoke", args.name, args.reason)
        print(f"已吊销 / revoked: {args.name}", file=sys.stderr)
        return 0
    if args.action == "passwd":
        user = users.get(args.name)
        if user is None or not user.active:
            raise UserError(f"没有此有效用户 / no active user {args.name!r}")
        users.set_password(args.name, _read_password(args.stdin))
        audit.record(CLI_USER, "user.passwd", args.name)
        print(f"已设置密码 / password set for {args.name}", file=sys.stderr)
        return 0
    if args.action == "add":
        token = users.add(args.name, args.role)
        audit.record(CLI_USER, "user.add", args.name, detail={"role": args.role})
        print(f"已创建用户 / created user {args.name} ({args.role})", file=sys.stderr)
    else:
        token = users.new_token(args.name)
        audit.record(CLI_USER, "user.token", args.name)
    print("API 令牌只显示这一次，请妥善保存 / the API token is shown once:", file=sys.stderr)
    print(token)
    return 0


def _read_password(from_stdin: bool) -> str:
    """One line of standard input, or typed twice at a terminal prompt (not echoed)."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():  # getpass would fall back to reading stdin, with a warning
        raise UserError("没有终端可提示输入，请用 --stdin / no terminal to ask on: use --stdin")
    first = getpass.getpass("新密码 / new password: ")
    if getpass.getpass("再输入一次 / once more: ") != first:
        raise UserError("两次输入的密码不一致 / the two passwords differ")
    return first


def _actor(args: argparse.Namespace, users: UserStore) -> str:
    name: str | None = getattr(args, "as_user", None)
    if name is None:
        return CLI_USER
    user = users.get(name)
    if user is None or not user.active:
        raise UserError(f"没有此有效用户 / no active user {name!r} for --as")
    return name


def _media(
    args: argparse.Namespace, loaded: LoadedConfig, users: UserStore, audit: AuditLog
) -> int:
    from controller.media.library import MediaLibrary

    cfg = loaded.config
    actor = _actor(args, users)
    library = MediaLibrary(
        db_path=cfg.station.data_dir / "broadcastctl.sqlite3",
        home=cfg.station.library_home,
        cfg=cfg.media,
        legacy=cfg.station.media_dir,
    )
    try:
        if args.action == "list":
            _print_clips(library.list(status=args.status, tag=args.tag), args.json, cfg.station.tz)
            return 0
        if args.action == "add":
            return _add(args, loaded, library, audit, actor)
        if library.get(args.id) is None:
            print(f"没有此节目 / no clip {args.id!r}", file=sys.stderr)
            return 1
        status = {"approve": "approved", "reject": "rejected", "retire": "retired"}[args.action]
        clip = library.update(args.id, status=status)
        audit.record(actor, f"media.{args.action}", clip.id, args.reason)
        print(f"{clip.id} → {clip.status}: {clip.title}")
        return 0
    finally:
        library.close()


def _add(
    args: argparse.Namespace,
    loaded: LoadedConfig,
    library: MediaLibrary,
    audit: AuditLog,
    actor: str,
) -> int:
    from controller.api.upload_form import split_tags
    from controller.media.library import IngestError
    from controller.media.resolve import parse_bound

    tz = loaded.config.station.tz
    path: Path = args.file
    if not path.is_file():
        print(f"找不到文件 / no such file: {path}", file=sys.stderr)
        return 1
    bar = ProgressBar(path.name)
    try:
        clip, created = library.ingest(
            path,
            title=args.title or path.stem,
            uploader=actor,
            source="cli",
            original_name=path.name,
            tags=tuple(split_tags(args.tag)),
            valid_from=parse_bound(args.valid_from, tz, end=False) if args.valid_from else None,
            valid_until=parse_bound(args.valid_until, tz, end=True) if args.valid_until else None,
            approved=not args.pending,
            progress=bar,
        )
    except IngestError as exc:
        bar.done()
        print(f"拒绝入库 / refused: {exc.reason_zh} / {exc.reason_en}", file=sys.stderr)
        return 1
    bar.done()
    action = "media.add" if created else "media.add_existing"
    audit.record(actor, action, clip.id, args.reason, detail={"title": clip.title})
    word = "已入库 / added" if created else "已存在 / already in the library"
    print(f"{word}: {clip.id} ({clip.status}) {clip.title}", file=sys.stderr)
    print(json.dumps(clip.to_dict(tz), ensure_ascii=False, indent=2))
    return 0


class ProgressBar:
    """A one-line text bar on stderr, driven by the library's progress callback (0..1)."""

    WIDTH = 30

    def __init__(self, label: str) -> None:
        self.label = label[:30]
        self.shown = -1

    def __call__(self, fraction: float) -> None:
        filled = round(max(0.0, min(1.0, fraction)) * self.WIDTH)
        if filled != self.shown:
            self.shown = filled
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            sys.stderr.write(f"\r{self.label} [{bar}] {round(filled * 100 / self.WIDTH):3d}%")
            sys.stderr.flush()

    def done(self) -> None:
        if self.shown >= 0:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _print_clips(clips: list[Clip], as_json: bool, tz: ZoneInfo) -> None:
    clips = sorted(clips, key=lambda c: c.created_at, reverse=True)
    if as_json:
        print(json.dumps([c.to_dict(tz) for c in clips], ensure_ascii=False, indent=2))
        return
    if not clips:
        print("节目库为空 / no clips")
    for c in clips:
        until = for_people(c.valid_until, tz, "%Y-%m-%d %H:%M") or "-"
        tags = ",".join(c.tags) or "-"
        print(f"{c.id}  {c.status:<8} {c.duration_s:7.1f}s  →{until:<16}  {tags:<12} {c.title}")
