"""Real directory peers for the sign-in tests, started by the tests themselves and stopped after:

* ``Slapd``: Debian's OpenLDAP server (``/usr/sbin/slapd``, package ``slapd``, which .ci/run
  installs) on a free loopback port, with its own configuration and database in a temporary
  folder, the password-policy overlay (so a locked account is refused by the server itself), and
  the people and groups of ``LDIF``.
* ``OidcProvider``: the npm package ``oidc-provider`` (``tests/peers/oidc``: its package.json and
  package-lock.json) on this machine's Node.js, on a free loopback port, with one client
  registered. Its packages are installed with ``npm ci`` once into a cache folder outside the
  checkout (``SOPDESK_PEERS_CACHE``, default ``~/.cache/sopdesk``), keyed by the lock file.

Without slapd or Node.js the tests that need them skip, saying what is missing."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

from shared.mailcatcher import free_port

ROOT = Path(__file__).resolve().parents[3]
SLAPD = os.environ.get("SOPDESK_SLAPD", "/usr/sbin/slapd")
SLAPADD = shutil.which("slapadd", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", "")) or "/usr/sbin/slapadd"
SUFFIX = "dc=example,dc=ac,dc=th"
SERVICE_DN = f"cn=sopdesk,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service account secret"
PASSWORD = "directory password 1"  # every person's in LDIF


def ssha(password: str) -> str:
    """The {SSHA} hash OpenLDAP stores and checks (SHA-1 over the password and a salt)."""
    salt = secrets.token_bytes(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def _person(uid: str, name: str, mail: str, extra: str = "") -> str:
    return (f"dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\n"
            f"sn: {name.split()[-1]}\ndisplayName: {name}\nmail: {mail}\nuserPassword: {ssha(PASSWORD)}\n{extra}\n")


def _group(cn: str, members: list[str]) -> str:
    lines = "".join(f"member: uid={m},ou=people,{SUFFIX}\n" for m in members)
    return f"dn: cn={cn},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}\n"


def ldif() -> str:
    """The directory: an officer and a head of the ICT centre, a librarian whose group sopdesk's
    map gives no role, one account the password policy has locked, one in the leavers' group."""
    return "\n".join([
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example University\n",
        *(f"dn: ou={ou},{SUFFIX}\nobjectClass: organizationalUnit\nou: {ou}\n"
          for ou in ("people", "groups", "services", "policies")),
        f"dn: {SERVICE_DN}\nobjectClass: person\ncn: sopdesk\nsn: sopdesk\nuserPassword: {ssha(SERVICE_PASSWORD)}\n",
        f"dn: cn=default,ou=policies,{SUFFIX}\nobjectClass: person\nobjectClass: pwdPolicy\ncn: default\nsn: policy\n"
        "pwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 0\n",
        _person("somchai", "สมชาย ใจดี", "somchai@example.ac.th"),
        _person("malee", "มาลี ศรีสุข", "malee@example.ac.th"),
        _person("nida", "นิดา รักอ่าน", "nida@example.ac.th"),
        _person("prasert", "ประเสริฐ ลาออก", "prasert@example.ac.th", "pwdAccountLockedTime: 000001010000Z\n"),
        _person("wichai", "วิชัย ย้ายไป", "wichai@example.ac.th"),
        _group("ict-officers", ["somchai", "prasert", "wichai"]),
        _group("ict-heads", ["malee"]),
        _group("library", ["nida"]),
        _group("leavers", ["wichai"]),
    ])


CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args

database mdb
maxsize 33554432
suffix "{suffix}"
rootdn "cn=admin,{suffix}"
rootpw {rootpw}
directory {folder}/data
overlay ppolicy
ppolicy_default "cn=default,ou=policies,{suffix}"
ppolicy_use_lockout

