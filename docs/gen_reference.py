"""Regenerate the generated blocks of README.md from the code.

Blocks (between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers):

* ``config-reference``: every config key with type, unit, default and meaning, from
  ``landcarbon.config.reference.reference_table()`` (the pydantic field descriptions);
* ``cli-reference``: every ``landcarbon`` command with the first line of its help;
* ``threshold-presets``: the built-in threshold presets (``landcarbon/data/thresholds``);
* ``output-files``, ``change-output-files``, ``scenario-output-files``,
  ``stocks-output-files``, ``sweep-output-files``, ``batch-output-files``,
  ``portal-output-files``: the output files of each kind of folder, from the declared
  output registry ``landcarbon.config.outputs.OUTPUTS``.

Usage::

    python docs/gen_reference.py           # rewrite README.md in place
    python docs/gen_reference.py --check   # exit 1 if README.md is out of date

``tests/test_docs.py`` fails when the README is out of date: after adding a config key, a
command or an output file, re-run this script and commit README.md.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def config_reference() -> str:
    """The config reference table (Markdown)."""
    from landcarbon.config.reference import reference_table

    return reference_table()


def _commands(group, prefix: str) -> list[tuple[str, object]]:
    import click

    out = []
    for name in sorted(group.commands):
        cmd = group.commands[name]
        path = f"{prefix} {name}"
        out.append((path, cmd))
        if isinstance(cmd, click.Group):
            out += _commands(cmd, path)
    return out


def all_commands() -> list[tuple[str, object]]:
    """``[(\"landcarbon run\", click.Command), ...]`` for every command and sub-command."""
    from landcarbon.cli import main

    return _commands(main, "landcarbon")


def cli_reference() -> str:
    """Table of every command and the first line of its help."""
    rows = ["| command | what it does |", "|---|---|"]
    for path, cmd in all_commands():
        summary = " ".join((cmd.help or "").strip().split("\n\n")[0].split())
        rows.append(f"| `{path}` | {summary.replace('|', chr(92) + '|')} |")
    rows.append("")
    rows.append("Every command prints an example with `landcarbon <command> --help`.")
    return "\n".join(rows)


def threshold_presets() -> str:
    """Table of the built-in threshold presets (values per space type, description)."""
    from landcarbon._resources import data_path, read_toml
    from landcarbon.accounting.risk import list_threshold_presets

    rows = ["| preset | agricultural | construction | ecological | what |", "|---|---|---|---|---|"]
    for name in list_threshold_presets():
        doc = read_toml(data_path("thresholds", f"{name}.toml"))
        values = [f"`{doc[st]['value']}`" for st in ("agricultural", "construction", "ecological")]
        what = str(doc.get("description", "")).replace("|", chr(92) + "|")
        rows.append(f"| `{name}` | {' | '.join(values)} | {what} |")
    return "\n".join(rows)


def output_files(folder: str) -> Callable[[], str]:
    """The table of the declared outputs of a ``folder`` kind (run, change, scenario...)."""
    def table() -> str:
        from landcarbon.config.outputs import readme_table

        return readme_table(folder)
    return table


BLOCKS: dict[str, Callable[[], str]] = {
    "config-reference": config_reference,
    "cli-reference": cli_reference,
    "threshold-presets": threshold_presets,
    "output-files": output_files("run"),
    "change-output-files": output_files("change"),
    "scenario-output-files": output_files("scenario"),
    "stocks-output-files": output_files("stocks"),
    "sweep-output-files": output_files("sweep"),
    "batch-output-files": output_files("batch"),
    "portal-output-files": output_files("portal"),
}


def render(text: str) -> str:
    """``text`` (the README) with every generated block replaced by its current content."""
    for name, make in BLOCKS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> "
                             "block")
        body = make().rstrip("\n")
        text = pattern.sub(lambda m, body=body: f"{m.group(1)}{body}\n{m.group(2)}", text)
    return text


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in argv:
        if new != text:
            print("README.md is out of date: run python docs/gen_reference.py", file=sys.stderr)
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print(f"updated {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
