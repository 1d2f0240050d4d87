"""Property tests (Hypothesis) for names and zip entries (issue 27).

Over arbitrary Unicode, a name check either refuses or gives a name with
no invisible (Default_Ignorable_Code_Point), control or direction
character, no `/` inside a name, never `.`/`..`, within the length limits.
Over arbitrary lists of item paths, the zip's entry names are unique even
without regard to case, no file sits where another entry needs a folder,
and the archive extracts with Python's zipfile with every file present.

The oracle for "invisible" and "direction" is ICU's character properties,
asked one character at a time, not the sanitiser's own table.
"""

import io
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import icu
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pan.downloads import _zip_stream
from pan.models import Item, ItemKind
from pan.uploads import MAX_FILE_NAME_BYTES, MAX_PATH_BYTES, file_name_sanitise, item_path_sanitise
from project.lib.errors import ValidationFailed

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that make trouble, drawn often so that examples meet them.
INVISIBLE = list("\u200b\u200c\u200d\u00ad\u034f\u115f\u1160\u3164\uffa0\ufe0f\ufe00\u2060\ufeff\U000e0041\U000e0100")
REFUSED = list("\u202e\u202a\u2066\u2069\u200e\u200f\u061c\x00\x07\x1b\x7f\u0085\u2028\u2029\\")
ODD = list("/.. :\u0301e\u00e9\u1100\u1161AaZz\u2764")
# Mostly what people type (letters, marks, digits, punctuation, symbols, spaces) with
# invisible characters among them, so that most names are accepted and checked;
# sometimes a refused character; sometimes any code point at all.
visible = st.characters(categories=["L", "M", "N", "P", "S", "Zs"])
usual = st.text(st.one_of(visible, st.sampled_from(INVISIBLE), st.sampled_from(ODD)), max_size=40)
names = st.one_of(
    usual,
    usual,
    usual,
    usual,
    st.builds(lambda a, ch, b: a + ch + b, usual, st.sampled_from(REFUSED), usual),
    st.text(max_size=20),
    st.builds(lambda stem, tail: stem * 300 + tail, st.sampled_from(["\u957f", "x", "\u200b", "e\u0301"]), usual),
)


def _invisible(ch: str) -> bool:
    return icu.Char.hasBinaryProperty(ch, icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT)


def _direction(ch: str) -> bool:
    return icu.Char.hasBinaryProperty(ch, icu.UProperty.BIDI_CONTROL)


def _assert_a_clean_name(name: str) -> None:
    assert name and name not in (".", ".."), repr(name)
    assert "/" not in name and "\\" not in name, repr(name)
    assert name == name.strip(), repr(name)
    assert len(name.encode()) <= MAX_FILE_NAME_BYTES, repr(name)
    for ch in name:
        assert not _invisible(ch), (name, f"U+{ord(ch):04X}")
        assert not _direction(ch), (name, f"U+{ord(ch):04X}")
        assert unicodedata.category(ch) not in {"Cc", "Cs", "Zl", "Zp"}, (name, f"U+{ord(ch):04X}")


@BOUNDED
@given(names)
def test_a_one_file_name_is_refused_or_clean(raw):
    try:
        name = file_name_sanitise(raw)
    except ValidationFailed as refusal:
        assert list(refusal.fields) == ["file"]
        return
    _assert_a_clean_name(name)
    assert file_name_sanitise(name) == name  # a clean name stays as it is


usual_paths = st.lists(usual, min_size=1, max_size=4).map("/".join)
paths = st.one_of(usual_paths, usual_paths, st.lists(names, min_size=1, max_size=4).map("/".join), names)


@BOUNDED
@given(paths)
def test_a_folder_path_is_refused_or_clean(raw):
    try:
        path = item_path_sanitise(raw)
    except ValidationFailed as refusal:
        assert list(refusal.fields) == ["file"]
        return
    assert len(path.encode()) <= MAX_PATH_BYTES
    for segment in path.split("/"):
        _assert_a_clean_name(segment)
    assert item_path_sanitise(path) == path


# --- Zip entries ----------------------------------------------------------------

# Few letters, so that examples clash: `a` and `A`, `a` beside `a/b`, `a (2)` beside a duplicate.
segments = st.sampled_from(["a", "A", "b", "a.txt", "A.TXT", "a (2)", "a (2).txt", "\u00e9", "e\u0301", "x" * 255])
clashing_paths = st.lists(segments, min_size=1, max_size=3).map("/".join)
# Any path the check accepts (a refused one stands in as `file`).
any_paths = paths.map(lambda raw: _accepted(raw) or "file")


def _accepted(raw: str) -> str | None:
    try:
        return item_path_sanitise(raw)
    except ValidationFailed:
        return None


def _key(name: str) -> str:
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


@BOUNDED
@given(st.lists(clashing_paths | any_paths, min_size=1, max_size=12))
def test_every_zip_extracts_completely_whatever_its_paths(item_paths):
    # Paths as intake keeps them (NFC), duplicates included: shares stored before
    # the numbering or by concurrent uploads may hold anything the check accepts.
    items = [
        Item(kind=ItemKind.TEXT, path=unicodedata.normalize("NFC", path), text=f"item {number}")
        for number, path in enumerate(item_paths)
    ]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(_zip_stream(items))))
    entries = archive.namelist()
    assert len(entries) == len(items)
    keys = [_key(name) for name in entries]
    assert len(set(keys)) == len(keys), entries
    folders = {key.rsplit("/", end)[0] for key in keys for end in range(1, key.count("/") + 1)}
    assert not folders & set(keys), entries
    for name in entries:
        assert all(len(part.encode()) <= MAX_FILE_NAME_BYTES for part in name.split("/")), name
    with tempfile.TemporaryDirectory() as folder:
        archive.extractall(folder)
        found = {
            path.relative_to(folder).as_posix(): path.read_text() for path in Path(folder).rglob("*") if path.is_file()
        }
    assert found == {name: item.text for name, item in zip(entries, items, strict=True)}
