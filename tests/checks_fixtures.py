"""Real local servers for the check tests: HTTP(S) with generated certificates, a DNS stub,
SMTP (aiosmtpd with STARTTLS and AUTH), tiny POP3 and IMAP servers, and TCP listeners."""

from __future__ import annotations

import ipaddress
import json
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support import free_port, make_settings
from whmcs_monitor.catalog import load_catalog
from whmcs_monitor.checks.scheduler import Scheduler
from whmcs_monitor.checks.tables import check_state
from whmcs_monitor.store.db import Database
from whmcs_monitor.store.events import EventFilter, query_events

# -- certificates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class Pki:
    """A throwaway CA that issues leaf certificates with chosen names and validity.

    ``pki.intermediate(...)`` is a CA signed by it; the leaves an intermediate issues are served
    with the intermediate as their chain, and ``ca_file`` stays the root's.
    """

    def __init__(
        self,
        directory: Path,
        *,
        parent: Pki | None = None,
        name: str = "whmcs-monitor test CA",
        days: float = 3650,
    ) -> None:
        self.dir = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        signer_key, issuer = (
            (parent.key, parent.cert.subject) if parent else (self.key, _name(name))
        )
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(issuer)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(signer_key, hashes.SHA256())
        )
        self.chain: list[x509.Certificate] = [self.cert, *parent.chain] if parent else []
        if parent is None:
            self.ca_file = directory / "ca.pem"
            self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        else:
            self.ca_file = parent.ca_file

    def intermediate(self, name: str, *, days: float) -> Pki:
        return Pki(self.dir, parent=self, name=name, days=days)

    def issue(
        self,
        name: str,
        *,
        hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
        days: float = 90,
        expired: bool = False,
        not_yet_valid: bool = False,
        self_signed: bool = False,
    ) -> CertFiles:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        start, end = now - timedelta(days=1), now + timedelta(days=days)
        if expired:
            start, end = now - timedelta(days=30), now - timedelta(days=1)
        if not_yet_valid:
            start = now + timedelta(days=5)
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        issuer_key, issuer = (
            (key, _name(hosts[0])) if self_signed else (self.key, self.cert.subject)
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(issuer_key, hashes.SHA256())
        )
        files = CertFiles(self.dir / f"{name}.crt", self.dir / f"{name}.key")
        served = [cert] if self_signed else [cert, *self.chain]
        files.cert.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in served))
        files.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return files


