"""The production shape (docker-compose.yml, deploy/nginx.conf, Dockerfile) agrees with the code.

Nothing here needs Docker: the files are parsed and compared with what the code declares
(shared.config.SERVICES and ENV_VARS, shared.routing.QUEUES, the ``sopdesk`` command's parser,
the gunicorn entry points in sopdesk.gateway). Each check is a function that returns a list of
problems, so that the tests can also feed it a broken copy and see it report the break.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import importlib
import inspect
import io
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from shared.config import ENV_VARS, SERVICES
from shared.routing import QUEUES
from sopdesk.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_FILE = ROOT / "deploy" / "nginx.conf"
DOCKERFILE = ROOT / "Dockerfile"

SHELL_OPERATORS = {"&&", "||", ";", "|", "&"}


# --- reading the files -------------------------------------------------------------------------

def load_compose(path: Path = COMPOSE_FILE) -> dict:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), f"{path}: no services mapping"
    return data


def argv_of(command) -> list[str]:
    """A compose command (a list, or a string Compose splits like a shell) as argv."""
    if command is None:
        return []
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def command_lines(command) -> list[list[str]]:
    """The commands a container runs: its argv, or the commands of an ``sh -c`` script."""
    argv = argv_of(command)
    if len(argv) >= 3 and Path(argv[0]).name in ("sh", "bash") and argv[1] == "-c":
        argv = shlex.split(argv[2])
    lines, current = [], []
    for token in argv:
        if token in SHELL_OPERATORS:
            lines.append(current)
            current = []
        else:
            current.append(token)
    lines.append(current)
    return [line for line in lines if line]


def sopdesk_args(line: list[str]) -> list[str] | None:
    """The arguments given to the ``sopdesk`` command by one command line, or None."""
    if not line:
        return None
    if Path(line[0]).name == "sopdesk":
        return line[1:]
    if Path(line[0]).name.startswith("python") and line[1:3] == ["-m", "sopdesk.cli"]:
        return line[3:]
    return None


def parse_sopdesk(args: list[str]):
    """(namespace, None) when the real parser accepts the arguments, else (None, its message)."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            return build_parser().parse_args(args), None
    except SystemExit:
        return None, err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "rejected"


def gunicorn_app(line: list[str]) -> str | None:
    """The APP_MODULE of a gunicorn command line (its last positional argument)."""
    if not line or Path(line[0]).name != "gunicorn":
        return None
    takes_value = {"-b", "--bind", "-w", "--workers", "--threads", "-k", "--worker-class", "-t", "--timeout",
                   "--access-logfile", "--error-logfile", "--log-level", "--forwarded-allow-ips", "-c",
                   "--config", "--graceful-timeout", "--keep-alive", "--worker-tmp-dir", "--max-requests",
                   "--max-requests-jitter", "--chdir", "--name", "-n"}
    positional, skip = [], False
    for token in line[1:]:
        if skip:
            skip = False
        elif token in takes_value:
            skip = True
        elif not token.startswith("-"):
            positional.append(token)
    return positional[-1] if positional else None


def gunicorn_bind_port(line: list[str]) -> int | None:
    for i, token in enumerate(line):
        value = None
        if token in ("-b", "--bind") and i + 1 < len(line):
            value = line[i + 1]
        elif token.startswith("--bind="):
            value = token.split("=", 1)[1]
        if value:
            return int(value.rsplit(":", 1)[1])
    return None


def parse_app_spec(spec: str):
    """``module:attr`` or ``module:attr(args)`` as gunicorn reads it: (module, attr, args or None)."""
    match = re.fullmatch(r"([\w.]+):(\w+)(?:\((.*)\))?", spec, re.S)
    if not match:
        raise ValueError(f"{spec!r} is not a gunicorn app spec (module:attribute[(args)])")
    module, attr, raw_args = match.groups()
    if raw_args is None:
        return module, attr, None
    args = ast.literal_eval(f"({raw_args},)") if raw_args.strip() else ()
    return module, attr, tuple(args)


