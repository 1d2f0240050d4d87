"""The `pan` command (docs/cli.md): Click commands over api.py, send.py and get.py.

Exit codes: 0 done, 1 usage (the command line, or something on this
machine), 2 refused (the server said no, or a download did not match its
SHA-256), 3 network (no answer, a timeout, or 5xx after retries); 130 for
Ctrl-C. `--json` on every command prints one JSON document (errors too:
`{"error": {"code", "message", "exit", "status"?}}`) and no progress bars.
"""

import getpass
import json
import re
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from . import __version__, config
from .api import Api, refusal
from .errors import USAGE, CliError, Refused, UsageProblem
from .get import download_headers, download_item, download_zip, open_share, target_of
from .send import send as send_files
from .texts import t

SCOPES = ["shares:read", "shares:write", "requests:write", "links:read", "links:write"]
DURATION = re.compile(r"(\d+)\s*([smhdw]?)")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class Session:
    """Options every command shares: `--json`."""

    json = False


SESSION = Session()


def _json_option(function):
    def remember(_ctx, _param, value):
        SESSION.json = SESSION.json or bool(value)
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=remember,
        is_eager=True,
        help="Print one JSON document for scripts; no progress bars.",
    )(function)


def _emit(data, lines) -> None:
    """`data` as JSON with --json, else the text `lines`."""
    if SESSION.json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for line in lines:
            click.echo(line)


def _note(text: str) -> None:
    if not SESSION.json:
        click.echo(text, err=True)


def _interactive() -> bool:
    return sys.stdout.isatty() and not SESSION.json


@contextmanager
def _progress(label: str):
    """`start(total, done)` -> `advance(bytes)`: a rich progress bar on a terminal, nothing otherwise."""
    if not _interactive():
        yield lambda _total, _done: lambda _count: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console()) as progress:

        def start(total: int, done: int):
            task = progress.add_task(label, total=total, completed=done)
            return lambda count: progress.advance(task, count)

        yield start


def _api(*, key_required: bool = True, server: str | None = None) -> Api:
    url = config.normal_url(server) if server else config.server_url()
    # A link to another server than the configured one gets no key: one server's key never goes to another.
    key = config.api_key() if url == config.server_url(required=False) else None
    if key_required and not key:
        raise UsageProblem(t("Not signed in: run `pan login URL`, or set PAN_KEY."), code="not_signed_in")
    return Api(url, key)


def _read_secret(prompt: str, *, from_stdin: bool, confirm: bool = False) -> str:
    """A password: from the terminal without echo, or the first line of stdin (--password-stdin, or not a terminal)."""
    if from_stdin or not sys.stdin.isatty():
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = getpass.getpass(f"{prompt}: ")
        if confirm and getpass.getpass(f"{t('Share password (again)')}: ") != value:
            raise UsageProblem(t("The two passwords differ."), code="password_mismatch")
    if not value:
        raise UsageProblem(t("No password given."), code="no_password")
    return value


def _duration(_ctx, _param, value):
    if value is None:
        return None
    text = value.strip().lower()
    if text == "never":
        return 0
    match = DURATION.fullmatch(text)
    if match is None:
        raise click.BadParameter(t("Not a duration: {value} (use e.g. 3600, 30m, 12h, 7d, 2w or never).", value=value))
    return int(match.group(1)) * UNITS[match.group(2)]


def _qr(link: str) -> None:
    if _interactive():
        import segno

        segno.make(link, error="m").terminal(out=sys.stdout, compact=True)


# A share's id is base64url: it may begin with "-" ("-EDEo…"), which Click
# would read as options. Unknown options are taken as the NAME instead.
_NAME_MAY_START_WITH_DASH = {"ignore_unknown_options": True}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pan")
def cli():
    """Pan from the command line: send files and folders as a share, get a share by its code or link."""


# --- Signing in ----------------------------------------------------------------


_CODE_HELP = (
    "A code from your authenticator app, or a recovery code, for an account with a second factor "
    "(else asked on the terminal, or read from the line of stdin after the password)."
)


