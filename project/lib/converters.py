"""The URL converter of public ids (`new_unique_name`, project/lib/secrets.py):
`<unique:unique_name>` in the routes of shares and drop-off requests.
Importing this module registers it (Django keeps one registry of names)."""

from django.urls import register_converter


class TextConverter:
    """A path segment matching `regex`, passed on as the text it is (subclasses set `regex`)."""

    regex: str

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class UniqueNameConverter(TextConverter):
    regex = r"[A-Za-z0-9_-]{1,32}"


register_converter(UniqueNameConverter, "unique")