def environment_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} / ${VAR:?message} with no variable set: the default, or a stand-in."""
    value = re.sub(r"\$\{(\w+):?-([^}]*)\}", r"\2", value)
    return re.sub(r"\$\{(\w+)(?::?\?[^}]*)?\}", lambda m: f"<{m.group(1)}>", value)


def is_sopdesk_container(service: dict) -> bool:
    image = str(service.get("image", ""))
    return "build" in service or image.split(":")[0].rsplit("/", 1)[-1] == "sopdesk"


def sopdesk_containers(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items() if is_sopdesk_container(svc)}


def worker_queues(compose: dict) -> dict[str, list[str] | None]:
    """Compose service -> the queues its ``sopdesk worker`` consumes (None: no --queues, so all)."""
    found = {}
    for name, svc in compose["services"].items():
        for line in command_lines(svc.get("command")):
            args = sopdesk_args(line)
            if args and args[0] == "worker":
                ns, _ = parse_sopdesk(args)
                found[name] = ns.queues if ns else []
    return found


# --- the checks --------------------------------------------------------------------------------

def web_problems(compose: dict) -> list[str]:
    problems = []
    services = compose["services"]
    for service in SERVICES:
        svc = services.get(service)
        if svc is None:
            problems.append(f"no compose service {service!r} (the web service of {service})")
            continue
        apps = [gunicorn_app(line) for line in command_lines(svc.get("command"))]
        apps = [a for a in apps if a]
        if not apps:
            problems.append(f"compose service {service!r} does not run gunicorn: {svc.get('command')!r}")
            continue
        try:
            parsed = parse_app_spec(apps[0])
        except (ValueError, SyntaxError) as exc:
            problems.append(f"compose service {service!r}: {exc}")
            continue
        if parsed != ("sopdesk.gateway", "service_app", (service,)):
            problems.append(f"compose service {service!r} runs gunicorn {apps[0]!r}, "
                            f"expected 'sopdesk.gateway:service_app(\"{service}\")'")
    return problems


def worker_problems(compose: dict) -> list[str]:
    problems = []
    workers = worker_queues(compose)
    consumed = set()
    for name, queues in workers.items():
        if queues is None:
            problems.append(f"worker {name!r} names no --queues (it would consume every queue)")
            continue
        for queue in queues:
            if queue not in QUEUES:
                problems.append(f"worker {name!r} consumes queue {queue!r}, which is not in shared.routing.QUEUES")
            consumed.add(queue)
    for queue in QUEUES:
        if queue not in consumed:
            problems.append(f"no worker has --queues {queue} (its messages would never be consumed)")
    return problems


def env_problems(compose: dict) -> list[str]:
    problems = []
    for name, svc in sopdesk_containers(compose).items():
        if svc.get("env_file"):
            problems.append(f"{name!r} reads an env_file, whose variables this test cannot check")
        env = environment_of(svc)
        for var in env:
            if var not in ENV_VARS:
                problems.append(f"{name!r} sets {var}, which is not in shared.config.ENV_VARS")
        if env.get("SOPDESK_ENV") != "production":
            problems.append(f"{name!r} does not set SOPDESK_ENV=production")
        secret = env.get("SECRET_KEY", "")
        if not re.fullmatch(r"\$\{SECRET_KEY:?\?[^}]*\}", secret):
            problems.append(f"{name!r} must take SECRET_KEY from the operator (${{SECRET_KEY:?...}}), got {secret!r}")
        for var, scheme, target in (("DATABASE_URL", ("postgresql", "postgres"), "postgres"),
                                    ("REDIS_URL", ("redis",), "redis")):
            url = urlsplit(interpolate(env.get(var, "")))
            if url.scheme not in scheme or url.hostname not in compose["services"]:
                problems.append(f"{name!r}: {var} should point at the compose service {target!r}, "
                                f"got {env.get(var, '(unset)')!r}")
    return problems


def cli_problems(compose: dict) -> list[str]:
    problems = []
    for name, svc in compose["services"].items():
        for line in command_lines(svc.get("command")):
            args = sopdesk_args(line)
            if args is None:
                continue
            ns, message = parse_sopdesk(args)
            if ns is None:
                problems.append(f"{name!r} runs `sopdesk {' '.join(args)}`, which the sopdesk command rejects: {message}")
    return problems


def startup_problems(compose: dict) -> list[str]:
    problems = []
    services = compose["services"]
    migrate = services.get("migrate")
    migrate_args = [sopdesk_args(line) for line in command_lines((migrate or {}).get("command"))]
    if not migrate or not any(a and a[0] == "migrate" for a in migrate_args):
        problems.append("no one-shot 'migrate' service running `sopdesk migrate`")
    else:
        restart = migrate.get("restart", "no")
        restart = "no" if restart is False else str(restart)  # an unquoted `no` is false to PyYAML
        if restart != "no" and not restart.startswith("on-failure"):
            problems.append(f"'migrate' is a one-shot job but has restart: {restart!r}")
    for name, svc in sopdesk_containers(compose).items():
        if name == "migrate":
            continue
        condition = (svc.get("depends_on") or {})
        condition = condition.get("migrate", {}).get("condition") if isinstance(condition, dict) else None
        if condition != "service_completed_successfully":
            problems.append(f"{name!r} does not wait for migrate (depends_on migrate: service_completed_successfully)")
    return problems


def beat_problems(compose: dict) -> list[str]:
    beats = []
    for name, svc in compose["services"].items():
        for line in command_lines(svc.get("command")):
            args = sopdesk_args(line)
            if args and args[0] == "beat":
                beats.append(name)
                replicas = ((svc.get("deploy") or {}).get("replicas")) or 1
                if int(replicas) != 1:
                    return [f"beat {name!r} has {replicas} replicas: the sweeps must be scheduled once"]
    if len(beats) != 1:
        return [f"expected exactly one `sopdesk beat`, found {len(beats)}: {beats}"]
    return []


def redis_problems(compose: dict) -> list[str]:
    redis = compose["services"].get("redis")
    if redis is None:
        return ["no compose service 'redis'"]
    argv = argv_of(redis.get("command"))
    options = {}
    for i, token in enumerate(argv):
        if token.startswith("--") and i + 1 < len(argv):
            options[token[2:]] = argv[i + 1]
    problems = []
    if options.get("appendonly") != "yes":
        problems.append(f"redis must run with --appendonly yes (queued tasks survive a restart), got {argv!r}")
    if options.get("maxmemory-policy") != "noeviction":
        problems.append(f"redis must run with --maxmemory-policy noeviction (never drop a queued task), got {argv!r}")
    return problems


def entrypoint_problems(compose: dict, dockerfile_cmd: list[str] | None = None) -> list[str]:
    problems = []
    lines = [(name, line) for name, svc in compose["services"].items() for line in command_lines(svc.get("command"))]
    if dockerfile_cmd:
        lines.append(("Dockerfile CMD", dockerfile_cmd))
    for name, line in lines:
        spec = gunicorn_app(line)
        if spec is None:
            continue
        try:
            module_name, attr, args = parse_app_spec(spec)
        except (ValueError, SyntaxError) as exc:
            problems.append(f"{name!r}: {exc}")
            continue
        module = importlib.import_module(module_name)
        target = getattr(module, attr, None)
        if target is None:
            problems.append(f"{name!r}: gunicorn entry point {spec!r}: {module_name} has no attribute {attr!r}")
            continue
        if args is not None:
            try:
                inspect.signature(target).bind(*args)
            except TypeError as exc:
                problems.append(f"{name!r}: gunicorn entry point {spec!r} cannot be called so: {exc}")
            if attr == "service_app" and args and args[0] not in SERVICES:
                problems.append(f"{name!r}: {spec!r} names no service of shared.config.SERVICES")
    return problems


def nginx_locations(text: str) -> dict[str, str]:
    """location prefix -> its body, and '' -> the server-level text outside any location."""
    text = re.sub(r"#[^\n]*", "", text)
    locations, outside, pos = {}, [], 0
    for match in re.finditer(r"location\s+(=\s*)?(\S+)\s*\{", text):
        if match.start() < pos:
            continue
        depth, end = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        outside.append(text[pos:match.start()])
        key = ("= " if match.group(1) else "") + match.group(2)
        locations[key] = text[match.end():end - 1]
        pos = end
    outside.append(text[pos:])
    locations[""] = "".join(outside)
    return locations


def nginx_problems(text: str, compose: dict) -> list[str]:
    problems = []
    locations = nginx_locations(text)
    server_level = locations[""]
    for service in SERVICES:
        prefix = f"/{service}/"
        body = locations.get(prefix)
        if body is None:
            problems.append(f"nginx.conf has no `location {prefix}`")
            continue
        passes = re.findall(r"proxy_pass\s+([^;]+);", body)
        if len(passes) != 1:
            problems.append(f"nginx `location {prefix}` should have one proxy_pass, has {passes}")
            continue
        target = passes[0].strip()
        variables = dict(re.findall(r"set\s+\$(\w+)\s+([^;]+);", server_level + body))
        resolved = re.sub(r"\$(\w+)", lambda m: variables.get(m.group(1), m.group(0)).strip(), target)
        url = urlsplit(resolved)
        if url.path not in ("",):
            problems.append(f"nginx `location {prefix}` rewrites the path (proxy_pass {target} has a URI part); "
                            f"every service's routes already carry their prefix")
        if url.hostname != service:
            problems.append(f"nginx `location {prefix}` proxies to {url.hostname!r}, not the service {service!r}")
            continue
        web = compose["services"].get(service)
        bind_ports = {gunicorn_bind_port(line) for line in command_lines((web or {}).get("command"))} - {None}
        if bind_ports and url.port not in bind_ports:
            problems.append(f"nginx `location {prefix}` proxies to port {url.port}, but {service}'s gunicorn "
                            f"binds {sorted(bind_ports)}")
    root = locations.get("= /", "")
    if not re.search(r"return\s+30[1278]\s+/intake/\s*;", root):
        problems.append("nginx.conf should redirect `/` to /intake/ (location = / { return 302 /intake/; })")
    for directive in ("proxy_set_header X-Forwarded-For", "proxy_set_header X-Forwarded-Proto",
                      "client_max_body_size 25m"):
        if not re.search(r"\s+".join(map(re.escape, directive.split())), text):
            problems.append(f"nginx.conf lacks `{directive}`")
    nginx = compose["services"].get("nginx") or {}
    if not any("deploy/nginx.conf" in str(v) for v in nginx.get("volumes") or []):
        problems.append("the compose service 'nginx' does not mount deploy/nginx.conf")
    return problems


def dockerfile_cmd(text: str) -> list[str] | None:
    joined = re.sub(r"\\\n", " ", text)
    commands = re.findall(r"^CMD\s+(\[.*\])\s*$", joined, re.M)
    return json.loads(commands[-1]) if commands else None


def dockerfile_problems(text: str) -> list[str]:
    problems = []
    joined = re.sub(r"\\\n", " ", re.sub(r"(?m)^\s*#.*\n", "", text))
    if not re.search(r"(?m)^FROM\s+python:3\.11-slim\b", joined):
        problems.append("the Dockerfile should build FROM python:3.11-slim")
    installs = re.findall(r"pip install\s+([^&\n]+)", joined)
    if not installs:
        problems.append("the Dockerfile does not pip install the project")
    for target in installs:
        if "[" in target or "-e " in f"{target} ":
            problems.append(f"the Dockerfile installs {target.strip()!r}: no extras, no editable install")
    users = re.findall(r"(?m)^USER\s+(\S+)", joined)
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the Dockerfile's final USER should be an unprivileged user")
    for block in re.findall(r"(?m)^ENV\s+(.*)$", joined):
        for var in re.findall(r"(\w+)=", block):
            if not var.startswith(("PYTHON", "PIP_")) and var not in ENV_VARS:
                problems.append(f"the Dockerfile sets {var}, which is not in shared.config.ENV_VARS")
    if dockerfile_cmd(text) is None:
        problems.append("the Dockerfile has no exec-form CMD")
    # every package the project installs is in the copy it builds from
    copied = {Path(source).name for source in re.findall(r"(?m)^COPY\s+(\S+)\s+\S+", joined)}
    for package in _installed_packages():
        if package not in copied:
            problems.append(f"the Dockerfile does not COPY {package}/, which pyproject.toml installs")
    return problems


def _installed_packages() -> list[str]:
    """The top-level packages pyproject.toml's ``packages.find`` includes (``name*`` patterns)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return [pattern.rstrip("*") for pattern in patterns]


