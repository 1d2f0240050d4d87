"""docs/architecture.md names every part of the house, and the import
contracts in pyproject.toml (checked by `make lint`) place every one: a new
app that is not in the plan fails here."""

import re
import sysconfig
import tomllib
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _our_apps() -> set[str]:
    # Pan's own packages: in the project, not in an installed distribution
    # (a virtualenv may live inside the project, as `make setup` puts it).
    installed = {Path(path).resolve() for path in sysconfig.get_paths().values()}
    return {
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(ROOT.resolve())
        and not any(Path(config.path).resolve().is_relative_to(prefix) for prefix in installed)
    }


def _parts_in_doc() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("## The parts", 1)[1].split("\n\n| part |", 1)[1].split("\n\n", 1)[0]
    names = set()
    for row in table.splitlines()[1:]:
        first_cell = row.split("|")[1]
        name = re.search(r"`([^`]+)`", first_cell)
        if name and name.group(1) != "project/lib/":
            names.add(name.group(1))
    return names


def _contracts() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_the_plan_names_every_installed_app():
    assert _parts_in_doc() == _our_apps()


def test_the_layers_contract_places_every_app_above_the_kernel():
    config = _contracts()
    layers = next(contract for contract in config["contracts"] if contract["type"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in layer.split("|")}
    assert placed == (_our_apps() - {"project"}) | {"project.lib"}
    assert layers[-1] == "project.lib"
    assert set(config["root_packages"]) == _our_apps()


def test_the_picture_shows_every_part():
    picture = (ROOT / "docs" / "images" / "architecture.svg").read_text()
    shown = set(re.findall(r'font-weight="bold"[^>]*>([^<(:]+)', picture))
    assert {name.strip() for name in shown} >= _our_apps() | {"the kernel"}


def test_the_test_command_collects_every_folder_of_tests():
    # A `tests/` folder outside `testpaths` is never run by `make test` (nor by CI):
    # jobs/tests sat outside it for a wave.
    testpaths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    folders = {
        str(found.parent.relative_to(ROOT))
        for found in ROOT.glob("**/tests/test_*.py")
        if not any(part.startswith(".") or part in ("node_modules", "var", "staticfiles") for part in found.parts)
    }
    collected = {folder for folder in folders if any(folder == p or folder.startswith(p + "/") for p in testpaths)}
    assert folders == collected, f"not in pyproject's testpaths: {sorted(folders - collected)}"
