"""The ``caseload`` command line: thin wrappers over the services.

Every command that computes something takes ``--format json`` and then prints exactly one JSON
document on stdout; progress and messages go to stderr. Errors print ``error[code]: message``
on stderr (and ``{"error": {...}}`` on stdout with ``--format json``) and exit non-zero:
2 for bad input, 3 for an unusable database, 1 otherwise.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from caseload.clikit import Format, FormatOption, Group, command, emit, parse_date, stderr, stdout, table

app = typer.Typer(cls=Group, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="caseload: case management, workload and staffing for a national supervision docket.")
docket_app = typer.Typer(no_args_is_help=True, help="The docket: headline figures and case lists.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log.")
users_app = typer.Typer(no_args_is_help=True, help="User accounts and their roles.")
app.add_typer(docket_app, name="docket")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")

# Command groups that live with their domain app: (module with a Typer ``app``, group name).
APP_COMMANDS = [
    ("caseload.policy.cli", "policy"),
    ("caseload.policy.manual_cli", "manual"),
    ("caseload.training.cli", "training"),
    ("caseload.docket.worklist_cli", None),
    ("caseload.workload.cli", None),
    ("caseload.staffing.cli", None),
    ("caseload.countries.cli", "countries"),
    ("caseload.ingest.cli", "import"),
    ("caseload.forecast.cli", "forecast"),
    ("caseload.core.ops_cli", None),
    ("caseload.offices.cli", "officers"),
    ("caseload.docket.intake_cli", None),
    ("caseload.reports.cli", None),
]


def _mount_app_commands() -> None:
    """Mount each domain app's commands; a group name of None adds its commands at the top level."""
    for module_name, group in APP_COMMANDS:
        if importlib.util.find_spec(module_name) is None:
            continue
        sub = importlib.import_module(module_name).app
        if group:
            app.add_typer(sub, name=group)
        else:
            for info in sub.registered_commands:
                app.registered_commands.append(info)
            for group_info in sub.registered_groups:
                app.registered_groups.append(group_info)


_mount_app_commands()


@app.callback()
def _global(database: Annotated[str | None, typer.Option(
        "--database", metavar="URL",
        help="database URL (sqlite:///PATH or postgresql://USER@HOST:PORT/NAME); "
             "default $CASELOAD_DATABASE_URL, else sqlite:///var/caseload.sqlite3")] = None) -> None:
    if database:
        os.environ["CASELOAD_DATABASE_URL"] = database


@app.command()
@command(initialises=True)
def init(fmt: FormatOption = Format.text) -> None:
    """Create or upgrade the database schema and load reference data (offices, countries, roles)."""
    from django.core.management import call_command

    from caseload.core.reference import load_reference_data

    from caseload.core.bulk import restore_interrupted

    call_command("migrate", interactive=False, verbosity=0)
    restore_interrupted()  # what a killed bulk load dropped (indexes, foreign keys)
    counts = load_reference_data()
    counts.update(_shipped_policy())
    emit(fmt, {"migrated": True, **counts},
         lambda: stderr.print(f"database ready: {counts['offices']} offices, {counts['countries']} countries, "
                              f"{counts['roles']} roles, {counts['rule_sets']} priority rule sets, "
                              f"{counts['cadence_tables']} reporting-cadence tables"))


def _shipped_policy() -> dict:
    """Install the shipped priority rule sets and cadence tables not installed yet (audited)."""
    from caseload.policy.models import CadenceTable, RuleSet
    from caseload.policy.services import do_load_shipped

    do_load_shipped(actor_label="cli:init")
    return {"rule_sets": RuleSet.objects.count(), "cadence_tables": CadenceTable.objects.count()}


@app.command()
@command(initialises=True)
def generate(
    scale: Annotated[str, typer.Option(help="1.0 is the national docket (2.2 million cases)")] = "0.01",
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same docket")] = 1,
    replace: Annotated[bool, typer.Option("--replace", help="delete an existing docket first")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="the docket's reference date (default today)")] = None,
    weights_out: Annotated[Path, typer.Option("--weights-out", help="where to write the generator's true case weights")] = Path("var/true_case_weights.json"),
    fmt: FormatOption = Format.text,
) -> None:
    """Generate the synthetic national docket, calibrated to OIG-17-51 and the FY2016 FOIA extracts."""
    from django.core.management import call_command
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from caseload.ingest import generate as gen
    from caseload.ingest.synthetic import load_toml

    value = gen.check_scale(scale)
    reference_date = parse_date(as_of, "--as-of")
    call_command("migrate", interactive=False, verbosity=0)
    total = max(1, round(load_toml("calibration.toml")["docket"]["open_cases"] * value))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr, transient=fmt == Format.json) as bar:
        task = bar.add_task("generating", total=total)
        result = gen.generate_docket(scale=value, seed=seed, replace=replace, as_of=reference_date,
                                     weights_path=weights_out,
                                     progress=lambda n, desc: bar.update(task, advance=n, description=desc))
    emit(fmt, result.summary(), lambda: table(
        f"Generated docket as of {result.as_of} in {result.seconds:.1f} s", ["figure", "count"],
        [[k, v] for k, v in result.summary().items() if k != "seconds"]))
    stderr.print(f"true case weights written to {result.weights_path}")


