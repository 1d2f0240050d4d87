"""Where the client keeps what it knows: the server and API key
(`user_config_dir("pan")/config.json`, mode 0600 in a 0700 folder) and the
state of interrupted uploads (`user_cache_dir("pan")/send/`)."""

import json
import os
from pathlib import Path

import platformdirs

from .errors import UsageProblem
from .texts import t


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir("pan"))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("pan"))


def config_path() -> Path:
    return config_dir() / "config.json"


def private_folder(path: Path) -> Path:
    """`path`, created if missing, readable by its user only (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, data: dict) -> None:
    """Write `data` as JSON to `path`, mode 0600 from its first byte, replacing the old file at once."""
    private_folder(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load() -> dict:
    return read_json(config_path())


def save(data: dict) -> Path:
    write_private(config_path(), data)
    return config_path()


def forget() -> None:
    config_path().unlink(missing_ok=True)


def server_url(required: bool = True) -> str | None:
    """The server: PAN_URL, else the one `pan login` stored."""
    url = os.environ.get("PAN_URL") or load().get("url")
    if not url and required:
        raise UsageProblem(t("No Pan server: run `pan login URL`, or set PAN_URL and PAN_KEY."), code="no_server")
    return normal_url(url) if url else None


def api_key() -> str | None:
    """The API key: PAN_KEY, else the stored one (only for the stored server, unless PAN_URL is the same)."""
    if os.environ.get("PAN_KEY"):
        return os.environ["PAN_KEY"]
    stored = load()
    if os.environ.get("PAN_URL") and normal_url(os.environ["PAN_URL"]) != stored.get("url"):
        return None  # never send one server's key to another
    return stored.get("key")


def normal_url(url: str) -> str:
    """A server's base URL: https:// when no scheme is given, no trailing slash."""
    url = url.strip()
    if "://" not in url:
        url = f"https://{url}"
    return url.rstrip("/")