access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by dn.exact="{service}" read by self read by * none
"""


class Slapd:
    """One slapd of the tests' own: ``with Slapd(tmp) as directory: directory.url``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.root_dn = f"cn=admin,{SUFFIX}"  # the directory's administrator, to change it during a test
        self.root_password = secrets.token_urlsafe(16)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def change(self, dn: str, changes: dict) -> None:
        """Change an entry as the directory's administrator would (ldap3's modify changes)."""
        from ldap3 import Connection, Server

        with Connection(Server(self.url), self.root_dn, self.root_password, auto_bind=True) as connection:
            if not connection.modify(dn, changes):
                raise RuntimeError(f"slapd refused the change of {dn}: {connection.result}")

    def __enter__(self) -> "Slapd":
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        config = self.folder / "slapd.conf"
        config.write_text(CONFIG.format(folder=self.folder, suffix=SUFFIX, rootpw=ssha(self.root_password),
                                        service=SERVICE_DN))
        (self.folder / "data.ldif").write_text(ldif(), encoding="utf-8")
        subprocess.run([SLAPADD, "-q", "-f", str(config), "-l", str(self.folder / "data.ldif")], check=True,
                       capture_output=True, timeout=60)
        self.port = free_port()
        log = open(self.folder / "slapd.log", "wb")
        # -d 0: stay in the foreground (a child of the test, stopped with it) and log nothing
        self.process = subprocess.Popen([SLAPD, "-d", "0", "-f", str(config), "-h", self.url + "/"],
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd stopped at start: {(self.folder / 'slapd.log').read_text()[-2000:]}")
            try:
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError("slapd did not answer within 20 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# the OpenID provider

PROVIDER_DIR = ROOT / "tests" / "peers" / "oidc"
NODE = shutil.which("node") or "/usr/bin/node"
NPM = shutil.which("npm") or "/usr/bin/npm"


def provider_modules() -> Path:
    """A folder with ``node_modules`` for tests/peers/oidc, installed by ``npm ci`` from its lock
    file once (kept outside the checkout, keyed by the lock file's hash)."""
    lock = (PROVIDER_DIR / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("SOPDESK_PEERS_CACHE") or Path.home() / ".cache" / "sopdesk")
    folder = cache / f"oidc-provider-{hashlib.sha256(lock).hexdigest()[:16]}"
    if (folder / "node_modules" / ".complete").exists():
        return folder
    building = folder.with_name(folder.name + f".{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(PROVIDER_DIR / name, building / name)
    subprocess.run([NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=building, check=True,
                   capture_output=True, timeout=300)
    (building / "node_modules" / ".complete").write_text("npm ci done\n")
    try:
        building.rename(folder)
    except OSError:  # another run finished first
        shutil.rmtree(building, ignore_errors=True)
    return folder


class OidcProvider:
    """oidc-provider on a free port with one confidential client (``client_id``/``client_secret``)
    allowed to come back to ``redirect_uri``. Its accounts are ``accounts``: id -> {password,
    claims}; an account with ``"disabled": true`` is refused by the provider at its login."""

    def __init__(self, folder: Path, redirect_uri: str, accounts: dict) -> None:
        self.folder = Path(folder)
        self.redirect_uri = redirect_uri
        self.accounts = accounts
        self.client_id = "sopdesk-test"
        self.client_secret = secrets.token_urlsafe(32)
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "OidcProvider":
        modules = provider_modules()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        setup = self.folder / "setup.json"
        setup.write_text(json.dumps({"issuer": self.issuer, "port": self.port, "client_id": self.client_id,
                                     "client_secret": self.client_secret, "redirect_uris": [self.redirect_uri],
                                     "accounts": self.accounts}), encoding="utf-8")
        # an ES module finds its packages in node_modules beside it (not through NODE_PATH)
        shutil.copy(PROVIDER_DIR / "provider.mjs", self.folder / "provider.mjs")
        if not (self.folder / "node_modules").exists():
            (self.folder / "node_modules").symlink_to(modules / "node_modules")
        log = open(self.folder / "provider.log", "wb")
        self.process = subprocess.Popen([NODE, str(self.folder / "provider.mjs"), str(setup)], cwd=self.folder,
                                        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NODE_ENV": "test"},
                                        start_new_session=True)
        log.close()
        import urllib.request

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oidc-provider stopped at start: {(self.folder / 'provider.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.issuer}/.well-known/openid-configuration", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError("oidc-provider did not answer within 30 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