@docket_app.command("summary")
@command
def docket_summary(fmt: FormatOption = Format.text) -> None:
    """Headline figures: cases, people, officers, convicted, final orders, cases per officer by office."""
    from caseload.docket.services import summary

    doc = summary()
    emit(fmt, doc, lambda: (
        table("Docket", ["figure", "count"], [[k, doc[k]] for k in ("cases", "people", "officers", "convicted", "final_orders")]),
        table("By office", ["office", "cases", "officers", "cases per officer"],
               [[o["office"], o["cases"], o["officers"], o["cases_per_officer"]] for o in doc["by_office"]]),
    ))


@docket_app.command("list")
@command
def docket_list(
    office: Annotated[str | None, typer.Option(help="field office code, e.g. WAS")] = None,
    officer: Annotated[int | None, typer.Option(help="officer id")] = None,
    limit: Annotated[int, typer.Option(help="how many cases (keyset page size)")] = 100,
    after: Annotated[int | None, typer.Option(help="start after this case id (the last one of the previous page)")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Open cases in case-id order, one page at a time."""
    from caseload.docket.services import list_cases

    from caseload.core.audit import record_read
    from caseload.docket import anumber

    rows = list_cases(office=office, officer=officer, limit=limit, after=after)
    record_read(action="case.list", via="docket list", case_ids=[r["case_id"] for r in rows],
                a_numbers=[anumber.normalize(r["a_number"]) for r in rows])
    emit(fmt, rows, lambda: table("Cases", ["A-number", "case", "office", "officer", "supervision", "stage"],
                                   [[r["a_number"], r["case_id"], r["office"], r["officer"], r["supervision_type"], r["stage"]] for r in rows]))


@audit_app.command("verify")
@command
def audit_verify(checkpoint: Annotated[Path | None, typer.Option(help="a checkpoint file from `audit checkpoint`: also detects events removed after it")] = None,
                 fmt: FormatOption = Format.text) -> None:
    """Recompute the audit log's keyed hash chain; exit 1 if any event was altered, forged or removed."""
    from caseload.core.audit import verify

    result = verify(checkpoint=_read_checkpoint(checkpoint) if checkpoint else None)

    def render() -> None:
        if result.ok:
            stderr.print(f"audit chain intact: {result.events:,} events" + (" (checked against the checkpoint)" if checkpoint else ""))
        else:
            table(f"Audit chain: {len(result.problems):,} problem(s) in {result.events:,} events", ["event", "problem"],
                  [[p["id"], p["problem"]] for p in result.problems])
    emit(fmt, result.as_dict(), render)
    if not result.ok:
        raise typer.Exit(1)


def _read_checkpoint(path: Path) -> dict:
    from caseload.core.errors import UsageError

    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError("unreadable_checkpoint", f"cannot read the checkpoint {path}: {exc}") from None
    if not isinstance(doc, dict) or not {"events", "last_id", "head", "at", "signature"} <= doc.keys():
        raise UsageError("unreadable_checkpoint", f"{path} is not an audit checkpoint")
    return doc


@audit_app.command("checkpoint")
@command
def audit_checkpoint(out: Annotated[Path | None, typer.Option(help="also write the checkpoint to this file")] = None,
                     fmt: FormatOption = Format.text) -> None:
    """The chain's head signed with the audit key: keep it outside the database."""
    from caseload.core.audit import checkpoint

    doc = checkpoint()
    if out:
        out.write_text(json.dumps(doc, indent=2) + "\n")
    emit(fmt, doc, lambda: stdout.print(json.dumps(doc, indent=2)))


@audit_app.command("who-read")
@command
def audit_who_read(a_number: Annotated[str, typer.Argument(help="the person's A-number")],
                   start: Annotated[str | None, typer.Option("--from", metavar="DATE")] = None,
                   end: Annotated[str | None, typer.Option("--to", metavar="DATE")] = None,
                   fmt: FormatOption = Format.text) -> None:
    """Every user and process that was shown this person's record, and how."""
    from caseload.core.audit import who_read
    from caseload.docket import anumber

    rows = who_read(anumber.check(a_number), start=parse_date(start, "--from"), end=parse_date(end, "--to"))
    emit(fmt, rows, lambda: table(f"Reads of {a_number}", ["at", "actor", "action", "via"],
                                   [[r["at"], r["actor"], r["action"], r["via"]] for r in rows]))


@audit_app.command("activity")
@command
def audit_activity(username: Annotated[str, typer.Argument(help="user name (or a process label such as 'cli:worklist')")],
                   start: Annotated[str | None, typer.Option("--from", metavar="DATE")] = None,
                   end: Annotated[str | None, typer.Option("--to", metavar="DATE")] = None,
                   fmt: FormatOption = Format.text) -> None:
    """What one user read and changed, oldest first."""
    from caseload.core.audit import activity

    rows = activity(username, start=parse_date(start, "--from"), end=parse_date(end, "--to"))
    emit(fmt, rows, lambda: table(f"Activity of {username}", ["at", "action", "object", "via", "cases shown"],
                                   [[r["at"], r["action"], f"{r['object_type']} {r['object_id']}".strip(), r["via"], r["cases"]] for r in rows]))


def _password_from_stdin() -> str:
    line = sys.stdin.readline()
    if not line:
        from caseload.core.errors import UsageError

        raise UsageError("password_required", "--password-stdin: no password on standard input")
    return line.rstrip("\n")


@users_app.command("add")
@command
def users_add(username: Annotated[str, typer.Argument(help="login name")],
              role: Annotated[str, typer.Option(help="officer, supervisor, hq_analyst, auditor or administrator")],
              officer: Annotated[int | None, typer.Option(help="officer record id (required for the officer role)")] = None,
              office: Annotated[str | None, typer.Option(help="office code (required for the supervisor role)")] = None,
              password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
              fmt: FormatOption = Format.text) -> None:
    """Create a user in one role; without --password-stdin a strong password is generated and shown once."""
    from caseload.core.users import do_add_user

    password = _password_from_stdin() if password_stdin else None
    user, secret = do_add_user(username=username, role=role, password=password, officer_id=officer,
                               office_code=office, actor_label="cli:users add")
    doc = {"id": user.pk, "username": user.username, "role": role, "officer": officer,
           "office": office.upper() if office else None}
    emit(fmt, doc if password_stdin else {**doc, "password": secret},
         lambda: stderr.print(f"user {user.username} ({role}) created" + ("" if password_stdin else f"; password (shown once): {secret}")))


@users_app.command("demo")
@command
def users_demo(office: Annotated[str, typer.Option(help="the office of the demo officer and supervisor")] = "WAS",
               fmt: FormatOption = Format.text) -> None:
    """Create one demonstration user per role (the officer linked to the office's busiest officer) and show their passwords once."""
    from caseload.core.users import do_add_demo_users

    rows = do_add_demo_users(office_code=office, actor_label="cli:users demo")
    emit(fmt, rows, lambda: table("Demo users (passwords are shown only now; sign in at /accounts/login/)",
                                   ["user", "role", "password"],
                                   [[r["username"], r["role"], r["password"] or "(exists already)"] for r in rows]))


@users_app.command("list")
@command
def users_list(fmt: FormatOption = Format.text) -> None:
    """Every account: role, office, linked officer, active, last sign-in."""
    from caseload.core.users import list_users

    rows = list_users()
    emit(fmt, rows, lambda: table("Users", ["user", "role", "office", "officer", "active", "last sign-in"],
                                   [[r["username"], r["role"], r["office"], r["officer"], "yes" if r["active"] else "no",
                                     r["last_login"] or "never"] for r in rows]))


@users_app.command("deactivate")
@command
def users_deactivate(username: Annotated[str, typer.Argument()], fmt: FormatOption = Format.text) -> None:
    """The account can no longer sign in; its sessions end; its history stays."""
    from caseload.core.users import do_deactivate_user

    user = do_deactivate_user(username=username, actor_label="cli:users deactivate")
    emit(fmt, {"username": user.username, "active": False}, lambda: stderr.print(f"user {user.username} deactivated"))


@users_app.command("set-password")
@command
def users_set_password(username: Annotated[str, typer.Argument()],
                       password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input (required)")] = False,
                       fmt: FormatOption = Format.text) -> None:
    """Set a user's password, read from standard input."""
    from caseload.core.errors import UsageError
    from caseload.core.users import do_set_password

    if not password_stdin:
        raise UsageError("password_stdin_required", "give the password on standard input with --password-stdin")
    user = do_set_password(username=username, password=_password_from_stdin(), actor_label="cli:users set-password")
    emit(fmt, {"username": user.username, "password_set": True}, lambda: stderr.print(f"password of {user.username} set"))


@users_app.command("unlock")
@command
def users_unlock(username: Annotated[str, typer.Argument()], fmt: FormatOption = Format.text) -> None:
    """End a sign-in lock-out: clear the failed sign-ins recorded for this user name."""
    from caseload.core.users import do_unlock_user

    cleared = do_unlock_user(username=username, actor_label="cli:users unlock")
    emit(fmt, {"username": username, "attempts_cleared": cleared},
         lambda: stderr.print(f"{username}: {cleared} failed sign-in record(s) cleared"))


@users_app.command("mfa")
@command
def users_mfa(username: Annotated[str, typer.Argument()], fmt: FormatOption = Format.text) -> None:
    """Enrol the user for two-factor sign-in: prints the TOTP secret and otpauth:// URI once."""
    from caseload.core.users import do_enrol_mfa

    doc = do_enrol_mfa(username=username, actor_label="cli:users mfa")
    emit(fmt, doc, lambda: stderr.print(f"enter this in an authenticator app (shown once):\n  secret: {doc['secret']}\n  uri:    {doc['uri']}"))


@users_app.command("token")
@command
def users_token(username: Annotated[str, typer.Argument()],
                expires_days: Annotated[int | None, typer.Option("--expires-days", help="the token stops working after N days (default: never)")] = None,
                fmt: FormatOption = Format.text) -> None:
    """Issue a personal API token (Authorization: Bearer …); it is shown once and stored only as a digest."""
    from caseload.core.tokens import do_issue_token

    doc = do_issue_token(username=username, expires_days=expires_days, actor_label="cli:users token")
    emit(fmt, doc, lambda: stderr.print(f"token {doc['id']} of {doc['username']} (shown once; expires "
                                        f"{doc['expires_at'] or 'never'}):\n{doc['token']}", highlight=False, markup=False))


@users_app.command("tokens")
@command
def users_tokens(username: Annotated[str, typer.Argument()], fmt: FormatOption = Format.text) -> None:
    """A user's API tokens: id, prefix, created, expires, last used, revoked, status."""
    from caseload.core.tokens import list_tokens

    rows = list_tokens(username)
    emit(fmt, rows, lambda: table(f"API tokens of {username}", ["id", "prefix", "created", "expires", "last used", "status"],
                                   [[r["id"], r["prefix"], r["created_at"], r["expires_at"] or "never",
                                     r["last_used_at"] or "never", r["status"]] for r in rows]))


@users_app.command("revoke-token")
@command
def users_revoke_token(username: Annotated[str, typer.Argument()],
                       token_id: Annotated[int, typer.Argument(help="the token's id (from `users tokens`)")],
                       fmt: FormatOption = Format.text) -> None:
    """Revoke one API token of a user; requests with it are refused from now on."""
    from caseload.core.tokens import do_revoke_token

    doc = do_revoke_token(username=username, token_id=token_id, actor_label="cli:users revoke-token")
    emit(fmt, doc, lambda: stderr.print(f"token {doc['id']} of {doc['username']} revoked at {doc['revoked_at']}"))


@app.command()
@command
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port", min=1, max=65535)] = 8000,
          production: Annotated[bool, typer.Option("--production", help="run gunicorn even when CASELOAD_DEBUG=1")] = False,
          workers: Annotated[int | None, typer.Option(help="gunicorn worker processes (default $CASELOAD_WEB_WORKERS, else 2 × cores + 1, at most 8)", min=1, max=64)] = None) -> None:
    """Serve the web app: Django's development server while CASELOAD_DEBUG=1, otherwise gunicorn."""
    from django.conf import settings

    if settings.DEBUG and not production:
        from django.core.management import call_command

        stderr.print(f"serving at http://{host}:{port}/ with the development server (CASELOAD_DEBUG=1; Ctrl-C to stop)")
        call_command("runserver", f"{host}:{port}", use_reloader=False)
        return
    count = workers or int(os.environ.get("CASELOAD_WEB_WORKERS", "0")) or min(2 * (os.cpu_count() or 1) + 1, 8)
    stderr.print(f"serving at http://{host}:{port}/ with gunicorn, {count} workers (Ctrl-C to stop)")
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "caseload.wsgi:application",
                               "--bind", f"{host}:{port}", "--workers", str(count),
                               "--timeout", os.environ.get("CASELOAD_WEB_TIMEOUT", "120"),
                               "--error-logfile", "-", "--forwarded-allow-ips", "127.0.0.1"])


def main() -> None:
    app(prog_name="caseload")


if __name__ == "__main__":
    sys.exit(main())
