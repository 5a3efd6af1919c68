"""The ``siji`` command: serve, worker, migrate, deploy, user, demo, verify-trace, export, calendar."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEMO_USERS = [
    # username, roles, display name
    ("analyst", ["analyst"], "流程分析员"),
    ("auditor", ["auditor"], "审计员"),
    ("admin", ["admin"], "系统管理员"),
    ("enterprise_a", ["applicant"], "示例企业甲（有限公司）"),
    ("enterprise_b", ["applicant"], "示例企业乙（建设单位）"),
    ("commissioner_1", ["commissioner"], "服务企业特派员一"),
    ("bureau_chief", ["approval_bureau", "dept_supervisor"], "行政审批服务局负责人"),
]


def _service(migrate: bool = True):
    """The service on the configured database; commands that write migrate first."""
    from engine.service.build import build_service
    from engine.settings import Settings

    return build_service(Settings.from_env(), migrate=migrate)


def collect_files(paths: list[str]) -> list:
    """The deployable files of ``paths``: of a folder, its own .bpmn, .dmn, *.settings.json and
    catalogue.json and every .form below it (forms/<process>/<task>.form); subfolders hold other
    material (bpmn/simulation/ for the simulator) and are not deployed."""
    from engine.workflow.deploy import UploadedFile

    out = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if not f.is_file():
                    continue
                if f.suffix == ".form":
                    rel = f.relative_to(path.parent if path.name == "forms" else path)
                    name = str(rel) if str(rel).startswith("forms/") else "forms/" + str(rel)
                    out.append(UploadedFile(name, f.read_bytes()))
                elif f.parent == path and (
                    f.suffix in (".bpmn", ".dmn") or f.name.endswith(".settings.json") or f.name == "catalogue.json"
                ):
                    out.append(UploadedFile(f.name, f.read_bytes()))
        elif path.is_file():
            out.append(
                UploadedFile(path.name if path.suffix != ".form" else "/".join(path.parts[-2:]), path.read_bytes())
            )
        else:
            raise SystemExit(f"no such file or folder: {p}")
    return out


def cmd_deploy(args) -> int:
    from engine.service.users import system_actor
    from engine.workflow.deploy import DeploymentRefused

    svc = _service()
    files = collect_files(args.paths)
    with svc.db.write() as s:
        actor = system_actor(s, svc.now())
    try:
        deployed = svc.deploy(files, actor, only_changed=not args.always)
    except DeploymentRefused as e:
        for p in e.problems:
            print(f"{p.file}:{p.line or '-'}: [{p.element or '-'}] {p.message}", file=sys.stderr)
        return 1
    for d in deployed:
        if not d.new:
            print(f"unchanged {d.key}: version {d.version} ({d.name}) is deployed; no new version")
        elif d.version == 1:
            print(f"deployed {d.key} version 1 ({d.name})")
        else:
            print(
                f"deployed {d.key} version {d.version} ({d.name}): changed since version {d.version - 1}: "
                f"{', '.join(d.changed)}"
            )
    return 0


def cmd_user_add(args) -> int:
    from engine.service.errors import CommandError
    from engine.service.users import add_user

    try:
        _user, token = add_user(
            _service(), args.name, args.role, args.display_name or "", args.enterprise, args.pair or []
        )
    except CommandError as e:
        print(f"error: {e.message_en}", file=sys.stderr)
        return 2
    print(f"created {args.name} with roles {', '.join(args.role)}")
    print(token)
    return 0


def demo_users(svc, password: str | None = None) -> list[tuple[str, list[str], str]]:
    """Create (or re-issue tokens for) one demo user per role; with ``password``, set it as every
    demo user's password (for the pages' login). Returns (username, roles, token)."""
    from sqlalchemy import select

    from engine import roles as rolemod
    from engine.service.users import create_user, hash_password, issue_token, pair
    from engine.store.models import Pairing, User

    hashed = hash_password(password) if password else None
    wanted = list(DEMO_USERS)
    for r in rolemod.ROLES:
        if r.code not in rolemod.SYSTEM_ROLES and r.code not in ("applicant", "commissioner"):
            wanted.append((f"dept_{r.code}", [r.code], r.name_zh))
    out = []
    now = svc.now()
    with svc.db.write() as s:
        for username, user_roles, display in wanted:
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                user = create_user(s, username, user_roles, now, display)
            if hashed:
                user.password_hash, user.failed_logins, user.locked_until = hashed, 0, None
            out.append((username, user_roles, issue_token(s, user, now, label="demo")))
        com = s.scalar(select(User).where(User.username == "commissioner_1"))
        for ent in ("enterprise_a", "enterprise_b"):
            e = s.scalar(select(User).where(User.username == ent))
            if s.get(Pairing, (com.id, e.id)) is None:
                pair(s, com, e)
    return out


def cmd_demo(args) -> int:
    from engine.service.errors import CommandError

    svc = _service()
    try:
        users = demo_users(svc, args.password)
    except CommandError as e:
        print(f"error: {e.message_en}", file=sys.stderr)
        return 2
    for username, user_roles, token in users:
        print(f"{username:32s} {','.join(user_roles):24s} {token}")
    if args.password:
        print(f"every demo user's password for the pages' login: {args.password}")
    return 0


def cmd_migrate(args) -> int:
    _service(migrate=True)
    print("schema up to date")
    return 0


def cmd_serve(args) -> int:
    from engine.cli.serve import serve
    from engine.settings import Settings

    settings = Settings.from_env()
    from engine.process import exit_now

    timer_workers = 0 if args.no_worker else args.timer_workers
    exit_now(serve(settings, workers=args.workers, timer_workers=timer_workers))


def cmd_worker(args) -> int:
    import signal

    from engine import logctx
    from engine.settings import Settings
    from engine.timers.worker import TimerWorker

    logctx.configure(Settings.from_env())
    svc = _service(migrate=False)  # `siji migrate` or `siji serve` migrates, once
    worker = TimerWorker(svc, name=f"worker-{os.getpid()}")
    # SIGTERM (from `siji serve` stopping): leave after the current transaction.
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        worker.stop()
    svc.db.dispose()
    from engine.process import exit_now

    exit_now(0)


def cmd_dispatch(args) -> int:
    """Deliver outgoing events to the webhook subscribers and make the connector calls service
    tasks wait for; runs alongside ``siji serve`` and ``siji worker``, as many as wanted on one
    database (engine/integration/delivery.py, jobs.py)."""
    from engine import logctx
    from engine.integration.delivery import Dispatcher
    from engine.integration.jobs import ConnectorWorker
    from engine.settings import Settings

    logctx.configure(Settings.from_env())
    svc = _service(migrate=False)  # `siji migrate` or `siji serve` migrates, once
    dispatcher = Dispatcher(svc, name=f"dispatch-{os.getpid()}")
    dispatcher.companions.append(ConnectorWorker(svc, name=f"connect-{os.getpid()}"))
    from engine.integration.messages import MessageRouter

    dispatcher.companions.append(MessageRouter(svc))
    try:
        dispatcher.run_forever()
    except KeyboardInterrupt:
        dispatcher.stop()
    return 0


def cmd_migrate_cases(args) -> int:
    """Dry run (default) or move running cases of a process to a version (default: the latest)."""
    from engine.integration import migration
    from engine.service.errors import CommandError
    from engine.service.users import system_actor

    svc = _service()
    try:
        plan = migration.dry_run(svc, args.process_key, args.to_version, args.instance or None)
        if not args.apply:
            for c in plan["cases"]:
                why = "; ".join(r["reason_en"] for r in c["reasons"])
                print(
                    f"case {c['process_instance_id']} v{c['from_version']} -> v{plan['to_version']}: "
                    f"{'can move' if c['can_move'] else 'cannot move: ' + why}"
                )
            print(
                f"{sum(c['can_move'] for c in plan['cases'])} of {len(plan['cases'])} case(s) can move "
                f"(dry run; --apply moves them)"
            )
            return 0
        ids = args.instance or [c["process_instance_id"] for c in plan["cases"] if c["can_move"]]
        with svc.db.write() as s:
            actor = system_actor(s, svc.now())
        out = migration.migrate_cases(svc, actor, args.process_key, args.to_version, ids) if ids else {"results": []}
    except CommandError as e:
        print(f"error: {e.message_en}", file=sys.stderr)
        return 2
    for r in out["results"]:
        why = "; ".join(x["reason_en"] for x in r.get("reasons", []))
        print(f"case {r['process_instance_id']}: {'moved' if r['moved'] else 'not moved: ' + why}")
    return 0 if all(r["moved"] for r in out["results"]) else 1


def cmd_verify_trace(args) -> int:
    from sqlalchemy import select

    from engine.audit.chain import verify_instance
    from engine.store.models import Instance

    svc = _service()
    bad = 0
    with svc.db.read(snapshot=True) as s:
        q = select(Instance).order_by(Instance.id)
        if args.instance:
            q = q.where(Instance.id.in_(args.instance))
        for inst in s.scalars(q):
            ok, broken = verify_instance(s, inst)
            if not ok:
                bad += 1
            if not ok or args.verbose:
                print(json.dumps({"process_instance_id": inst.id, "ok": ok, "broken_at": broken}))
    print(f"{'FAILED' if bad else 'ok'}: {bad} broken trace(s)")
    return 1 if bad else 0


def cmd_calendar_load(args) -> int:
    from engine.service.calendar_years import store_year

    data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    holidays = [date.fromisoformat(d) for d in data.get("holidays", [])]
    workdays = [date.fromisoformat(d) for d in data.get("workdays", [])]
    year = int(data.get("year") or args.year)
    svc = _service()
    n = store_year(svc, year, holidays, workdays, "cli")
    print(
        f"loaded {year}: {len(holidays)} holidays, {len(workdays)} make-up working days; "
        f"{n} provisional deadline(s) recomputed"
    )
    return 0


def cmd_export(args) -> int:
    from engine.audit.export import export_cli

    return export_cli(_service(), args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="siji", description="四即模式流程再造 — BPMN service")
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("serve", help="serve the API (gunicorn) and run the timer workers, supervised")
    p.add_argument("--no-worker", action="store_true", help="start no timer worker (same as --timer-workers 0)")
    p.add_argument("--workers", type=int, default=None, help="HTTP worker processes (default SIJI_WORKERS, 2)")
    p.add_argument(
        "--timer-workers",
        type=int,
        default=None,
        help="timer worker processes (default SIJI_TIMER_WORKERS, 1; 0: none)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("worker", help="run a timer worker alone")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("dispatch", help="deliver webhooks and make connector calls (alongside serve/worker)")
    p.set_defaults(func=cmd_dispatch)

    p = sub.add_parser("migrate-cases", help="move running cases to another version (dry run unless --apply)")
    p.add_argument("process_key")
    p.add_argument("instance", nargs="*", type=int, help="case ids (default: every running case)")
    p.add_argument("--to-version", type=int, help="target version (default: the latest)")
    p.add_argument("--apply", action="store_true", help="move the cases (one transaction each)")
    p.set_defaults(func=cmd_migrate_cases)

    p = sub.add_parser(
        "deploy",
        help="deploy .bpmn, .dmn and form files or folders (a process whose "
        "files equal its latest version gets no new version)",
    )

    p.add_argument("paths", nargs="+")
    p.add_argument("--always", action="store_true", help="make a new version even when nothing changed")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("user", help="manage users")
    usub = p.add_subparsers(dest="user_cmd", required=True)
    pa = usub.add_parser("add", help="add a user; prints the token alone on the last line")
    pa.add_argument("name")
    pa.add_argument("--role", action="append", required=True)
    pa.add_argument("--display-name")
    pa.add_argument("--enterprise")
    pa.add_argument("--pair", action="append", help="pair a commissioner with this applicant (or vice versa)")
    pa.set_defaults(func=cmd_user_add)

    p = sub.add_parser("demo", help="create demo users for every role and print their tokens")
    p.add_argument("--password", help="also set this password for every demo user (login on the pages)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("verify-trace", help="recompute every audit hash chain")
    p.add_argument("instance", nargs="*", type=int)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_verify_trace)

    p = sub.add_parser("calendar", help="working-day calendar data")
    csub = p.add_subparsers(dest="cal_cmd", required=True)
    pc = csub.add_parser(
        "load",
        help='load a year\'s holidays and make-up days from JSON {"year": 2027, "holidays": [...], "workdays": [...]}',
    )
    pc.add_argument("file")
    pc.add_argument("--year", type=int)
    pc.set_defaults(func=cmd_calendar_load)

    p = sub.add_parser("export", help="export traces (json, csv, xes, ocel)")
    p.add_argument("--format", default="xes", choices=["json", "csv", "xes", "ocel"])
    p.add_argument("--process-key")
    p.add_argument("--from", dest="from_")
    p.add_argument("--to")
    p.add_argument("--status")
    p.add_argument("-o", "--output", default="-")
    p.set_defaults(func=cmd_export)

    from engine.simulation import cli as simulation_cli  # siji simulate (issue 18)

    simulation_cli.add_parser(sub)

    args = parser.parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
