"""What the machine itself allows: disk reads and nginx's sendfile."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from project.testing import free_port


def cat_throughput(path: Path) -> float:
    """MiB/s of `cat FILE > /dev/null` (a second read: from the page cache)."""
    size_mib = path.stat().st_size / 2**20
    with open("/dev/null", "wb") as sink:
        subprocess.run(["cat", str(path)], stdout=sink, check=True)  # noqa: S603 S607 - warm the cache
        started = time.perf_counter()
        subprocess.run(["cat", str(path)], stdout=sink, check=True)  # noqa: S603 S607
    return size_mib / (time.perf_counter() - started)


class Nginx:
    """nginx serving one directory with sendfile, if nginx is installed."""

    def __init__(self, root: Path):
        self.root = root
        self.binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="pan-bench-nginx-"))
        self.proc = None

    @property
    def available(self) -> bool:
        return self.binary is not None

    def start(self) -> "Nginx":
        conf = self.tmp / "nginx.conf"
        conf.write_text(
            f"""
worker_processes 1;
daemon off;
pid {self.tmp}/nginx.pid;
error_log {self.tmp}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {self.tmp};
    proxy_temp_path {self.tmp};
    fastcgi_temp_path {self.tmp};
    uwsgi_temp_path {self.tmp};
    scgi_temp_path {self.tmp};
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
    }}
}}
"""
        )
        self.proc = subprocess.Popen([self.binary, "-c", str(conf), "-p", str(self.tmp)])  # noqa: S603
        time.sleep(0.5)
        return self

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
