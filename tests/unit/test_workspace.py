"""The one direct Workspace API call (the wheel upload) sends the token to the workspace and nowhere else."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fitlake.deployment import DeploymentError
from fitlake.deployment.legacy_cli import Credentials
from fitlake.deployment.workspace import import_file


class Server:
    """A local HTTP server answering every POST with ``status`` (and ``Location``), keeping the headers seen."""

    def __init__(self, status: int, location: str = ""):
        self.seen: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.seen.append(dict(self.headers))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def servers(monkeypatch) -> Iterator[list[Server]]:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    started: list[Server] = []
    yield started
    for server in started:
        server.http.shutdown()
        server.http.server_close()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_refused_and_the_token_does_not_follow_it(servers, tmp_path, status):
    elsewhere = Server(200)
    workspace = Server(status, f"{elsewhere.url}/api/2.0/workspace/import")
    servers += [elsewhere, workspace]
    wheel = tmp_path / "fitlake.whl"
    wheel.write_bytes(b"wheel")
    with pytest.raises(DeploymentError, match=f"HTTP {status}, a redirect to http://127.0.0.1: refused"):
        import_file(Credentials(workspace.url, "dapi-token"), wheel, "/Workspace/Shared/fitlake.whl")
    assert len(workspace.seen) == 1 and elsewhere.seen == []


def test_an_answer_without_redirect_uploads_once(servers, tmp_path):
    workspace = Server(200)
    servers.append(workspace)
    wheel = tmp_path / "fitlake.whl"
    wheel.write_bytes(b"wheel")
    import_file(Credentials(workspace.url, "dapi-token"), wheel, "/Workspace/Shared/fitlake.whl")
    assert [seen["Authorization"] for seen in workspace.seen] == ["Bearer dapi-token"]
