"""`actorkit serve` and `actorkit token` as users type them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
from servers import free_port
from support import ROOT

from actorkit.auth import create_access_token, parse_access_token


def project(tmp_path):
    for folder in ("charts", "hooks", "schemas"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def cli(*args: str, cwd, env: dict[str, str] | None = None, timeout: float = 30):
    clean = {k: v for k, v in os.environ.items() if k != "ACTOR_KIT_SECRET"}
    return subprocess.run([sys.executable, "-m", "actorkit", *args], cwd=cwd, text=True,
                          capture_output=True, env={**clean, **(env or {})}, timeout=timeout)


def test_serve_in_development_makes_and_announces_a_secret_that_token_uses(tmp_path):
    folder = project(tmp_path)
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if k != "ACTOR_KIT_SECRET"}
    server = subprocess.Popen([sys.executable, "-m", "actorkit", "serve", "--port", str(port),
                               "--log-level", "warning"], cwd=folder, env=clean, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        secret = (folder / ".actorkit" / "dev-secret").read_text().strip()
        assert len(secret) >= 32
        token = cli("token", "--type", "todo", "--id", "l1", "--caller", "client:ann",
                    cwd=folder).stdout.strip()
        assert parse_access_token(token, signing_key=secret, actor_type="todo",
                                  actor_id="l1").id == "ann"
        r = httpx.get(f"http://127.0.0.1:{port}/api/todo/l1",
                      headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert "actorkit serving auction, checkout, lobby, room, todo at" in out
    assert "development secret" in out and ".actorkit/dev-secret" in out
    assert secret not in out  # announced, not printed


def test_serve_refuses_production_without_a_secret(tmp_path):
    folder = project(tmp_path)
    for args in (["--host", "0.0.0.0"], ["--production"]):
        done = cli("serve", *args, cwd=folder)
        assert done.returncode == 2
        assert "ACTOR_KIT_SECRET is not set" in done.stderr
    done = cli("serve", "--production", cwd=folder, env={"ACTOR_KIT_SECRET": "short"})
    assert done.returncode == 2 and "at least 32" in done.stderr


def test_serve_stops_on_a_chart_with_errors(tmp_path):
    folder = project(tmp_path)
    chart = folder / "charts" / "todo.yaml"
    chart.write_text(chart.read_text().replace("target: Ready", "target: Raedy")
                     .replace("initial: Ready", "initial: Raedy"))
    done = cli("serve", cwd=folder)
    assert done.returncode == 1
    assert "AK204" in done.stderr and "charts/todo.yaml" in done.stderr


def test_token_needs_a_secret_and_a_client_or_service_caller(tmp_path):
    done = cli("token", "--type", "todo", "--id", "x", "--caller", "client:a", cwd=tmp_path)
    assert done.returncode == 2 and "no secret" in done.stderr
    key = "k" * 40
    done = cli("token", "--type", "todo", "--id", "x", "--caller", "system:a", "--secret", key,
               cwd=tmp_path)
    assert done.returncode == 2 and "client or service" in done.stderr
    done = cli("token", "--type", "todo", "--id", "x", "--caller", "service:sync",
               "--expires", "2h", cwd=tmp_path, env={"ACTOR_KIT_SECRET": key})
    assert done.returncode == 0
    caller = parse_access_token(done.stdout.strip(), signing_key=key, actor_type="todo",
                                actor_id="x")
    assert (caller.type, caller.id) == ("service", "sync")
    done = cli("token", "--type", "todo", "--id", "list/1", "--caller", "client:a", cwd=tmp_path,
               env={"ACTOR_KIT_SECRET": key})  # an id the server would refuse: no token
    assert done.returncode == 2 and done.stdout == ""
    assert "Invalid actor id: it holds '/'" in done.stderr and "1 to 256 bytes" in done.stderr


def test_serve_refuses_a_limit_set_wrong_before_it_starts(tmp_path):
    folder = project(tmp_path)
    done = cli("serve", "--port", str(free_port()), cwd=folder,
               env={"ACTORKIT_MAX_BODY": "a lot"})
    assert done.returncode == 2
    assert "ACTORKIT_MAX_BODY is a size in bytes, like 1048576, 512KiB or 4MiB, not 'a lot'" \
        in done.stderr


def test_serve_on_a_port_in_use_says_so_and_exits_2_as_its_help_says(tmp_path):
    folder = project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for reload in ([], ["--reload"]):
            done = cli("serve", "--port", str(port), *reload, cwd=folder)
            assert done.returncode == 2, done.stderr
            assert f"port {port} on 127.0.0.1 is in use" in done.stderr
            assert "choose another port with --port" in done.stderr
            assert "Traceback" not in done.stderr
    assert "2 when the server cannot start" in " ".join(cli("serve", "--help", cwd=folder)
                                                        .stdout.split())
    # an address of no interface of this machine (TEST-NET-1)
    done = cli("serve", "--host", "192.0.2.1", "--port", str(free_port()), cwd=folder,
               env={"ACTOR_KIT_SECRET": "k" * 40})
    assert done.returncode == 2, done.stderr
    assert "cannot listen on 192.0.2.1:" in done.stderr and "give --host" in done.stderr


def until(check, what: str, log, timeout: float = 60.0):
    """Poll ``check`` until it gives something true; fail, with the server's log, after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s\n{log.read_text()}")