def _report(problems: list[str]) -> str:
    return "\n  " + "\n  ".join(problems)


# --- the tests on the real files ---------------------------------------------------------------

def test_every_service_has_a_gunicorn_web_service():
    problems = web_problems(load_compose())
    assert not problems, _report(problems)


def test_every_queue_has_a_worker_and_workers_name_real_queues():
    problems = worker_problems(load_compose())
    assert not problems, _report(problems)


def test_sopdesk_containers_set_only_known_environment_variables():
    compose = load_compose()
    assert sopdesk_containers(compose), "no service builds or uses the sopdesk image"
    problems = env_problems(compose)
    assert not problems, _report(problems)


def test_every_sopdesk_command_is_one_the_cli_accepts():
    problems = cli_problems(load_compose())
    assert not problems, _report(problems)


def test_migrate_runs_once_before_everything_else():
    problems = startup_problems(load_compose())
    assert not problems, _report(problems)


def test_exactly_one_beat():
    problems = beat_problems(load_compose())
    assert not problems, _report(problems)


def test_redis_keeps_queued_tasks():
    problems = redis_problems(load_compose())
    assert not problems, _report(problems)


def test_gunicorn_entry_points_exist_in_the_code():
    problems = entrypoint_problems(load_compose(), dockerfile_cmd(DOCKERFILE.read_text(encoding="utf-8")))
    assert not problems, _report(problems)


