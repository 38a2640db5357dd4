"""Uploading a file that is not a notebook (the wheel) into the workspace as a workspace file.

The legacy CLI cannot: ``workspace import`` accepts only the notebook formats SOURCE, HTML, JUPYTER and DBC
and always asks for a language (``workspace/types.py``), and ``import_dir`` skips files without a notebook
extension. ``databricks fs cp`` would put the wheel in DBFS, but libraries in the DBFS root are disabled
on current runtimes. So this one call goes to the Workspace API 2.0 directly: ``workspace/import`` with
``format: AUTO``, which stores a non-notebook file as a workspace file that a job can install
(``libraries: [{"whl": "/Workspace/..."}]``).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from fitlake.deployment import DeploymentError
from fitlake.deployment.legacy_cli import Credentials

IMPORT_LIMIT_BYTES = 10 * 1024 * 1024  # the Workspace API's limit for one import request


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """urllib follows a redirect with every header of the request, the token's Authorization included, to
    whichever host the answer names. The Workspace API never redirects, so an answer that does is refused."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # urllib's signature
        target = urllib.parse.urlsplit(newurl)
        raise DeploymentError(
            f"{req.full_url} answered HTTP {code}, a redirect to {target.scheme}://{target.hostname}: refused, the "
            "token would follow it. Check DATABRICKS_HOST (the workspace URL itself, not a link that forwards)."
        )


_OPENER = urllib.request.build_opener(_RefuseRedirects)


def import_file(credentials: Credentials, local: Path, target: str) -> None:
    """Store ``local`` at the workspace path ``target`` (overwriting); the parent folder must exist."""
    content = local.read_bytes()
    if len(content) > IMPORT_LIMIT_BYTES:
        raise DeploymentError(f"{local} is {len(content)} bytes; the Workspace API imports at most 10 MB at once.")
    body = {"path": target, "format": "AUTO", "content": base64.b64encode(content).decode(), "overwrite": True}
    request = urllib.request.Request(
        f"{credentials.host}/api/2.0/workspace/import",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {credentials.token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=120) as response:
            response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:1000]
        raise DeploymentError(f"Uploading {local.name} to {target} failed: HTTP {error.code} {detail}") from error
    except urllib.error.URLError as error:
        raise DeploymentError(
            f"Uploading {local.name} to {target} failed: {credentials.host} unreachable ({error.reason})."
        ) from error
