"""The one build step setuptools cannot express as package data: the widget into the wheel.

``widget/`` (``weir.js``, the connect page's JS and CSS) is a top-level folder of the repository,
not part of the ``server`` package, so ``package-data`` cannot reach it. ``pyproject.toml`` names
the two classes below under ``[tool.setuptools.cmdclass]``: ``build`` runs ``build_widget`` after
its standard sub-commands, and ``build_widget`` copies the widget's served files to
``server/web/static/widget/`` in the build tree, where ``server/web/widget.py`` looks first.

It follows setuptools' ``SubCommand`` protocol (``setuptools/command/build.py``):
``get_source_files`` puts the widget (and this file) into the sdist, and an editable install
copies nothing, since it runs from the checkout and serves ``widget/`` in place.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import Command
from setuptools.command.build import build

WIDGET_SOURCE = "widget"
WIDGET_TARGET = os.path.join("server", "web", "static", "widget")
# What the server serves from widget/ (server/web/widget.py FILES); a README or a test page
# dropped into the folder stays out of the wheel.
SERVED_SUFFIXES = (".js", ".css")


def served_files(root: Path = Path()) -> list[str]:
    """The widget files to ship, as paths relative to the project root ``root``."""
    folder = root / WIDGET_SOURCE
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder.resolve()} is missing: the wheel would serve no weir.js")
    # The message catalogs (widget/locales/<lang>.json) go along: the connect pages read them.
    files = [path for path in folder.iterdir() if path.is_file() and path.suffix in SERVED_SUFFIXES]
    files += sorted((folder / "locales").glob("*.json"))
    return sorted(path.relative_to(root).as_posix() for path in files)


# Lower-case class names: a command's name is its class's name unless it sets command_name.
class build_widget(Command):
    """Copy the widget's served files into ``{build_lib}/server/web/static/widget/``."""

    description = "copy widget/ into the server package"
    user_options: list = []
    editable_mode = False

    def initialize_options(self) -> None:
        self.build_lib: str | None = None

    def finalize_options(self) -> None:
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def run(self) -> None:
        if self.editable_mode:
            return
        for target, source in self.get_output_mapping().items():
            self.mkpath(os.path.dirname(target))
            self.copy_file(source, target)

    def get_source_files(self) -> list[str]:
        return [*served_files(), "weir_build.py"]

    def get_output_mapping(self) -> dict[str, str]:
        assert self.build_lib is not None
        return {
            os.path.join(self.build_lib, WIDGET_TARGET, os.path.relpath(source, WIDGET_SOURCE)): source
            for source in served_files()
        }

    def get_outputs(self) -> list[str]:
        return list(self.get_output_mapping())


class build_with_widget(build):
    """setuptools' ``build`` with ``build_widget`` as one more sub-command."""

    sub_commands = [*build.sub_commands, ("build_widget", None)]