def test_nginx_routes_each_prefix_to_its_service_unchanged():
    problems = nginx_problems(NGINX_FILE.read_text(encoding="utf-8"), load_compose())
    assert not problems, _report(problems)


def test_dockerfile_installs_the_project_for_a_non_root_user():
    problems = dockerfile_problems(DOCKERFILE.read_text(encoding="utf-8"))
    assert not problems, _report(problems)


# --- the checks can fail: each fed a broken copy -----------------------------------------------

def _broken_copy(tmp_path: Path, old: str, new: str, source: Path = COMPOSE_FILE) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, f"the mutation {old!r} no longer applies to {source.name}; update this test"
    path = tmp_path / source.name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_renamed_environment_variable_is_reported(tmp_path):
    compose = load_compose(_broken_copy(tmp_path, "SMTP_HOST:", "SMTP_SERVER:"))
    problems = env_problems(compose)
    assert any("SMTP_SERVER" in p and "ENV_VARS" in p for p in problems), problems


def test_a_default_secret_key_is_reported():
    compose = copy.deepcopy(load_compose())
    compose["services"]["beat"]["environment"] = dict(environment_of(compose["services"]["beat"]),
                                                     SECRET_KEY="changeme")
    assert any("'beat'" in p and "SECRET_KEY" in p for p in env_problems(compose))


