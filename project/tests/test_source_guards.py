"""CI guards on the source itself.

Invisible and bidirectional control characters let a reviewer read one
program while Python runs another ("Trojan Source", CVE-2021-42574; a peer
project hid code that way). None belongs in Pan's source, templates,
translations or docs, so any one of them fails the suite, with its place.
"""

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

TEXT_SUFFIXES = {".py", ".html", ".js", ".css", ".md", ".txt", ".toml", ".json", ".po", ".svg", ".cfg", ".ini", ".sh"}
TEXT_NAMES = {"Makefile", ".env.example", ".gitignore", "requirements.in", "requirements-dev.in"}
TEXT_FOLDERS = {".ci"}  # scripts without a suffix

_RANGES = [
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark (bidirectional)
    (0x115F, 0x1160),  # Hangul fillers: valid in Python identifiers, and blank
    (0x180E, 0x180E),  # Mongolian vowel separator
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner; LRM, RLM
    (0x202A, 0x202E),  # LRE, RLE, PDF, LRO, RLO
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x2069),  # LRI, RLI, FSI, PDI
    (0x206A, 0x206F),  # deprecated format controls
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (a BOM only at the very start)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0xE0000, 0xE007F),  # tags: invisible ASCII look-alikes
    (0xE0100, 0xE01EF),  # variation selectors supplement
]
HIDDEN = frozenset(code for low, high in _RANGES for code in range(low, high + 1))


def hidden_characters(text: str) -> list[tuple[int, int, str]]:
    """(line, column, description) of every hidden character; a leading BOM is allowed."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for column, char in enumerate(line, start=1):
            if ord(char) in HIDDEN and not (number == 1 and column == 1 and char == "\ufeff"):
                found.append((number, column, f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"))
    return found


def source_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=BASE_DIR,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "surrogateescape")
    paths = [Path(name) for name in listed.split("\0") if name]
    return [
        BASE_DIR / path
        for path in paths
        if (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES or path.parts[0] in TEXT_FOLDERS)
        and (BASE_DIR / path).is_file()
    ]


def test_the_tracked_sources_are_found():
    names = {path.relative_to(BASE_DIR).as_posix() for path in source_files()}
    assert {"manage.py", "Makefile", "pyproject.toml", "templates/base.html", "README.md"} <= names
    assert "project/tests/test_source_guards.py" in names
    assert len(names) > 100


def test_no_source_file_hides_invisible_or_bidirectional_characters():
    problems = []
    for path in source_files():
        text = path.read_bytes().decode("utf-8", errors="replace")
        for line, column, description in hidden_characters(text):
            problems.append(f"{path.relative_to(BASE_DIR)}:{line}:{column}: {description}")
    assert problems == []


@pytest.mark.parametrize(
    "text,found",
    [
        ('access = "user\u202e \u2066# admin only\u2069 \u2066"', ["U+202E", "U+2066", "U+2069", "U+2066"]),
        ("def is_admin\u200b(user): ...", ["U+200B"]),
        ("\u3164 = True", ["U+3164"]),
        ("ok\U000e0041\U000e0042", ["U+E0041", "U+E0042"]),
        ("x = 1\n\ufeffy = 2", ["U+FEFF"]),
        ("\ufeffa leading BOM is fine", []),
        ("中文、emoji 👋 and ümlauts are fine", []),
    ],
    ids=["trojan-source", "zero-width", "hangul-filler", "tags", "inner-bom", "leading-bom", "plain-unicode"],
)
def test_the_guard_finds_what_it_looks_for(text, found):
    assert [description.split()[0] for _line, _column, description in hidden_characters(text)] == found


# --- Un-awaited coroutines fail the suite -------------------------------------------

FORGOT_AWAIT = """
import asyncio


async def password_matches(password):
    await asyncio.sleep(0)
    return password == "right"


def test_a_check_that_forgot_its_await():
    assert password_matches("wrong")  # a coroutine object: always true
"""


def test_an_unawaited_coroutine_fails_the_suite(tmp_path):
    """pyproject.toml's warning filters at work, on a test that would otherwise pass."""
    probe = tmp_path / "test_forgot_await.py"
    probe.write_text(FORGOT_AWAIT)
    result = subprocess.run(  # noqa: S603 - our own interpreter and config
        [sys.executable, "-m", "pytest", "-c", str(BASE_DIR / "pyproject.toml"), "--rootdir", str(tmp_path)]
        + ["-p", "no:django", "-p", "no:cacheprovider", "-q", str(probe)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "coroutine 'password_matches' was never awaited" in result.stdout
    assert "1 failed" in result.stdout
