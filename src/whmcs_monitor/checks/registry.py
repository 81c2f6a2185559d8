"""The check types, in one dict: ``type`` name -> settings model (which carries the probe).

The config's discriminated union is built from this dict, so adding a type here is all it takes
for ``checks:`` entries, the API and the scheduler to know it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, TypeAdapter

from whmcs_monitor.checks.base import CheckBase
from whmcs_monitor.checks.dns import DnsCheck
from whmcs_monitor.checks.external import ExternalCheck, RdapCheck
from whmcs_monitor.checks.host import HostCheck
from whmcs_monitor.checks.http import HttpCheck
from whmcs_monitor.checks.mail import ImapCheck, Pop3Check, SmtpCheck
from whmcs_monitor.checks.mysql import MysqlCheck
from whmcs_monitor.checks.service import PortCheck, ProcessCheck, SystemdCheck
from whmcs_monitor.checks.tcp import TcpCheck
from whmcs_monitor.checks.tls import TlsCheck
from whmcs_monitor.checks.whmcs import WhmcsCheck

CHECK_TYPES: dict[str, type[CheckBase]] = {
    "http": HttpCheck,
    "tcp": TcpCheck,
    "tls": TlsCheck,
    "dns": DnsCheck,
    "mysql": MysqlCheck,
    "smtp": SmtpCheck,
    "pop3": Pop3Check,
    "imap": ImapCheck,
    "host": HostCheck,
    "process": ProcessCheck,
    "systemd": SystemdCheck,
    "port": PortCheck,
    "whmcs": WhmcsCheck,
    "external": ExternalCheck,
    "rdap": RdapCheck,
}

# A pydantic union over the dict's models, told apart by their literal ``type`` field. Type
# checkers see the base class, which is what every member is.
if TYPE_CHECKING:
    AnyCheck = CheckBase
else:
    AnyCheck = Annotated[Union[tuple(CHECK_TYPES.values())], Field(discriminator="type")]  # noqa: UP007
_adapter: TypeAdapter[Any] = TypeAdapter(AnyCheck)


def parse_check(data: Any) -> CheckBase:
    """Validate one check definition (a dict) into its type's model; raises ValidationError."""
    check: CheckBase = _adapter.validate_python(data)
    return check
