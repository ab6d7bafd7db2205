"""The Typer root of the ``hpf`` command: mounts each area's commands; holds no logic."""

from __future__ import annotations

import sys

import click
import typer

from hpf import __version__
from hpf.auth.commands import audit_app, tokens_app, users_app
from hpf.bench.commands import bench
from hpf.calc.commands import app as calc_app
from hpf.clitools import one_line
from hpf.config_commands import app as config_app
from hpf.db.commands import app as db_app
from hpf.deposits.commands import app as employers_app
from hpf.eaudit.commands import app as eaudit_app
from hpf.errors import DomainError
from hpf.finance.commands import app as finance_app
from hpf.goals.commands import app as goals_app
from hpf.interest.commands import app as interest_app
from hpf.ledger.commands import app as ledger_app
from hpf.loans.commands import app as loans_app
from hpf.ops.backup_commands import app as backup_app
from hpf.ops.commands import app as incidents_app
from hpf.ops.exchange_commands import app as exchange_app
from hpf.ops.partner_commands import app as partners_app
from hpf.org.commands import app as org_app
from hpf.policy.commands import app as policy_app
from hpf.report.commands import app as report_app
from hpf.service_desk.commands import app as tickets_app
from hpf.sim.commands import app as demo_app
from hpf.sim.commands import sim_app
from hpf.web.commands import serve
from hpf.withdrawals.commands import app as withdrawals_app
from hpf.workflow.commands import app as workflow_app

app = typer.Typer(
    name="hpf",
    help="住房公积金管理系统 hpf (Housing Provident Fund management system)",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hpf {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """住房公积金管理系统 hpf."""


app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(ledger_app, name="ledger")
app.add_typer(policy_app, name="policy")
app.add_typer(calc_app, name="calc")
app.add_typer(interest_app, name="interest")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit-trail")
app.add_typer(workflow_app, name="workflow")
app.add_typer(employers_app, name="employers")
app.add_typer(demo_app, name="demo")
app.add_typer(sim_app, name="sim")
app.add_typer(withdrawals_app, name="withdrawals")
app.add_typer(loans_app, name="loans")
app.add_typer(tickets_app, name="tickets")
app.add_typer(eaudit_app, name="audit")
app.add_typer(incidents_app, name="incidents")
app.add_typer(backup_app, name="backup")
app.add_typer(exchange_app, name="exchange")
app.add_typer(partners_app, name="partners")
app.add_typer(finance_app, name="finance")
app.add_typer(report_app, name="report")
app.add_typer(goals_app, name="goals")
app.command("serve")(serve)
app.command("bench")(bench)


def run(argv: list[str]) -> int:
    """Run the CLI on ``argv``; usage and domain errors become one line on stderr and exit 2."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="hpf", standalone_mode=False)
    except (click.ClickException, typer.exceptions.TyperException) as exc:
        # typer >= 0.20 vendors click: its usage errors derive from TyperException
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if message.strip():
            typer.echo(f"hpf: 错误 error: {one_line(message)}", err=True)
        return int(getattr(exc, "exit_code", 2))
    except (click.exceptions.Abort, typer.Abort):
        typer.echo("hpf: 已取消 aborted", err=True)
        return 1
    except DomainError as exc:
        typer.echo(f"hpf: 错误 error: {exc.message_zh} ({exc.message_en})", err=True)
        return 2
    except (click.exceptions.Exit, typer.Exit) as exc:
        return int(exc.exit_code)
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run(sys.argv[1:]))
