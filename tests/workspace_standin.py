"""A stand-in for a Databricks workspace, for tests: no Databricks workspace is reachable from here.

A test double, not Databricks: a small HTTP server (stdlib ``http.server`` in a thread) on 127.0.0.1 with a
random port, keeping its state in memory. It implements exactly the endpoints that the real legacy
``databricks`` CLI (0.18) and ``fitlake.deployment`` call, with the request and response fields they use:

- Workspace API 2.0: ``workspace/mkdirs``, ``import`` (SOURCE notebooks with a language; AUTO for other
  files, stored as workspace files), ``get-status``, ``list``, ``delete``.
- Jobs API 2.1: ``jobs/create``, ``reset``, ``list`` (``name``, ``offset``, ``limit``, ``expand_tasks``),
  ``get``, ``run-now``, ``runs/get``. Jobs API 2.0 paths answer 400, so a caller on the wrong version fails.

Errors have the workspace's shape (``{"error_code": ..., "message": ...}``). A run goes PENDING -> RUNNING
-> TERMINATED over successive ``runs/get`` calls and ends with ``result_state`` (SUCCESS by default;
``fail_runs()`` makes the next runs fail in a given task).

How clients reach it: the legacy CLI builds its URLs from the host's scheme and name only and drops any
port (``databricks_cli/sdk/api_client.py``), so it cannot be pointed at ``127.0.0.1:<port>``. Clients get
the host ``http://localhost`` (plain http is accepted for a loopback name only:
``fitlake.deployment.legacy_cli.workspace_host``) and ``HTTP_PROXY=http://127.0.0.1:<port>`` with an empty
``NO_PROXY``: requests (the CLI) and urllib (the deploy script) then send every request to this server in
absolute form, and it serves them as that host.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "http://localhost"
TOKEN = "standin-token-not-a-secret"
NOTEBOOK_HEADERS = {".py": ("PYTHON", "# Databricks notebook source"), ".sql": ("SQL", "-- Databricks notebook source")}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class State:
    """Everything the workspace holds; tests read it directly."""

    objects: dict[str, dict[str, Any]] = field(default_factory=lambda: {"/": _directory("/", 0)})
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    failing_task: str = ""  # empty: runs succeed
    failure_message: str = ""
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def notebooks(self) -> dict[str, dict[str, Any]]:
        return {path: obj for path, obj in self.objects.items() if obj["object_type"] == "NOTEBOOK"}

    def files(self) -> dict[str, dict[str, Any]]:
        return {path: obj for path, obj in self.objects.items() if obj["object_type"] == "FILE"}


class WorkspaceStandIn:
    """Start with ``with WorkspaceStandIn() as workspace:``; ``client_environment()`` points clients at it."""

    def __init__(self) -> None:
        self.state = State()
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WorkspaceStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def client_environment(self) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{self.port}"
        return {
            "DATABRICKS_HOST": HOST,
            "DATABRICKS_TOKEN": TOKEN,
            "HTTP_PROXY": proxy,
            "http_proxy": proxy,
            "NO_PROXY": "",
            "no_proxy": "",
        }

    def fail_runs(self, task_key: str, message: str) -> None:
        self.state.failing_task, self.state.failure_message = task_key, message

    def handle(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.state.calls.append((method, path))
            route = _ROUTES.get((method, path))
            if route is None:
                raise ApiError(400, "ENDPOINT_NOT_FOUND", f"The stand-in does not implement {method} {path}.")
            return route(self.state, params)


# Workspace API 2.0 -----------------------------------------------------------------------------------------


def _directory(path: str, object_id: int) -> dict[str, Any]:
    return {"path": path, "object_type": "DIRECTORY", "object_id": object_id}


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _require_path(params: dict[str, Any]) -> str:
    path = params.get("path", "")
    if not isinstance(path, str) or not path.startswith("/") or path != path.rstrip("/") and path != "/":
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Path ({path!r}) must be absolute, without a trailing /.")
    return path


def _mkdirs(state: State, params: dict[str, Any]) -> dict[str, Any]:
    path = _require_path(params)
    parts = path.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        current = "/" + "/".join(parts[:depth])
        existing = state.objects.get(current)
        if existing is None:
            state.objects[current] = _directory(current, next(state.ids))
        elif existing["object_type"] != "DIRECTORY":
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"Path ({current}) already exists and is not a directory.")
    return {}


def _import(state: State, params: dict[str, Any]) -> dict[str, Any]:
    path, fmt = _require_path(params), params.get("format", "SOURCE")
    content = base64.b64decode(params.get("content", ""))
    kind, language = "FILE", None
    if fmt == "SOURCE":
        language = params.get("language")
        if language not in ("PYTHON", "SQL", "SCALA", "R"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "language is required for format SOURCE.")
        kind = "NOTEBOOK"
    elif fmt == "AUTO":
        suffix = "." + path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
        if suffix in NOTEBOOK_HEADERS and content.decode(errors="replace").startswith(NOTEBOOK_HEADERS[suffix][1]):
            kind, language, path = "NOTEBOOK", NOTEBOOK_HEADERS[suffix][0], path[: -len(suffix)]
    else:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"The stand-in imports formats SOURCE and AUTO, not {fmt}.")
    parent = state.objects.get(_parent(path))
    if parent is None or parent["object_type"] != "DIRECTORY":
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"The parent folder ({_parent(path)}) does not exist.")
    existing = state.objects.get(path)
    if existing is not None and (existing["object_type"] == "DIRECTORY" or not params.get("overwrite")):
        raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"{path} already exists.")
    object_id = existing["object_id"] if existing else next(state.ids)
    stored = {"path": path, "object_type": kind, "object_id": object_id, "format": fmt, "content": content}
    if language:
        stored["language"] = language
    state.objects[path] = stored
    return {}


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in ("content", "format")}


def _get_status(state: State, params: dict[str, Any]) -> dict[str, Any]:
    path = _require_path(params)
    if path not in state.objects:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
    return _public(state.objects[path])


def _list(state: State, params: dict[str, Any]) -> dict[str, Any]:
    path = _get_status(state, params)["path"]
    children = [_public(obj) for key, obj in sorted(state.objects.items()) if key != "/" and _parent(key) == path]
    return {"objects": children} if children else {}


def _delete(state: State, params: dict[str, Any]) -> dict[str, Any]:
    path = _get_status(state, params)["path"]
    below = [key for key in state.objects if key.startswith(path.rstrip("/") + "/")]
    if below and not params.get("recursive"):
        raise ApiError(400, "DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty.")
    for key in [path, *below]:
        del state.objects[key]
    return {}


# Jobs API 2.1 ---------------------------------------------------------------------------------------------


def _job(state: State, job_id: Any) -> dict[str, Any]:
    job = state.jobs.get(int(job_id)) if str(job_id).isdigit() else None
    if job is None:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Job {job_id} does not exist.")
    return job


def _check_settings(settings: Any) -> dict[str, Any]:
    if not isinstance(settings, dict) or not settings.get("name") or not settings.get("tasks"):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "Job settings need a name and at least one task.")
    return settings


def _create(state: State, params: dict[str, Any]) -> dict[str, Any]:
    job_id = next(state.ids)
    state.jobs[job_id] = {"job_id": job_id, "settings": _check_settings(params), "created_time": job_id}
    return {"job_id": job_id}


def _reset(state: State, params: dict[str, Any]) -> dict[str, Any]:
    _job(state, params.get("job_id"))["settings"] = _check_settings(params.get("new_settings"))
    return {}


def _list_jobs(state: State, params: dict[str, Any]) -> dict[str, Any]:
    name = str(params.get("name", "")).lower()
    offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
    if not 1 <= limit <= 100:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "limit must be between 1 and 100.")
    found = [job for _, job in sorted(state.jobs.items()) if not name or job["settings"]["name"].lower() == name]
    page = found[offset : offset + limit]
    if params.get("expand_tasks") != "true":
        page = [{**job, "settings": {k: v for k, v in job["settings"].items() if k != "tasks"}} for job in page]
    return {"jobs": page, "has_more": offset + limit < len(found)} if page else {"has_more": False}


def _get_job(state: State, params: dict[str, Any]) -> dict[str, Any]:
    return _job(state, params.get("job_id"))


def _run_now(state: State, params: dict[str, Any]) -> dict[str, Any]:
    job = _job(state, params.get("job_id"))
    run_id = next(state.ids)
    state.runs[run_id] = {
        "job_id": job["job_id"],
        "run_id": run_id,
        "run_page_url": f"{HOST}/?o=0#job/{job['job_id']}/run/{run_id}",
        "polls": 0,
        "failing_task": state.failing_task,
        "failure_message": state.failure_message,
        "task_keys": [task["task_key"] for task in job["settings"]["tasks"]],
    }
    return {"run_id": run_id, "number_in_job": run_id}


def _get_run(state: State, params: dict[str, Any]) -> dict[str, Any]:
    run_id = params.get("run_id", "")
    run = state.runs.get(int(run_id)) if str(run_id).isdigit() else None
    if run is None:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Run {run_id} does not exist.")
    run["polls"] += 1
    public = {key: value for key, value in run.items() if key in ("job_id", "run_id", "run_page_url")}
    life_cycle = ("PENDING", "RUNNING", "TERMINATED")[min(run["polls"], 3) - 1]
    public["state"] = {"life_cycle_state": life_cycle, "state_message": ""}
    public["tasks"] = _task_runs(run, life_cycle)
    if life_cycle == "TERMINATED":
        failed = bool(run["failing_task"])
        public["state"]["result_state"] = "FAILED" if failed else "SUCCESS"
        if failed:
            message = f"Task {run['failing_task']} failed with message: {run['failure_message']}"
            public["state"]["state_message"] = message
    return public


def _task_runs(run: dict[str, Any], life_cycle: str) -> list[dict[str, Any]]:
    tasks, upstream_failed = [], False
    for number, key in enumerate(run["task_keys"], start=1):
        state: dict[str, Any] = {"life_cycle_state": life_cycle}
        if life_cycle == "TERMINATED":
            failed = key == run["failing_task"]
            result = "UPSTREAM_FAILED" if upstream_failed else "FAILED" if failed else "SUCCESS"
            state["result_state"] = result
            state["state_message"] = run["failure_message"] if failed else ""
            upstream_failed = upstream_failed or failed
        url = f"{run['run_page_url']}/task/{number}"
        tasks.append({"task_key": key, "run_id": run["run_id"] * 100 + number, "state": state, "run_page_url": url})
    return tasks


_ROUTES = {
    ("POST", "/api/2.0/workspace/mkdirs"): _mkdirs,
    ("POST", "/api/2.0/workspace/import"): _import,
    ("GET", "/api/2.0/workspace/get-status"): _get_status,
    ("GET", "/api/2.0/workspace/list"): _list,
    ("POST", "/api/2.0/workspace/delete"): _delete,
    ("POST", "/api/2.1/jobs/create"): _create,
    ("POST", "/api/2.1/jobs/reset"): _reset,
    ("GET", "/api/2.1/jobs/list"): _list_jobs,
    ("GET", "/api/2.1/jobs/get"): _get_job,
    ("POST", "/api/2.1/jobs/run-now"): _run_now,
    ("GET", "/api/2.1/jobs/runs/get"): _get_run,
}


# HTTP -----------------------------------------------------------------------------------------------------


def _handler_for(workspace: WorkspaceStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
            query = parse_qs(urlsplit(self.path).query)
            self._answer("GET", {key: values[-1] for key, values in query.items()})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                params = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error_code": "MALFORMED_REQUEST", "message": "The body is not JSON."})
                return
            self._answer("POST", params)

        def _answer(self, method: str, params: dict[str, Any]) -> None:
            target = urlsplit(self.path)  # absolute form when sent through the proxy setting
            if target.netloc and f"http://{target.netloc}" != HOST:
                self._send(502, {"error_code": "BAD_GATEWAY", "message": f"Only {HOST} is served here."})
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
                return
            try:
                self._send(200, workspace.handle(method, target.path, params))
            except ApiError as error:
                self._send(error.status, {"error_code": error.code, "message": error.message})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:  # keep test output quiet
            pass

    return Handler
