"""The lock: what is installed is exactly what requirements.txt and requirements-dev.txt pin.

requirements.in / requirements-dev.in name what Pan uses; `make lock` compiles
them (uv, hashes, every package they pull in) and `make lock-check` (CI) fails
when the compiled files are stale. These tests need no package index: they hold
the venv against the compiled files, and the compiled files against the .in files.
"""

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

# What `python -m venv` puts into a venv beside pip (which the lock pins) and
# the lock does not name: setuptools on Python 3.11 (3.12 seeds none). Nothing
# in Pan imports it; a build that needs it gets its own in pip's build
# environment. docs/decisions.md, "Locked installs".
VENV_SEED = {"setuptools"}


def read(name: str) -> list[tuple[Requirement, list[str]]]:
    """The requirements of one file as (requirement, its hashes), option lines (-c, -r) aside."""
    text = re.sub(r"\\\n", " ", (ROOT / name).read_text())
    entries = []
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line or line.startswith("-"):
            continue
        hashes = re.findall(r"--hash=(\S+)", line)
        spec = re.sub(r"--hash=\S+", "", line).strip()
        entries.append((Requirement(spec), hashes))
    return entries


def pin(requirement: Requirement) -> str:
    (specifier,) = requirement.specifier
    assert specifier.operator == "==", f"{requirement} is not an exact pin"
    return specifier.version


def locked(*names: str) -> dict[str, str]:
    """{canonical name: version} of what the compiled files install on this platform and Python."""
    wanted: dict[str, str] = {}
    for name in names:
        for requirement, _ in read(name):
            if requirement.marker is None or requirement.marker.evaluate():
                wanted[canonicalize_name(requirement.name)] = pin(requirement)
    return wanted


def installed() -> dict[str, str]:
    versions: dict[str, list[str]] = {}
    for distribution in importlib.metadata.distributions():
        versions.setdefault(canonicalize_name(distribution.metadata["Name"]), []).append(distribution.version)
    doubled = {name: found for name, found in versions.items() if len(found) > 1}
    assert not doubled, f"installed twice: {doubled}"
    return {name: found[0] for name, found in versions.items()}


def test_the_venv_holds_exactly_the_locked_packages_at_their_locked_versions():
    # A package installed by hand, a stale venv or a missing `make setup-dev`
    # after `make lock` fails here: rerun `make setup-dev` (or rebuild the venv).
    wanted = locked("requirements.txt", "requirements-dev.txt")
    # `make setup-dev` installs the `pan` client from cli/ after the lock (its
    # dependencies are locked in requirements-dev.txt; docs/cli.md).
    cli = tomllib.loads((ROOT / "cli" / "pyproject.toml").read_text())["project"]
    wanted[canonicalize_name(cli["name"])] = cli["version"]
    have = {name: version for name, version in installed().items() if name not in VENV_SEED}
    missing = {name: version for name, version in wanted.items() if name not in have}
    extra = {name: version for name, version in have.items() if name not in wanted}
    moved = {name: (wanted[name], have[name]) for name in wanted.keys() & have.keys() if wanted[name] != have[name]}
    assert not (missing or extra or moved), (
        f"not installed: {missing}; installed but not locked: {extra}; locked at another version: {moved}"
    )


def test_every_compiled_requirement_is_pinned_and_hashed():
    for name in ("requirements.txt", "requirements-dev.txt"):
        entries = read(name)
        assert len(entries) > 50, name
        for requirement, hashes in entries:
            pin(requirement)
            assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", value) for value in hashes), requirement


def test_the_compiled_files_keep_every_pin_their_in_file_names():
    for source, compiled in (("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt")):
        named = {canonicalize_name(requirement.name): pin(requirement) for requirement, _ in read(source)}
        pins = {canonicalize_name(requirement.name): pin(requirement) for requirement, _ in read(compiled)}
        assert {name: pins.get(name) for name in named} == named, f"{compiled} is stale: make lock"


def test_installing_the_dev_lock_never_moves_a_runtime_pin():
    runtime = {(canonicalize_name(r.name), str(r.marker)): (pin(r), sorted(h)) for r, h in read("requirements.txt")}
    dev = {(canonicalize_name(r.name), str(r.marker)): (pin(r), sorted(h)) for r, h in read("requirements-dev.txt")}
    shared = runtime.keys() & dev.keys()
    assert shared, "the dev lock shares no package with the runtime one: is it still compiled with -c?"
    assert {key: dev[key] for key in shared} == {key: runtime[key] for key in shared}
    names = {name for name, _ in runtime}
    assert not {key for key in dev.keys() - runtime.keys() if key[0] in names}, "a runtime package under another pin"