def test_serve_reload_follows_charts_and_schemas_and_reports_a_broken_chart(tmp_path):
    # The server's project holds the charts; the hooks and the schemas are found above it,
    # as a chart finds them (from its folder upwards).
    for folder in ("hooks", "schemas"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    served = tmp_path / "server"
    (served / "charts").mkdir(parents=True)
    chart = served / "charts" / "todo.yaml"
    chart.write_text((ROOT / "charts" / "todo.yaml").read_text())
    schemas = tmp_path / "schemas" / "todo.yaml"
    key = "k" * 40
    port = free_port()
    log = tmp_path / "stderr.log"
    with open(log, "wb") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "actorkit", "serve", "--reload", "--port", str(port),
             "--log-level", "warning"], cwd=served, stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, "ACTOR_KIT_SECRET": key, "ACTORKIT_DB": str(tmp_path / "a.db")},
            start_new_session=True)

    def get(actor_id: str) -> httpx.Response | None:
        token = create_access_token(key, actor_id, "todo", "ann", "client")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/todo/{actor_id}", timeout=2,
                             headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError:
            return None

    def add(actor_id: str, text: str) -> int | None:
        token = create_access_token(key, actor_id, "todo", "ann", "client")
        try:
            return httpx.post(f"http://127.0.0.1:{port}/api/todo/{actor_id}", timeout=2,
                              headers={"Authorization": f"Bearer {token}"},
                              json={"type": "ADD_TODO", "text": text}).status_code
        except httpx.TransportError:
            return None

    def private_filter(actor_id: str) -> str | None:
        answer = get(actor_id)
        return answer.json()["snapshot"]["private"]["filter"] \
            if answer is not None and answer.status_code == 200 else None

    try:
        assert until(lambda: private_filter("a"), "the server starts", log) == "all"
        # the chart changes: actors made from now on start from its new context
        chart.write_text(chart.read_text().replace("filter: all", "filter: active"))
        until(lambda: private_filter("b") == "active", "the chart's change is served", log)
        # the schemas file (outside the project folder) changes: ADD_TODO takes 3 characters
        assert add("b", "milk") == 200
        schemas.write_text(schemas.read_text().replace(
            "      text: {type: string, minLength: 1, maxLength: 500}\n    required: [text]",
            "      text: {type: string, minLength: 1, maxLength: 3}\n    required: [text]"))
        until(lambda: add("b", "milk") == 400, "the schema's change is served", log)
        # a broken chart: its diagnostics, as actorkit lint prints them, and no traceback
        good = chart.read_text()
        chart.write_text(good.replace("initial: Ready", "initial: Raedy"))
        until(lambda: "AK204" in log.read_text(), "the broken chart is reported", log)
        text = log.read_text()
        assert "charts/todo.yaml:" in text and "fix the charts above" in text
        assert "Traceback" not in text
        assert server.poll() is None  # still watching
        # fixed: served again
        chart.write_text(good)
        until(lambda: private_filter("c") == "active", "the fixed chart is served", log)
        assert "Traceback" not in log.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


def test_serve_refuses_several_workers_on_a_sqlite_store(tmp_path):
    folder = project(tmp_path)
    done = cli("serve", "--port", str(free_port()), "--workers", "3", cwd=folder,
               env={"ACTORKIT_STORE": "", "DATABASE_URL": ""})
    assert done.returncode == 2
    assert "--workers 3 needs a PostgreSQL store (--store postgresql://...)" in done.stderr
    done = cli("serve", "--workers", "0", cwd=folder)
    assert done.returncode == 2 and "at least 1, not 0" in done.stderr