@cli.command()
@click.argument("url")
@click.option("--username", "-u", help="Your username (asked when not given).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--code", "factor_code", help=_CODE_HELP)
@_json_option
def login(url, username, password_stdin, factor_code):
    """Sign in to the Pan at URL and store an API key for the next commands."""
    url = config.normal_url(url)
    if not username:
        if sys.stdin.isatty():
            username = click.prompt(t("Username"), err=True)
        else:
            username = sys.stdin.readline().strip()
    password = _read_secret(t("Password"), from_stdin=password_stdin)
    with Api(url) as api:
        signed_in = _sign_in(api, username, password, lambda: _factor_code(factor_code, from_stdin=password_stdin))
        name = f"pan cli on {socket.gethostname()}"[:100]
        created = api.call(
            "POST",
            "/api/keys",
            json={"name": name, "scopes": SCOPES},
            headers={"Authorization": f"Bearer {signed_in['access']}"},
        )
        _sign_out(api, signed_in)
    path = config.save({"url": url, "username": username, "key": created["key"], "key_id": created["id"]})
    _emit(
        {
            "url": url,
            "username": username,
            "key_id": created["id"],
            "prefix": created.get("prefix"),
            "config": str(path),
        },
        [t("Signed in to {url} as {user}; the key is stored in {path}.", url=url, user=username, path=path)],
    )


def _sign_in(api: Api, username: str, password: str, factor_code) -> dict:
    """`POST /api/login`: the JWT pair (API keys are made and deleted with one, never with a key).

    An account with a second factor answers `mfa_required` and a challenge
    instead (docs/second-factor.md): `factor_code()` gives the code (an app
    code or a recovery code) and `POST /api/login/mfa` gives the pair. A
    wrong code is the API's refusal (exit 2); the challenge is not retried."""
    signed_in = api.call("POST", "/api/login", json={"username": username, "password": password})
    if not signed_in.get("mfa_required"):
        return signed_in
    methods = signed_in.get("methods") or []
    if not {"totp", "recovery_code"} & set(methods):  # a passkey alone: for the site's pages only
        raise Refused(
            t("This account's second factor is a passkey, which works on the site only. Create an API key there."),
            code="mfa_passkey_only",
        )
    return api.call("POST", "/api/login/mfa", json={"challenge": signed_in.get("challenge"), "code": factor_code()})


def _factor_code(given: str | None, *, from_stdin: bool) -> str:
    """The second factor's code: `--code`, else the terminal, else the next line of stdin."""
    if given is not None:
        value = given
    elif from_stdin or not sys.stdin.isatty():
        value = sys.stdin.readline()
    else:
        value = click.prompt(t("Code from your authenticator app, or a recovery code"), err=True)
    value = value.strip()
    if not value:
        raise UsageProblem(t("This account has a second factor: give its code (--code)."), code="no_factor_code")
    return value


def _sign_out(api: Api, signed_in: dict) -> None:
    """Revoke the session's refresh token: the key is what stays."""
    if signed_in.get("refresh"):
        api.send("POST", "/api/logout", json={"refresh": signed_in["refresh"]})


@cli.command()
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--code", "factor_code", help=_CODE_HELP)
@_json_option
def logout(password_stdin, factor_code):
    """Delete this client's API key on the server (asks your password: keys cannot delete keys) and forget it."""
    stored = config.load()
    if not stored.get("key"):
        _emit({"signed_out": False}, [t("Not signed in.")])
        return
    with Api(stored["url"], stored["key"]) as api:
        if api.send("GET", "/api/me").status_code == 401:  # revoked or expired already: nothing to delete there
            config.forget()
            _emit({"signed_out": True, "deleted": False}, [t("Signed out here; the server no longer knew the key.")])
            return
    password = _read_secret(t("Password"), from_stdin=password_stdin)
    with Api(stored["url"]) as api:
        signed_in = _sign_in(
            api,
            stored.get("username", ""),
            password,
            lambda: _factor_code(factor_code, from_stdin=password_stdin),
        )
        response = api.send(
            "DELETE", f"/api/keys/{stored.get('key_id')}", headers={"Authorization": f"Bearer {signed_in['access']}"}
        )
        _sign_out(api, signed_in)
    if response.status_code >= 400 and response.status_code != 404:
        raise refusal(response)
    config.forget()
    _emit({"signed_out": True, "deleted": response.status_code == 204}, [t("Signed out; the key was deleted.")])


