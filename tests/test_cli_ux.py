"""The command line as a user meets it: where the data lives, usage errors, --version and --help, and the
one-line messages (real `musicrec` processes, a real server over HTTP)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conftest import API_KEY

from service.tools.procs import ServeProcess, musicrec_cmd


def env_without_data_dir(tmp_path, **extra) -> dict[str, str]:
    """No MUSICREC_* at all, and a private user data dir (XDG_DATA_HOME) so the default lands in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSICREC_", "QDRANT_", "REDIS_"))}
    return {**env, "XDG_DATA_HOME": str(tmp_path / "xdg"), **extra}


def cli(*args: str, env: dict, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(musicrec_cmd(*args), capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def test_the_data_dir_defaults_to_the_user_data_dir_and_ingest_says_where(tmp_path, music_dir):
    one = tmp_path / "in"
    one.mkdir()
    shutil.copy(music_dir / "tones" / sorted(os.listdir(music_dir / "tones"))[0], one)
    env = env_without_data_dir(tmp_path)
    done = cli("ingest", str(one), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    home = tmp_path / "xdg" / "musicrec"
    assert home.is_dir() and any(home.iterdir())
    assert not (tmp_path / "data").exists()  # no ./data any more
    assert f"1 ok, 0 updated, 0 skipped, 0 failed (into {home})" in done.stderr
    # the variable stays an override; a relative one is shown absolute
    rel = cli("ingest", str(one), env={**env, "MUSICREC_DATA_DIR": "mine"}, cwd=tmp_path)
    assert rel.returncode == 0, rel.stderr
    assert (tmp_path / "mine").is_dir()
    assert f"(into {tmp_path / 'mine'})" in rel.stderr


def test_ingest_of_a_path_that_does_not_exist_is_a_usage_error_and_creates_nothing(tmp_path, music_dir):
    env = env_without_data_dir(tmp_path, MUSICREC_DATA_DIR=str(tmp_path / "data"))
    done = cli("ingest", str(music_dir / "tones"), str(tmp_path / "typo"), env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == f"musicrec: no such file or folder: {tmp_path / 'typo'}"
    assert not (tmp_path / "data").exists() and not (tmp_path / "xdg").exists()


def test_serve_banner_names_the_default_data_dir(tmp_path):
    env = env_without_data_dir(tmp_path, MUSICREC_API_KEYS=API_KEY)
    server = ServeProcess(env, tmp_path / "serve.log").start()
    try:
        banner = next(line for line in server.log_tail().splitlines() if "serving on" in line)
    finally:
        server.stop()
    assert f"embedded Qdrant Edge store in {tmp_path / 'xdg' / 'musicrec'};" in banner


def test_version_and_every_subcommands_help_shows_defaults_and_its_environment(tmp_path):
    import re
    from importlib.metadata import version

    from service.cli.main import COMMAND_ENVIRONMENT, ENVIRONMENT

    env = env_without_data_dir(tmp_path)
    done = cli("--version", env=env)
    assert done.returncode == 0 and done.stdout.strip() == f"musicrec {version('musicrec')}"
    # every variable Settings reads is documented, and `serve` (which reads them all but none of the
    # commands' own) lists each of them
    source = (Path(__file__).parent.parent / "service" / "settings.py").read_text()
    read = set(re.findall(r'"((?:MUSICREC|QDRANT|REDIS)_[A-Z_]+)"', source))
    assert read <= set(ENVIRONMENT), read - set(ENVIRONMENT)
    assert read <= set(COMMAND_ENVIRONMENT["serve"]), read - set(COMMAND_ENVIRONMENT["serve"])
    for command, names in COMMAND_ENVIRONMENT.items():
        done = cli(command, "--help", env=env)
        assert done.returncode == 0, done.stderr
        text = done.stdout
        assert "environment:" in text
        for name in names:
            assert re.search(rf"^\s+{name}\s", text, re.M), (command, name)
        if command in ("serve", "ingest", "worker", "export", "quality", "bench"):
            assert "(default: " in text, command
    serve = cli("serve", "--help", env=env).stdout
    assert "(default: 127.0.0.1)" in serve and "(default: 8000)" in serve and "(default: 4)" in serve
    assert "(default: None)" not in serve


def test_ingest_into_a_running_server_without_a_key_says_none_was_sent(tmp_path, music_dir):
    env = env_without_data_dir(tmp_path, MUSICREC_DATA_DIR=str(tmp_path / "data"), MUSICREC_API_KEYS=API_KEY)
    server = ServeProcess(env, tmp_path / "serve.log").start()
    try:
        keyless = {k: v for k, v in env.items() if k != "MUSICREC_API_KEYS"}
        done = cli("ingest", str(music_dir / "tones"), env=keyless)
    finally:
        server.stop()
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "needs an API key and none was sent" in done.stderr and "MUSICREC_API_KEYS" in done.stderr


def test_serve_on_a_busy_port_says_so_in_one_line_without_a_banner(tmp_path):
    import socket

    env = env_without_data_dir(tmp_path, MUSICREC_DATA_DIR=str(tmp_path / "data"), MUSICREC_API_KEYS=API_KEY)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = cli("serve", "--host", "127.0.0.1", "--port", str(port), env=env, timeout=60)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1
    assert len(lines) == 1 and f"port {port}" in lines[0] and "in use" in lines[0], done.stderr
    assert "serving on" not in done.stderr and "Traceback" not in done.stderr


def test_the_listening_socket_is_tcp_with_nagle_off():
    """asyncio turns Nagle's algorithm off only on connections whose socket says it is TCP: with proto 0, every
    response written in two parts (headers, body) waited ~40 ms for the client's delayed ACK."""
    import socket

    from service.cli.serve import _listen

    sock = _listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        sock.listen()
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        try:  # what asyncio's transport checks before setting TCP_NODELAY on each connection
            assert accepted.proto == socket.IPPROTO_TCP and accepted.type == socket.SOCK_STREAM
        finally:
            accepted.close()
            client.close()
    finally:
        sock.close()
