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
    commands = config.registry.setdefault("shopcore.admin_commands", {})
    if name in commands:
        raise ConfigurationError(f"admin command {name!r} is already defined")
    commands[name] = AdminCommand(name, help, add_arguments or (lambda parser: None), config.maybe_dotted(run))


def includeme(config) -> None:
    config.add_directive("add_admin_command", add_admin_command)
