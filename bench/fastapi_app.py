"""The yardstick SPEC §9 names: the same tutorial app in FastAPI.

What the FastAPI tutorials build, doing the same work as Pan's two hot
pages: a short-link redirect (one SQLite lookup by key, one counting
`UPDATE`, 302) and an HTML page rendered with Jinja2 after one query.
Sync endpoints (FastAPI runs them in its thread pool), one SQLite
connection per thread in WAL mode. The bench serves it with uvicorn
(uvloop, httptools), one process pinned like Pan's server, and loads it
with the same client.
"""

import os
import sqlite3
import threading

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import DictLoader, Environment, select_autoescape

DATABASE = os.environ.get("BENCH_FASTAPI_DB", "fastapi-bench.sqlite3")

TEMPLATES = Environment(
    loader=DictLoader(
        {
            "base.html": (
                '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{ title }} · Pan</title>'
                '<link rel="stylesheet" href="/static/site.css"></head><body><header><a href="/">Pan</a>'
                '<nav><a href="/short/">Short links</a> <a href="/login/">Log in</a></nav></header>'
                '<main>{% block content %}{% endblock %}</main><footer><a href="/docs">API</a></footer></body></html>'
            ),
            "file.html": (
                '{% extends "base.html" %}{% block content %}<section><h1>{{ file.name }}</h1>'
                "<dl><dt>Size</dt><dd>{{ file.size }} bytes</dd><dt>Expires</dt><dd>{{ file.expires }}</dd></dl>"
                '<form method="post" action="/f/{{ file.unique }}/download"><label>Share code '
                '<input name="code" value="{{ code }}" maxlength="6" required></label>'
                "<button>Download</button></form></section>{% endblock %}"
            ),
        }
    ),
    autoescape=select_autoescape(),
)

_local = threading.local()
app = FastAPI()


def db() -> sqlite3.Connection:
    if not hasattr(_local, "connection"):
        connection = sqlite3.connect(DATABASE, timeout=20, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        _local.connection = connection
    return _local.connection


def create(path: str, short_key: str, file_unique: str) -> None:
    """The bench's data: one link and one file row (plus some filler)."""
    connection = sqlite3.connect(path)
    connection.executescript(
        "CREATE TABLE links (key TEXT PRIMARY KEY, target TEXT NOT NULL, visits INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE files (unique_name TEXT PRIMARY KEY, name TEXT, size INTEGER, expires TEXT);"
    )
    connection.executemany(
        "INSERT INTO links (key, target) VALUES (?, ?)",
        [(f"k{n:07d}", f"https://example.com/{n}") for n in range(1000)] + [(short_key, "https://example.com/bench")],
    )
    connection.execute("INSERT INTO files VALUES (?, ?, ?, ?)", (file_unique, "hello.txt", 12, "2026-12-31 12:00"))
    connection.commit()
    connection.close()


@app.get("/s/{key}")
def redirect(key: str):
    connection = db()
    row = connection.execute("SELECT target FROM links WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404)
    connection.execute("UPDATE links SET visits = visits + 1 WHERE key = ?", (key,))
    return RedirectResponse(row[0], status_code=302)


@app.get("/f/{unique}/", response_class=HTMLResponse)
def file_page(unique: str, code: str = ""):
    row = db().execute("SELECT name, size, expires FROM files WHERE unique_name = ?", (unique,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404)
    file = {"unique": unique, "name": row[0], "size": row[1], "expires": row[2]}
    return TEMPLATES.get_template("file.html").render(title=row[0], file=file, code=code)