def server_context(files: CertFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    return context


# -- HTTP(S) -----------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Route = Reply | Callable[[BaseHTTPRequestHandler], Reply]


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer

    def _serve(self) -> None:
        path = self.path.split("?", 1)[0]
        route = self.server.routes.get(path)
        length = int(self.headers.get("Content-Length") or 0)
        self.server.requests.append(
            {
                "method": self.command,
                "path": path,
                "headers": dict(self.headers),
                "body": self.rfile.read(length).decode() if length else "",
            }
        )
        reply = route(self) if callable(route) else route or Reply(404, "not found")
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body.encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    requests: list[dict[str, Any]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that rejects our certificate is what some tests want


@dataclass
class HttpServer:
    url: str
    routes: dict[str, Route]
    requests: list[dict[str, Any]]


@contextmanager
def serve_http(routes: dict[str, Route], tls: CertFiles | None = None) -> Iterator[HttpServer]:
    server = _HttpServer(("127.0.0.1", 0), _Handler)
    server.routes = routes
    server.requests = []
    if tls is not None:
        server.socket = server_context(tls).wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield HttpServer(f"{scheme}://localhost:{port}", routes, server.requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def json_reply(document: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(document), {"Content-Type": "application/json"})


# -- DNS ---------------------------------------------------------------------------------------


@contextmanager
def dns_stub(records: dict[tuple[str, str], list[str]]) -> Iterator[int]:
    """A UDP DNS server on 127.0.0.1 answering from ``records``; yields its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            answers = records.get((name, dns.rdatatype.to_text(question.rdtype)))
            if answers is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            else:
                response.answer.append(
                    dns.rrset.from_text_list(
                        question.name, 60, dns.rdataclass.IN, question.rdtype, answers
                    )
                )
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


# -- mail --------------------------------------------------------------------------------------

MAIL_USER = "tickets@example.com"
MAIL_PASSWORD = "mailbox-pass-7Qz9"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        MAIL_USER.encode(),
        MAIL_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@contextmanager
def smtp_server(tls: CertFiles) -> Iterator[int]:
    """aiosmtpd requiring STARTTLS before AUTH; yields its port."""
    port = free_port()
    controller = Controller(
        _Sink(),
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(tls),
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


class _LineServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Pop3(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"+OK POP3 ready\r\n")
        user = None
        for raw in self.rfile:
            command, _, arg = raw.decode().strip().partition(" ")
            command = command.upper()
            if command == "USER":
                user = arg
                self.wfile.write(b"+OK\r\n")
            elif command == "PASS":
                ok = (user, arg) == (MAIL_USER, MAIL_PASSWORD)
                self.wfile.write(b"+OK logged in\r\n" if ok else b"-ERR [AUTH] invalid login\r\n")
            elif command == "STAT":
                self.wfile.write(b"+OK 2 640\r\n")
            elif command == "QUIT":
                self.wfile.write(b"+OK bye\r\n")
                return
            else:
                self.wfile.write(b"-ERR unknown command\r\n")


class _Imap(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"* OK IMAP4rev1 ready\r\n")
        for raw in self.rfile:
            tag, _, rest = raw.decode().strip().partition(" ")
            command, _, arg = rest.partition(" ")
            command = command.upper()
            if command == "CAPABILITY":
                self.wfile.write(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n".encode())
            elif command == "LOGIN":
                user, _, password = arg.partition(" ")
                ok = (user.strip('"'), password.strip('"')) == (MAIL_USER, MAIL_PASSWORD)
                reply = f"{tag} OK logged in" if ok else f"{tag} NO [AUTHENTICATIONFAILED] bad"
                self.wfile.write(f"{reply}\r\n".encode())
            elif command == "LOGOUT":
                self.wfile.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                return
            else:
                self.wfile.write(f"{tag} BAD unknown\r\n".encode())


@contextmanager
def line_server(protocol: str) -> Iterator[int]:
    """A minimal POP3 or IMAP server (login only); yields its port."""
    handler = {"pop3": _Pop3, "imap": _Imap}[protocol]
    server = _LineServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- TCP ---------------------------------------------------------------------------------------


@contextmanager
def listener_that_never_accepts() -> Iterator[int]:
    """A listening socket whose accept queue is already full, so new connections hang."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(2):  # a backlog of 0 still admits one connection; the next ones fill it
        filler = socket.socket()
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        server.close()


@contextmanager
def dripping_server(every: float = 0.3) -> Iterator[int]:
    """A server that sends one byte every ``every`` seconds and never finishes a line, so no
    single read ever times out; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.05)
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn, suppress(OSError):
            while not stop.wait(every):
                conn.send(b"2")

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        server.close()


class SwitchableListener:
    """A TCP port that accepts while ``up()`` and refuses connections after ``down()``."""

    def __init__(self) -> None:
        self.port = free_port()
        self._sock: socket.socket | None = None

    def up(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        self._sock = sock

    def down(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


# -- the scheduler, run by hand ----------------------------------------------------------------


def scheduler_for(
    database_url: str,
    probes: list[dict[str, Any]],
    clock: FrozenClock,
    db: Database,
    owner: str = "a",
) -> Scheduler:
    settings = make_settings(database_url, checks={"probes": probes})
    scheduler = Scheduler(db, settings, load_catalog(), owner=owner, clock=clock)
    scheduler.sync()
    make_all_due(db, clock)
    return scheduler


def make_all_due(db: Database, clock: FrozenClock) -> None:
    with db.write() as conn:
        conn.execute(check_state.update().values(next_run_at=clock.now))


def state(db: Database, name: str) -> Any:
    with db.read() as conn:
        return conn.execute(sa.select(check_state).where(check_state.c.name == name)).one()


def kinds(db: Database) -> list[str]:
    with db.read() as conn:
        return [e["kind"] for e in reversed(query_events(conn, EventFilter(limit=1000)))]


async def step(scheduler: Scheduler, clock: FrozenClock) -> None:
    clock.advance(timedelta(seconds=10))
    await scheduler.run_due_now()
