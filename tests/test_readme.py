"""The README's claims that can drift: the two commands and the configuration table."""
from pathlib import Path

from shopcore.settings import settings_table_markdown

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands():
    commands = README.index("## Two commands")
    assert README.index("make run", commands) < README.index("make test", commands)


def test_readme_configuration_table_matches_the_settings():
    start = README.index("<!-- settings-table")
    end = README.index("<!-- end settings-table -->")
    table = README[start:end].split("\n", 1)[1].strip()
    assert table == settings_table_markdown()
