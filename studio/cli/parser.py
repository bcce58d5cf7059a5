"""The command line's grammar: argparse with one subcommand per task."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from studio.shot_sizes import SIZE_PRESETS, parse_size

PROG = "python -m studio"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}” is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The parser; each command's ``handler`` is ``"module:function"``, imported when run
    (so ``inspect`` doesn't pay for the library's database layer)."""
    # Every command takes these, before or after its name. SUPPRESS keeps a subcommand's
    # unset copy from overwriting a value given before the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the library folder (default: the per-user data folder, or $KILN_DATA_DIR)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show debug messages on stderr",
    )

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Kiln Studio without a window: inspect, convert and manage 3D models.",
        parents=[common],
    )
    commands_ = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    inspect = commands_.add_parser(
        "inspect", parents=[common], help="measure a model file and report problems"
    )
    inspect.add_argument("file", type=Path, metavar="FILE")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.set_defaults(handler="studio.cli.commands:inspect")

    convert = commands_.add_parser(
        "convert", parents=[common], help="write a model file in another format"
    )
    convert.add_argument("input", type=Path, metavar="IN")
    convert.add_argument(
        "output", type=Path, metavar="OUT", help="the format follows its extension"
    )
    convert.set_defaults(handler="studio.cli.commands:convert")

    library = commands_.add_parser("library", parents=[common], help="the local library")
    _add_library_commands(library, common)
    _add_generation_commands(commands_, common)
    _add_account_commands(commands_, common)
    return parser


