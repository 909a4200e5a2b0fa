"""`shopcore-admin CONFIG COMMAND`: migrate, list plugins, create users, and the plugins' own commands."""
from __future__ import annotations

import argparse
import getpass
import os
import sys

from pyramid.paster import bootstrap, setup_logging

from shopcore.migrate import upgrade


def cmd_migrate(env, args) -> int:
    upgrade(env["registry"], args.revision)
    print(f"migrated to {args.revision}")
    return 0


def cmd_plugins(env, args) -> int:
    for manifest in env["registry"]["shopcore.plugins"]:
        requires = ", ".join(manifest.requires) or "-"
        print(f"{manifest.name:<16} {manifest.version or '-':<10} api {manifest.api:<5} requires {requires}")
    return 0


def cmd_create_user(env, args) -> int:
    from shopcore.accounts.services import AccountError, create_user

    password = args.password or os.environ.get("SHOPCORE_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("error: give --password, SHOPCORE_PASSWORD, or run on a terminal to be asked", file=sys.stderr)
            return 2
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            print("error: the passwords differ", file=sys.stderr)
            return 2
    request = env["request"]
    try:
        with request.tm:
            user = create_user(request, username=args.username, email=args.email, password=password,
                               is_admin=args.admin)
            user_id, username = user.id, user.username
    except AccountError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    role = "admin" if args.admin else "customer"
    print(f"created {role} {username} (id {user_id})")
    return 0


CORE_COMMANDS = {
    "migrate": ("Apply every enabled plugin's migrations", cmd_migrate,
                lambda p: p.add_argument("--revision", default="heads")),
    "plugins": ("List the loaded plugins", cmd_plugins, lambda p: None),
    "create-user": ("Create a customer or (--admin) an admin", cmd_create_user, lambda p: (
        p.add_argument("--username", required=True),
        p.add_argument("--email", required=True),
        p.add_argument("--password", help="or SHOPCORE_PASSWORD, or asked on the terminal"),
        p.add_argument("--admin", action="store_true"),
    )),
}


def build_parser(plugin_commands) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopcore-admin", description=__doc__)
    parser.add_argument("config_uri", help="the ini file, e.g. development.ini")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, _run, add_args) in CORE_COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text))
    for name, command in plugin_commands.items():
        command.add_arguments(sub.add_parser(name, help=command.help))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        build_parser({}).print_help()
        return 2
    config_uri = argv[0]
    setup_logging(config_uri)
    env = bootstrap(config_uri)
    try:
        plugin_commands = env["registry"].get("shopcore.admin_commands", {})
        args = build_parser(plugin_commands).parse_args(argv)
        if args.command in CORE_COMMANDS:
            return CORE_COMMANDS[args.command][1](env, args) or 0
        return plugin_commands[args.command].run(env, args) or 0
    finally:
        env["closer"]()
        # Pooled connections close with the command, not whenever the garbage collector reaches them.
        env["registry"]["shopcore.engine"].dispose()


if __name__ == "__main__":
    sys.exit(main())