# --- Sending and getting -------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--expires", callback=_duration, help="Expire after e.g. 3600, 30m, 12h, 7d, 2w, or never.")
@click.option("--max-downloads", type=click.IntRange(min=1), help="Used up after this many downloads.")
@click.option("--password", "ask_password", is_flag=True, help="Ask for a password recipients must also give.")
@click.option("--password-stdin", is_flag=True, help="Read that password from the first line of stdin.")
@click.option("--title", help="A title recipients see.")
@_json_option
def send(paths, expires, max_downloads, ask_password, password_stdin, title):
    """Send files and folders as one share (resumable: run the same command again after an interruption)."""
    password = None
    if ask_password or password_stdin:
        password = _read_secret(t("Share password"), from_stdin=password_stdin, confirm=True)
    with _api() as api, _progress(t("Sending")) as progress:
        share = send_files(
            api=api,
            key=api.key,
            paths=list(paths),
            title=title,
            expires_in=expires,
            max_downloads=max_downloads,
            password=password,
            progress=progress,
            note=_note,
        )
    share.pop("qr", None)
    link = share.get("share_url") or share.get("url")
    _emit(
        share,
        [
            f"{t('Code')}: {share.get('code_display') or share.get('code')}",
            f"{t('Link')}: {link}",
            f"{t('Expires')}: {share.get('expires_at') or t('never')}",
        ],
    )
    _qr(link)


@cli.command()
@click.argument("code_or_link")
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="The folder to save into (default: here).",
)
@click.option("--zip", "as_zip", is_flag=True, help="Get all items as one zip instead.")
@click.option("--password-stdin", is_flag=True, help="Read the share's password from the first line of stdin.")
@_json_option
def get(code_or_link, out_dir, as_zip, password_stdin):
    """Download a share by its code (XXXX-XXXX) or its link; a rerun resumes."""
    target = target_of(code_or_link)
    with _api(key_required=False, server=target.server) as api:
        share, password = open_share(api, target, lambda: _read_secret(t("Share password"), from_stdin=password_stdin))
        headers = download_headers(target.code, password)
        if as_zip:
            with _progress(t("Downloading")) as progress:
                saved = download_zip(api, share, out_dir, headers, progress)
            files = [{"path": str(saved), "size": saved.stat().st_size}]
        else:
            files = []
            items = share.get("items") or []
            with _progress(t("Downloading")) as progress:
                advance = progress(sum(item["size"] for item in items), 0)
                for item in items:
                    saved = download_item(api, share, item, out_dir, headers, advance, _note)
                    files.append({"path": str(saved), "size": item["size"], "sha256": item.get("sha256")})
    _emit(
        {"share": share.get("id"), "title": share.get("title"), "files": files},
        [t("Saved {path}", path=file["path"]) for file in files],
    )


# --- Owning ----------------------------------------------------------------------


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


@cli.command(name="ls")
@_json_option
def list_shares():
    """Your shares, newest first."""
    with _api() as api:
        shares = api.pages("/api/shares")
    for share in shares:
        share.pop("qr", None)
    if not shares and not SESSION.json:
        click.echo(t("No shares."))
        return
    lines = []
    for share in shares:
        left = share.get("downloads_left")
        downloads = f"{share.get('download_count', 0)}" + (f"/{share['max_downloads']}" if left is not None else "")
        lines.append(
            "  ".join(
                [
                    share["id"],
                    share.get("code_display") or "",
                    f"{share.get('state', ''):<10}",
                    f"{_size(share.get('total_size') or 0):>10}",
                    f"{t('items')}: {len(share.get('items') or [])}",
                    f"{t('downloads')}: {downloads}",
                    share.get("title") or "",
                ]
            )
        )
    _emit(shares, lines)


