"""`shopcore-admin CONFIG COMMAND`: migrate, list and drop plugins, create users and admins, and the plugins' own commands."""
from __future__ import annotations

import argparse
import getpass
import os
import sys

from pyramid.paster import bootstrap, setup_logging

from sqlalchemy import inspect

from shopcore.migrate import MigrationError, drop_plugin, plugin_states, upgrade
from shopcore.plugins import PluginError, installed_manifests


def cmd_migrate(env, args) -> int:
    try:
        upgrade(env["registry"], args.revision)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"migrated to {args.revision}")
    return 0


def _plugin_line(manifest, status: str) -> str:
    requires = ", ".join(manifest.requires) or "-"
    return f"{manifest.name:<16} {manifest.version or '-':<10} api {manifest.api:<5} requires {requires:<20} {status}"


def cmd_plugins(env, args) -> int:
    """The enabled plugins, then the disabled ones whose tables are still in the database."""
    registry = env["registry"]
    try:
        with registry["shopcore.engine"].connect() as connection:
            states = plugin_states(registry, connection)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for manifest in registry["shopcore.plugins"]:
        state = states.get(manifest.name)
        if state is None or state.folder is None:
            status = "enabled"  # no tables of its own
        elif state.revisions:
            status = f"enabled, migrated ({', '.join(state.revisions)})"
        else:
            status = "enabled, not migrated yet (run migrate)"
        print(_plugin_line(manifest, status))
    manifests = installed_manifests()
    for name, state in sorted(states.items()):
        if state.enabled or not state.revisions or isinstance(manifests.get(name), (PluginError, type(None))):
            continue
        print(_plugin_line(manifests[name], f"disabled, tables kept ({', '.join(state.revisions)}); "
                                            f"drop-plugin {name} removes them"))
    return 0


def _confirm(name: str, revisions) -> bool:
    if not sys.stdin.isatty():
        print(f"error: dropping plugin {name!r}'s tables needs confirmation: run on a terminal or give --yes",
              file=sys.stderr)
        return False
    answer = input(f"Drop every table of plugin {name!r} and all their data ({', '.join(revisions)})? "
                   f"This cannot be undone. [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def cmd_drop_plugin(env, args) -> int:
    registry = env["registry"]
    engine = registry["shopcore.engine"]
    before = set(inspect(engine).get_table_names())
    confirm = None if args.yes else (lambda revisions: _confirm(args.name, revisions))
    try:
        dropped = drop_plugin(registry, args.name, confirm=confirm)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if dropped is None:
        print(f"plugin {args.name!r}: nothing dropped", file=sys.stderr)
        return 2
    if not dropped:
        print(f"plugin {args.name!r} has no tables here (never migrated or already dropped): nothing changed")
        return 0
    gone = sorted(before - set(inspect(engine).get_table_names()))
    print(f"dropped plugin {args.name!r}: migrations {', '.join(dropped)} downgraded; "
          f"tables removed: {', '.join(gone) or 'none'}")
    return 0


def _set_admin(env, args, is_admin: bool) -> int:
    from shopcore.accounts.services import AccountError, set_admin

    request = env["request"]
    try:
        with request.tm:
            user, changed = set_admin(request, args.username, is_admin)
            username = user.username
    except AccountError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    role = "an admin" if is_admin else "not an admin"
    print(f"{username} is now {role}" if changed else f"{username} is already {role}: nothing changed")
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
    "plugins": ("List the enabled plugins, and disabled ones whose tables are kept", cmd_plugins,
                lambda p: None),
    "drop-plugin": ("Remove a disabled plugin's tables through its own downgrade", cmd_drop_plugin, lambda p: (
        p.add_argument("name", help="the plugin's name, as in shopcore.plugins"),
        p.add_argument("--yes", action="store_true", help="do not ask for confirmation"),
    )),
    "grant-admin": ("Make an existing user an admin", lambda env, args: _set_admin(env, args, True),
                    lambda p: p.add_argument("username")),
    "revoke-admin": ("Make an admin a customer again (their tokens lose admin rights at once)",
                     lambda env, args: _set_admin(env, args, False), lambda p: p.add_argument("username")),
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
        # What the audit log says of actions done from here (there is no logged-in actor).
        env["request"].environ["shopcore.audit_origin"] = f"shopcore-admin {args.command}"
        if args.command in CORE_COMMANDS:
            return CORE_COMMANDS[args.command][1](env, args) or 0
        return plugin_commands[args.command].run(env, args) or 0
    finally:
        env["closer"]()
        # Pooled connections close with the command, not whenever the garbage collector reaches them.
        env["registry"]["shopcore.engine"].dispose()


if __name__ == "__main__":
    sys.exit(main())