def test_a_database_url_to_nowhere_is_reported():
    compose = copy.deepcopy(load_compose())
    compose["services"]["intake"]["environment"] = dict(environment_of(compose["services"]["intake"]),
                                                       DATABASE_URL="postgresql://u:p@db:5432/sopdesk")
    assert any("'intake'" in p and "DATABASE_URL" in p for p in env_problems(compose))


def test_a_missing_web_service_or_wrong_entry_point_is_reported():
    compose = copy.deepcopy(load_compose())
    del compose["services"]["procurement"]
    compose["services"]["notify"]["command"] = ["gunicorn", "sopdesk.gateway:service_app(\"intake\")"]
    problems = web_problems(compose)
    assert any("'procurement'" in p for p in problems), problems
    assert any("'notify'" in p and "intake" in p for p in problems), problems


def test_a_missing_or_misnamed_worker_queue_is_reported(tmp_path):
    compose = load_compose(_broken_copy(tmp_path, '"--queues", "notify"', '"--queues", "notifications"'))
    assert any("no worker has --queues notify" in p for p in worker_problems(compose))
    assert any("worker-notify" in p and "notifications" in p for p in cli_problems(compose))
    compose = copy.deepcopy(load_compose())
    compose["services"]["worker-intake"]["command"] = ["sopdesk", "worker"]
    assert any("worker-intake" in p and "no --queues" in p for p in worker_problems(compose))


