"""Admin commands: plugins add subcommands to `shopcore-admin` with `config.add_admin_command`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pyramid.exceptions import ConfigurationError


@dataclass(frozen=True)
class AdminCommand:
    name: str
    help: str
    add_arguments: Callable  # (argparse.ArgumentParser) -> None
    run: Callable  # (env, args) -> int | None; env is pyramid.paster.bootstrap's


def add_admin_command(config, name: str, run: Callable, help: str = "",
                      add_arguments: Callable | None = None) -> None:
    """Add `shopcore-admin CONFIG name`; a name registered twice stops start-up naming both owners."""
    if not isinstance(name, str) or not name or name.startswith("-") or " " in name:
        raise ConfigurationError(f"admin command name must be one word, got {name!r}")
    command = AdminCommand(name, help, add_arguments or (lambda parser: None), config.maybe_dotted(run))

    def register():
        config.registry.setdefault("shopcore.admin_commands", {})[name] = command

    config.action(("shopcore.admin_command", name), register)


def includeme(config) -> None:
    config.add_directive("add_admin_command", add_admin_command)
