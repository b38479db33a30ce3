"""`actorkit serve` and `actorkit token` as users type them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
from servers import free_port
from support import ROOT

from actorkit.auth import parse_access_token


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
    assert "actorkit serving auction, todo at" in out
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