def _add_library_commands(
    library: argparse.ArgumentParser, common: argparse.ArgumentParser
) -> None:
    sub = library.add_subparsers(dest="library_command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text)

    def model(p: argparse.ArgumentParser) -> None:
        p.add_argument("model", type=_positive, metavar="MODEL", help="the model's id")

    def number(p: argparse.ArgumentParser) -> None:
        p.add_argument("number", type=_positive, metavar="N", help="the version number")

    def json_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print JSON")

    p = add("import", "add a model file as a new model, or as a new version of one")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--model", type=_positive, metavar="ID", help="add a version to this model")
    p.add_argument("--name", help="the new model's name (default: the file's name)")
    p.add_argument(
        "--no-thumbnail",
        dest="thumbnail",
        action="store_false",
        help="don't render a thumbnail",
    )
    json_flag(p)
    p.set_defaults(handler="studio.cli.library_commands:import_")

    p = add("list", "list the models, most recently changed first")
    json_flag(p)
    p.set_defaults(handler="studio.cli.library_commands:list_")

    p = add("versions", "list a model's versions, newest first")
    model(p)
    json_flag(p)
    p.set_defaults(handler="studio.cli.library_commands:versions")

    p = add("activate", "make a version the active one")
    model(p)
    number(p)
    p.set_defaults(handler="studio.cli.library_commands:activate")

    p = add("delete-version", "delete one version of a model")
    model(p)
    number(p)
    p.set_defaults(handler="studio.cli.library_commands:delete_version")

    p = add("delete", "delete a model with all its versions")
    model(p)
    p.add_argument(
        "--yes", action="store_true", help="confirm (`library restore` undoes it for an hour)"
    )
    p.set_defaults(handler="studio.cli.library_commands:delete")

    p = add("restore", "bring back a deleted model, or one deleted version of a model")
    model(p)
    p.add_argument(
        "number", type=_positive, nargs="?", metavar="N", help="the version (default: the model)"
    )
    p.set_defaults(handler="studio.cli.library_commands:restore")

    p = add("set-units", "say which unit a version's file is in and which axis is up")
    model(p)
    number(p)
    p.add_argument(
        "--unit",
        choices=["mm", "cm", "m", "in", "default"],
        help="the unit of the file's numbers (default: the format's)",
    )
    p.add_argument(
        "--up",
        type=str.upper,
        choices=["Y", "Z", "DEFAULT"],
        help="the axis that points up (default: the format's)",
    )
    json_flag(p)
    p.set_defaults(handler="studio.cli.library_commands:set_units")

    p = add("export", "write a version to a file; the format follows OUT's extension")
    model(p)
    p.add_argument("output", type=Path, metavar="OUT")
    p.add_argument(
        "--version", type=_positive, metavar="N", help="the version (default: the active one)"
    )
    p.set_defaults(handler="studio.cli.library_commands:export")

    p = add(
        "render",
        "draw a version as a product shot: a PNG, or a turntable (.webp, .gif, PNG frames)",
    )
    model(p)
    p.add_argument(
        "output",
        type=Path,
        metavar="OUT",
        help="OUT.png; with --turntable also OUT.webp, OUT.gif, or a folder for PNG frames",
    )
    p.add_argument(
        "--version", type=_positive, metavar="N", help="the version (default: the active one)"
    )
    p.add_argument(
        "--size",
        type=_size,
        metavar="WxH",
        default=(1024, 768),
        help=f"the image size: WIDTHxHEIGHT or {'/'.join(SIZE_PRESETS)} (default: 1024x768)",
    )
    p.add_argument("--transparent", action="store_true", help="no background")
    overlays = p.add_mutually_exclusive_group()
    overlays.add_argument(
        "--overlays",
        dest="overlays",
        action="store_true",
        help="draw the grid, bounding box with dimensions and axes too",
    )
    overlays.add_argument(
        "--no-overlays",
        dest="overlays",
        action="store_false",
        help="the model alone (the default)",
    )
    p.add_argument(
        "--turntable",
        type=_positive,
        metavar="N",
        default=0,
        help="N frames of a 360° turn around the model instead of one picture",
    )
    p.set_defaults(handler="studio.cli.library_commands:render", overlays=False)

    p = add("check", "look for problems in the library (exit code 1 if there are any)")
    p.add_argument("--verify", action="store_true", help="also re-hash every stored file (slow)")
    json_flag(p)
    p.set_defaults(handler="studio.cli.library_commands:check")


def _add_generation_commands(commands_: Any, common: argparse.ArgumentParser) -> None:
    def json_flag(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print JSON")

    generate = commands_.add_parser(
        "generate",
        parents=[common],
        help="make a model with Meshy or Tripo from a description or pictures",
        description="Make a model with Meshy or Tripo. Keys come from the keychain or "
        "KILN_MESHY_API_KEY / KILN_TRIPO_API_KEY.",
    )
    generate.add_argument("--provider", choices=["meshy", "tripo"], required=True)
    source = generate.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", metavar='"..."', help="describe the model")
    source.add_argument("--image", type=Path, metavar="FILE", help="one photo or picture")
    source.add_argument(
        "--views",
        nargs="+",
        metavar="VIEW",
        help="FRONT [LEFT] [BACK] [RIGHT] pictures; '-' for a missing view",
    )
    generate.add_argument("--quality", choices=["standard", "ultra"], default="standard")
    generate.add_argument("--model", type=int, metavar="ID", help="add the result to this model")
    generate.add_argument(
        "--no-wait", action="store_true", help="send it and return; `jobs resume` follows it"
    )
    json_flag(generate)
    generate.set_defaults(handler="studio.cli.generate_commands:generate")

    jobs = commands_.add_parser("jobs", parents=[common], help="cloud generations")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", metavar="COMMAND", required=True)
    p = jobs_sub.add_parser("list", parents=[common], help="every generation, newest first")
    json_flag(p)
    p.set_defaults(handler="studio.cli.generate_commands:list_")
    p = jobs_sub.add_parser("resume", parents=[common], help="follow unfinished generations")
    json_flag(p)
    p.set_defaults(handler="studio.cli.generate_commands:resume")
    p = jobs_sub.add_parser("cancel", parents=[common], help="cancel a generation")
    p.add_argument("job", type=int, metavar="JOB")
    p.set_defaults(handler="studio.cli.generate_commands:cancel")


def _add_account_commands(commands_: Any, common: argparse.ArgumentParser) -> None:
    account = commands_.add_parser(
        "account",
        parents=[common],
        help="your Kiln account: sign in, credits",
        description="Your Kiln account. The service's address comes from the settings or "
        "KILN_ACCOUNT_URL; the sign-in is kept in the system keychain.",
    )
    sub = account.add_subparsers(dest="account_command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=[common], help=help_text, description=help_text
        )
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

    def credentials(p: argparse.ArgumentParser) -> None:
        p.add_argument("--email", required=True, metavar="EMAIL")
        p.add_argument(
            "--password",
            metavar="PASSWORD",
            help="(default: asked for without echo, or read from stdin when it is not a terminal)",
        )

    p = add("signup", "create a Kiln account and sign in to it")
    credentials(p)
    p.set_defaults(handler="studio.cli.account_commands:signup")
    p = add("login", "sign in to your Kiln account")
    credentials(p)
    p.set_defaults(handler="studio.cli.account_commands:login")
    p = add("logout", "sign out of your Kiln account on this computer")
    p.set_defaults(handler="studio.cli.account_commands:logout")
    p = add("balance", "your Kiln credits")
    p.set_defaults(handler="studio.cli.account_commands:balance")
    p = add("ledger", "every change of your Kiln credits, newest first")
    p.add_argument(
        "--limit", type=_positive, default=50, metavar="N", help="how many (default: 50)"
    )
    p.add_argument("--before", type=_positive, metavar="ID", help="entries older than this one")
    p.set_defaults(handler="studio.cli.account_commands:ledger")
    p = add("plans", "the plans and their monthly credits")
    p.set_defaults(handler="studio.cli.account_commands:plans")
    p = add("upgrade", "print the payment page of a paid plan (the plan changes once paid)")
    p.add_argument("plan", metavar="PLAN", help="a plan code from 'account plans'")
    p.set_defaults(handler="studio.cli.account_commands:upgrade")
    p = add("cancel-plan", "move to the free plan when the current period ends")
    p.set_defaults(handler="studio.cli.account_commands:cancel_plan")

    sync = commands_.add_parser(
        "sync",
        parents=[common],
        help="sync the library's models with your Kiln account",
        description="Send this library's new models and versions to your Kiln account and "
        "bring in what your other computers added. Sign in first (account login).",
    )
    sync.add_argument("--json", action="store_true", help="print JSON")
    sync.set_defaults(handler="studio.cli.account_commands:sync")
