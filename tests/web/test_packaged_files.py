"""Where the served files come from in a checkout and in a wheel (``.ci/wheel`` serves a real one).

The widget is a top-level folder of the repository, outside the ``server`` package; the build
step in ``weir_build.py`` copies it into the wheel and ``server/web/widget.py`` reads the copy.
"""

from __future__ import annotations

from pathlib import Path

import weir_build
from server.web import widget

ROOT = Path(__file__).resolve().parents[2]


def test_the_build_ships_exactly_the_widget_files_the_server_serves():
    shipped = {Path(name).name for name in weir_build.served_files(ROOT) if name.count("/") == 1}
    assert shipped == set(widget.FILES)


def test_the_build_ships_every_message_catalog():
    catalogs = {name for name in weir_build.served_files(ROOT) if name.startswith("widget/locales/")}
    assert catalogs == {
        f"widget/locales/{path.name}" for path in (ROOT / "widget" / "locales").glob("*.json")
    }
    assert "widget/locales/en.json" in catalogs


def test_the_build_puts_the_widget_where_the_server_looks_first(tmp_path):
    package_web = tmp_path / Path(weir_build.WIDGET_TARGET).parent.parent
    (package_web / "static" / "widget").mkdir(parents=True)
    assert widget.find_widget_dir(package_web) == tmp_path / weir_build.WIDGET_TARGET


def test_a_checkout_serves_the_top_level_widget_folder(tmp_path):
    package_web = tmp_path / "server" / "web"
    package_web.mkdir(parents=True)
    assert widget.find_widget_dir(package_web) == tmp_path / "widget"
    assert widget.WIDGET_DIR == ROOT / "widget"  # this test runs from the checkout