def test_an_unknown_sopdesk_subcommand_is_reported():
    compose = copy.deepcopy(load_compose())
    compose["services"]["migrate"]["command"] = "sh -c 'sopdesk migrate && sopdesk seed-demo'"
    problems = cli_problems(compose)
    assert any("seed-demo" in p for p in problems), problems
    assert not any("sopdesk migrate`" in p for p in problems), problems


def test_migrate_ordering_breaks_are_reported():
    compose = copy.deepcopy(load_compose())
    compose["services"]["worker-notify"]["depends_on"] = {"redis": {"condition": "service_healthy"}}
    compose["services"]["migrate"]["restart"] = "always"
    problems = startup_problems(compose)
    assert any("worker-notify" in p for p in problems), problems
    assert any("one-shot" in p for p in problems), problems


def test_a_missing_or_doubled_beat_is_reported():
    compose = copy.deepcopy(load_compose())
    compose["services"]["beat2"] = copy.deepcopy(compose["services"]["beat"])
    assert beat_problems(compose) and "found 2" in beat_problems(compose)[0]
    del compose["services"]["beat"], compose["services"]["beat2"]
    assert beat_problems(compose) and "found 0" in beat_problems(compose)[0]


def test_redis_that_may_evict_or_forget_is_reported(tmp_path):
    compose = load_compose(_broken_copy(tmp_path, '"noeviction"', '"allkeys-lru"'))
    assert any("noeviction" in p for p in redis_problems(compose))
    compose["services"]["redis"]["command"] = "redis-server"
    assert len(redis_problems(compose)) == 2


def test_a_missing_gunicorn_entry_point_is_reported():
    compose = copy.deepcopy(load_compose())
    compose["services"]["intake"]["command"] = ["gunicorn", "sopdesk.gateway:intake_app()"]
    compose["services"]["notify"]["command"] = ["gunicorn", "sopdesk.gateway:service_app(\"notify\", 1, 2)"]
    problems = entrypoint_problems(compose)
    assert any("'intake'" in p and "intake_app" in p for p in problems), problems
    assert any("'notify'" in p and "cannot be called" in p for p in problems), problems


def test_nginx_routing_mistakes_are_reported(tmp_path):
    compose = load_compose()
    wrong_host = _broken_copy(tmp_path, "set $upstream notify:8000;", "set $upstream intake:8000;", NGINX_FILE)
    assert any("/notify/" in p and "'intake'" in p for p in nginx_problems(wrong_host.read_text(), compose))
    rewrites = _broken_copy(tmp_path, "location /assignment/ {\n        set $upstream assignment:8000;\n"
                                      "        proxy_pass http://$upstream;",
                            "location /assignment/ {\n        set $upstream assignment:8000;\n"
                            "        proxy_pass http://$upstream/;", NGINX_FILE)
    assert any("/assignment/" in p and "rewrites" in p for p in nginx_problems(rewrites.read_text(), compose))
    missing = _broken_copy(tmp_path, "location /procurement/", "location /purchasing/", NGINX_FILE)
    assert any("location /procurement/" in p for p in nginx_problems(missing.read_text(), compose))
    wrong_port = _broken_copy(tmp_path, "set $upstream intake:8000;", "set $upstream intake:5000;", NGINX_FILE)
    assert any("port 5000" in p for p in nginx_problems(wrong_port.read_text(), compose))


def test_dockerfile_mistakes_are_reported():
    text = DOCKERFILE.read_text(encoding="utf-8")
    broken = text.replace("USER 10001:10001", "USER root").replace("ENV SOPDESK_ENV=production",
                                                                    "ENV SOPDESK_MODE=production")
    problems = dockerfile_problems(broken.replace("pip install /tmp/sopdesk ", "pip install '/tmp/sopdesk[test]' "))
    assert any("USER" in p for p in problems), problems
    assert any("SOPDESK_MODE" in p for p in problems), problems
    assert any("extras" in p for p in problems), problems
    missing = dockerfile_problems(text.replace("COPY sopdesk /tmp/sopdesk/sopdesk\n", ""))
    assert missing == ["the Dockerfile does not COPY sopdesk/, which pyproject.toml installs"]
