"""The URL converter of public ids (`new_unique_name`, project/lib/secrets.py):
`<unique:unique_name>` in the routes of shares and drop-off requests.
Importing this module registers it (Django keeps one registry of names)."""

from django.urls import register_converter


class UniqueNameConverter:
    regex = r"[A-Za-z0-9_-]{1,32}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(UniqueNameConverter, "unique")