@cli.command(context_settings=_NAME_MAY_START_WITH_DASH)
@click.argument("name")
@_json_option
def rm(name):
    """Delete the share NAME (its id, as `pan ls` shows) with its files."""
    with _api() as api:
        api.call("DELETE", f"/api/shares/{_quoted(name)}")
    _emit({"deleted": name}, [t("Share {share} deleted.", share=name)])


@cli.command(context_settings=_NAME_MAY_START_WITH_DASH)
@click.argument("name")
@_json_option
def revoke(name):
    """Revoke the share NAME: its code stops opening it (the owner can restore it on the site)."""
    with _api() as api:
        share = api.call("POST", f"/api/shares/{_quoted(name)}/revoke")
    share.pop("qr", None)
    _emit(share, [t("Share {share} revoked: its code no longer opens it.", share=name)])


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@cli.group()
def request():
    """Drop-off requests: people without an account send you files."""


@request.command(name="new")
@click.option("--title", help="What you ask for.")
@click.option("--message", help="A message senders see.")
@click.option("--expires", callback=_duration, help="Close after e.g. 12h, 7d, 2w, or never.")
@click.option("--max-files", type=click.IntRange(min=1), help="How many files it takes.")
@click.option("--max-bytes", type=click.IntRange(min=1), help="How many bytes it takes.")
@click.option("--password", "ask_password", is_flag=True, help="Ask for a password senders must give.")
@click.option("--password-stdin", is_flag=True, help="Read that password from the first line of stdin.")
@_json_option
def request_new(title, message, expires, max_files, max_bytes, ask_password, password_stdin):
    """Create a drop-off request; prints its code and link."""
    body = {}
    for field, value in (
        ("title", title),
        ("message", message),
        ("expires_in", expires),
        ("max_files", max_files),
        ("max_bytes", max_bytes),
    ):
        if value is not None:
            body[field] = value
    if ask_password or password_stdin:
        body["password"] = _read_secret(t("Password"), from_stdin=password_stdin, confirm=True)
    with _api() as api:
        created = api.call("POST", "/api/requests", json=body)
    _emit(created, [f"{t('Request code')}: {created.get('code')}", f"{t('Link')}: {created.get('url')}"])
    _qr(created.get("url"))


@cli.command()
@click.argument("url")
@click.option("--slug", help="Your own short name instead of a random one.")
@_json_option
def shorten(url, slug):
    """Make a short link to URL; prints it."""
    body = {"url": url}
    if slug:
        body["slug"] = slug
    with _api(key_required=False) as api:
        created = api.call("POST", "/api/short", json=body)
    created.pop("qr_svg", None)
    _emit(created, [f"{t('Short link')}: {created.get('short_url')}"])


# --- Running -----------------------------------------------------------------------


def _fail(error: CliError) -> int:
    if SESSION.json:
        click.echo(json.dumps(error.as_json(), ensure_ascii=False))
    else:
        click.echo(f"{t('Error')}: {error.message}", err=True)
    return error.exit_code


def run(argv: list[str] | None = None) -> None:
    """The console script: Click without its own exit handling, so that usage errors exit 1."""
    try:
        code = cli.main(args=argv, prog_name="pan", standalone_mode=False)
    except click.UsageError as error:
        if SESSION.json:
            click.echo(json.dumps(UsageProblem(error.format_message(), code="usage").as_json(), ensure_ascii=False))
        else:
            error.show()
        sys.exit(USAGE)
    except click.ClickException as error:
        error.show()
        sys.exit(USAGE)
    except (click.Abort, KeyboardInterrupt):
        click.echo(f"\n{t('Interrupted. Run the same command again to continue.')}", err=True)
        sys.exit(130)
    except CliError as error:
        sys.exit(_fail(error))
    sys.exit(code if isinstance(code, int) else 0)
