"""The event catalog (``events.yaml``) against the WHMCS reference and the operator's audit.

Test data in ``tests/data`` is transcribed from ``whmcs-reference.md`` and ``seed-audit.md``:
``whmcs_hooks.txt`` (all 339 hook points), ``seed_names.txt`` (the audit's hook-ish names),
``sensitive_vars.txt`` (the S-marked ``$vars``) and ``hook_vars.txt`` (the vars each forwarded
hook receives).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from pathlib import Path

import pytest

from whmcs_monitor.catalog import Catalog, EventKind, load_catalog
from whmcs_monitor.catalog.loader import parse_catalog
from whmcs_monitor.errors import CatalogError

DATA = Path(__file__).parent / "data"

MODULE_PARAMS_ALLOWED = {
    "serviceid", "userid", "pid", "serverid", "domain", "producttype", "moduletype",
    "server", "serverip", "serverhostname",
}  # fmt: skip
REGISTRAR_PARAMS_ALLOWED = {"domainid", "userid", "sld", "tld", "regperiod", "registrar"}
# Pre* hooks that are forwarded because they are the only signal of their event and are not
# used to abort or override anything.
PRE_HOOKS_ALLOWED = {
    "PreDeleteClient",  # the only client-deletion signal (ClientDelete is deprecated)
    "PreInvoiceAutomaticCancellation",  # the only way to tell automatic cancellations apart
    "PreCronJob",  # start of the daily run
    "PreAutomationTask",  # start of a task
    "PreUpgradeCheckout",  # the only upgrade-order signal with amount and service
}
NEVER_FORWARDED = {"AuthAdmin", "AuthAdminApi", "ClientLoginShare"}


def _names(filename: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in (DATA / filename).read_text().splitlines())
    return [line for line in lines if line]


def _per_hook(filename: str) -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for line in _names(filename):
        hook, _, rest = line.partition(":")
        assert hook not in table, f"{filename}: {hook} listed twice"
        table[hook.strip()] = {v for v in rest.split() if v != "-"}
    return table


WHMCS_HOOKS = _names("whmcs_hooks.txt")
SEED_NAMES = _names("seed_names.txt")
SENSITIVE_VARS = _per_hook("sensitive_vars.txt")
HOOK_VARS = _per_hook("hook_vars.txt")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _placeholders(template: str) -> list[str]:
    fields = []
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        assert field, f"{template!r}: empty placeholder {{}}"
        assert not spec and not conversion, f"{template!r}: no format specs or conversions"
        fields.append(field)
    return fields


def _paths(entry: EventKind) -> dict[str, str]:
    """Every $vars path an entry reads, with where it is used."""
    used = {p: "summary" for p in _placeholders(entry.summary)}
    used.update({p: f"subjects.{name}" for name, p in entry.subjects.items()})
    used.update({p: f"labels.{name}" for name, p in entry.labels.items()})
    return used


def _covers(path: str, entry: EventKind) -> bool:
    """Whether a secret var is dropped: listed as sensitive, or under a keep allow-list."""
    parts = path.split(".")
    prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
    return bool(prefixes & set(entry.sensitive)) or bool(prefixes & set(entry.keep))


# --- the test data itself -------------------------------------------------------------------


def test_the_hook_list_has_all_339_hook_points_of_the_reference_once() -> None:
    assert len(WHMCS_HOOKS) == 339
    assert len(set(WHMCS_HOOKS)) == 339


def test_the_hook_list_matches_each_category_count_the_reference_states() -> None:
    counts: Counter[str] = Counter()
    expected: dict[str, int] = {}
    category = ""
    for line in (DATA / "whmcs_hooks.txt").read_text().splitlines():
        header = re.match(r"## (.+) \((\d+)\)$", line)
        if header:
            category = header.group(1)
            expected[category] = int(header.group(2))
        elif line.strip() and not line.startswith("#"):
            counts[category] += 1
    assert dict(counts) == expected


def test_the_seed_list_has_the_62_names_of_the_audit_plus_its_php_error_handler() -> None:
    assert len(SEED_NAMES) == len(set(SEED_NAMES)) == 62 + 1
    assert "PHP Error Handler" in SEED_NAMES


def test_the_sensitive_and_vars_tables_name_only_real_hooks() -> None:
    assert set(SENSITIVE_VARS) <= set(WHMCS_HOOKS)
    assert set(HOOK_VARS) <= set(WHMCS_HOOKS)


# --- shape ----------------------------------------------------------------------------------


def test_the_shipped_catalog_loads() -> None:
    assert load_catalog().events


def test_no_kind_is_listed_twice(catalog: Catalog) -> None:
    kinds = Counter(e.kind for e in catalog.events)
    assert [k for k, n in kinds.items() if n > 1] == []


def test_no_hook_appears_in_two_entries(catalog: Catalog) -> None:
    hooks = Counter(h for e in catalog.events for h in e.hooks)
    assert [h for h, n in hooks.items() if n > 1] == []


def test_every_category_has_at_least_three_kinds(catalog: Catalog) -> None:
    for category in catalog.categories:
        assert len(catalog.in_category(category.id)) >= 3, category.id


def test_the_fourteen_categories_of_the_audit_are_declared(catalog: Catalog) -> None:
    assert [c.id for c in catalog.categories] == [
        "clients", "orders_payments", "services_provisioning", "domains", "support", "email",
        "security", "cron_automation", "affiliates_marketing", "system_health", "files",
        "external_dependencies", "business", "compliance",
    ]  # fmt: skip


def test_only_hook_kinds_name_hooks(catalog: Catalog) -> None:
    for entry in catalog.events:
        assert bool(entry.hooks) == (entry.source == "hook"), entry.kind


def test_every_kind_has_a_summary_and_a_description(catalog: Catalog) -> None:
    for entry in catalog.events:
        assert entry.summary.strip() and entry.description.strip(), entry.kind


def test_every_source_is_used(catalog: Catalog) -> None:
    assert {e.source for e in catalog.events} == {
        "hook", "poll", "check", "analytics", "files", "monitor",
    }  # fmt: skip


def test_the_loader_rejects_a_hook_in_two_entries() -> None:
    text = (DATA.parent.parent / "src/whmcs_monitor/catalog/events.yaml").read_text()
    duplicate = text.replace("hooks: [InvoiceUnpaid]", "hooks: [InvoicePaid]")
    message = re.escape("hook InvoicePaid already produces invoice.paid")
    with pytest.raises(CatalogError, match=message):
        parse_catalog(duplicate)


# --- hooks ----------------------------------------------------------------------------------


def test_every_hook_in_the_catalog_is_a_real_whmcs_hook(catalog: Catalog) -> None:
    named = {h for e in catalog.events for h in e.hooks}
    assert sorted(named - set(WHMCS_HOOKS)) == []


def test_hooks_that_replace_authentication_are_never_forwarded(catalog: Catalog) -> None:
    for name in NEVER_FORWARDED:
        assert catalog.for_hook(name) is None
        assert catalog.resolve(name) == ()


def test_output_hooks_are_never_forwarded(catalog: Catalog) -> None:
    output = [h for h in WHMCS_HOOKS if h.endswith("Output")]
    assert len(output) == 16
    assert [h for h in output if catalog.for_hook(h)] == []


def test_client_area_page_is_the_only_page_hook_and_it_is_opt_in(catalog: Catalog) -> None:
    page_hooks = [e for e in catalog.hook_kinds for h in e.hooks if h.startswith("ClientAreaPage")]
    assert [h for e in page_hooks for h in e.hooks] == ["ClientAreaPage"]
    assert page_hooks[0].opt_in


def test_abort_and_override_pre_hooks_are_left_out(catalog: Catalog) -> None:
    forwarded_pre = {h for e in catalog.events for h in e.hooks if h.startswith("Pre")}
    assert forwarded_pre == PRE_HOOKS_ALLOWED


def test_every_module_and_registrar_outcome_hook_is_forwarded(catalog: Catalog) -> None:
    wanted = [h for h in WHMCS_HOOKS if h.startswith(("AfterModule", "AfterRegistrar"))]
    assert len(wanted) == 22 + 16
    assert [h for h in wanted if catalog.for_hook(h) is None] == []


@pytest.mark.parametrize(
    "hook",
    [
        "AcceptOrder", "CancelOrder", "FraudOrder", "PendingOrder", "DeleteOrder",
        "CancelAndRefundOrder", "OrderPaid", "AfterShoppingCartCheckout",
        "ShoppingCartCheckoutCompletePage", "FraudCheckPassed", "FraudCheckFailed",
        "FraudCheckAwaitingUserInput", "AfterFraudCheck", "AddonFraud", "DomainTransferCompleted",
        "DomainTransferFailed", "DomainDelete", "DomainEdit", "TopLevelDomainAdd",
        "TopLevelDomainDelete", "ServerAdd", "ServerEdit", "ServerDelete", "ProductEdit",
        "ProductDelete", "AfterProductUpgrade", "TicketOpen", "TicketOpenAdmin",
        "TicketUserReply", "TicketAdminReply", "TicketStatusChange", "TicketClose",
        "TicketDepartmentChange", "TicketPriorityChange", "TicketFlagged", "TicketMerge",
        "TicketSplit", "TicketDelete", "TicketPiping", "TicketAddNote", "NetworkIssueAdd",
        "NetworkIssueClose", "AnnouncementAdd", "UserLogin", "UserLogout", "AdminLogin",
        "AdminLogout", "AdminServiceEdit", "AdminClientFileUpload", "AfterCronJob",
        "DailyCronJob", "DailyCronJobPreEmail", "PopEmailCollectionCronCompleted",
        "PostAutomationTask", "PreAutomationTask", "PreCronJob", "AffiliateActivation",
        "AffiliateClickthru", "AffiliateCommission", "AffiliateWithdrawalRequest", "CCUpdate",
        "EmailPreSend", "EmailPreLog", "LogActivity", "LogTransaction", "CustomFieldSave",
        "PreUpgradeCheckout", "AfterConfigOptionsUpgrade", "FetchCurrencyExchangeRates",
        "ClientAdd", "ClientEdit", "ClientClose", "ClientChangePassword", "UserAdd",
        "UserChangePassword", "ContactAdd", "ContactEdit", "ContactDelete", "InvoicePaid",
        "InvoiceCreated", "InvoiceRefunded", "InvoiceCancelled", "QuoteCreated", "AcceptQuote",
    ],
)  # fmt: skip
def test_the_hooks_the_brief_names_are_forwarded(catalog: Catalog, hook: str) -> None:
    assert catalog.for_hook(hook) is not None


def test_every_cron_hook_is_forwarded(catalog: Catalog) -> None:
    cron = WHMCS_HOOKS[WHMCS_HOOKS.index("AfterCronJob") : WHMCS_HOOKS.index("PreCronJob") + 1]
    assert len(cron) == 7
    assert all(catalog.for_hook(h) for h in cron)


def test_export_hooks_lists_each_forwarded_hook_once(catalog: Catalog) -> None:
    exported = catalog.export_hooks()
    hooks = [row["hook"] for row in exported["hooks"]]
    assert len(hooks) == len(set(hooks))
    assert set(hooks) == {h for e in catalog.events for h in e.hooks}
    assert exported["redaction"]["keys"]


def test_failure_hooks_default_to_error_or_worse(catalog: Catalog) -> None:
    for entry in catalog.hook_kinds:
        if any(h.endswith("Failed") and h != "FraudCheckFailed" for h in entry.hooks):
            assert entry.severity in ("error", "critical"), entry.kind


# --- secrets --------------------------------------------------------------------------------


def test_every_secret_var_of_a_forwarded_hook_is_dropped(catalog: Catalog) -> None:
    leaks = [
        f"{hook}.{var}"
        for hook, secrets in sorted(SENSITIVE_VARS.items())
        if (entry := catalog.for_hook(hook)) is not None
        for var in sorted(secrets)
        if not _covers(var, entry)
    ]
    assert leaks == []


def test_most_hooks_with_secrets_are_forwarded_and_so_are_checked(catalog: Catalog) -> None:
    forwarded = [hook for hook in SENSITIVE_VARS if catalog.for_hook(hook)]
    assert len(forwarded) >= 40


def test_module_params_keep_only_subject_ids(catalog: Catalog) -> None:
    for entry in catalog.hook_kinds:
        if any(h.startswith("AfterModule") for h in entry.hooks) and "params" in SENSITIVE_VARS.get(
            entry.hooks[0], ()
        ):
            assert set(entry.keep["params"]) == MODULE_PARAMS_ALLOWED, entry.kind


def test_registrar_params_keep_only_subject_ids(catalog: Catalog) -> None:
    for entry in catalog.hook_kinds:
        if any(h.startswith("AfterRegistrar") for h in entry.hooks):
            assert set(entry.keep["params"]) == REGISTRAR_PARAMS_ALLOWED, entry.kind


def test_no_keep_list_lets_a_redacted_key_through(catalog: Catalog) -> None:
    redacted = {k.lower() for k in catalog.redaction.keys}
    prefixes = tuple(p.lower() for p in catalog.redaction.key_prefixes)
    for entry in catalog.events:
        for path, keys in entry.keep.items():
            for key in keys:
                assert key.lower() not in redacted, f"{entry.kind}: {path}.{key}"
                assert not key.lower().startswith(prefixes), f"{entry.kind}: {path}.{key}"


def test_summaries_subjects_and_labels_never_read_a_dropped_var(catalog: Catalog) -> None:
    for entry in catalog.events:
        for path, where in _paths(entry).items():
            assert not _covers_sensitive(path, entry), f"{entry.kind} {where} reads {path}"
            root, _, rest = path.partition(".")
            if root in entry.keep:
                key = rest.split(".", 1)[0]
                assert key in entry.keep[root], f"{entry.kind} {where} reads dropped {path}"


def _covers_sensitive(path: str, entry: EventKind) -> bool:
    parts = path.split(".")
    return any(".".join(parts[: i + 1]) in entry.sensitive for i in range(len(parts)))


# --- placeholders, subjects, labels ---------------------------------------------------------


def test_every_summary_parses_as_a_format_string_with_named_placeholders(
    catalog: Catalog,
) -> None:
    for entry in catalog.events:
        for field in _placeholders(entry.summary):
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", field), (
                f"{entry.kind}: placeholder {{{field}}}"
            )


def test_every_forwarded_hook_has_its_vars_recorded_in_the_test_data(catalog: Catalog) -> None:
    forwarded = {h for e in catalog.events for h in e.hooks}
    assert sorted(forwarded - set(HOOK_VARS)) == []


def test_hook_kinds_read_only_vars_their_hooks_receive(catalog: Catalog) -> None:
    for entry in catalog.hook_kinds:
        for hook in entry.hooks:
            for path, where in _paths(entry).items():
                root = path.split(".", 1)[0]
                assert root in HOOK_VARS[hook], f"{entry.kind} {where}: {hook} has no {root!r}"


def test_subject_paths_point_at_ids(catalog: Catalog) -> None:
    for entry in catalog.events:
        for subject, path in entry.subjects.items():
            leaf = path.rsplit(".", 1)[-1].lower()
            assert leaf.endswith("id") or leaf in {"server"}, f"{entry.kind}: {subject} -> {path}"


def test_the_var_spelling_of_each_hook_is_respected() -> None:
    catalog = load_catalog()
    assert catalog.get("order.paid").subjects["order"] == "orderId"
    assert catalog.get("order.placed").subjects["order"] == "OrderID"
    assert catalog.get("domain.transfer_failed").subjects["domain"] == "domainId"
    assert catalog.get("client.added").subjects["client"] == "client_id"
    assert catalog.get("ticket.deleted").subjects["ticket"] == "ticketId"


# --- seed names and aliases -----------------------------------------------------------------


@pytest.mark.parametrize("name", SEED_NAMES)
def test_every_seed_name_resolves_to_a_kind(catalog: Catalog, name: str) -> None:
    assert catalog.resolve(name), f"{name} resolves to nothing"


@pytest.mark.parametrize("name", [n for n in SEED_NAMES if n in WHMCS_HOOKS])
def test_seed_names_that_are_real_hooks_resolve_through_the_hook(
    catalog: Catalog, name: str
) -> None:
    assert catalog.resolve(name) == (catalog.for_hook(name),)


def test_33_seed_names_are_real_hooks() -> None:
    assert len([n for n in SEED_NAMES if n in WHMCS_HOOKS]) == 33


def test_no_alias_is_a_real_whmcs_hook_name(catalog: Catalog) -> None:
    aliases = {a for e in catalog.events for a in e.aliases}
    assert sorted(aliases & set(WHMCS_HOOKS)) == []


def _resolved(catalog: Catalog, name: str) -> set[str]:
    return {e.kind for e in catalog.resolve(name)}


@pytest.mark.parametrize(
    ("seed", "kinds"),
    [
        ("ClientLogin", {"user.login"}),
        ("ClientLoginFailed", {"security.client_login_failed", "activity.logged"}),
        ("AdminLoginFailed", {"security.admin_login_failed"}),
        ("ClientLoginBanned", {"security.ip_banned"}),
        ("TicketDeptChange", {"ticket.department_changed"}),
        ("InvoicePaymentFailed", {"gateway.callback_logged", "gateway.failure"}),
        ("DomainRegisterCompleted", {"registrar.registered", "registrar.register_called"}),
        ("DomainRegisterFailed", {"registrar.registration_failed"}),
        ("DomainRenewalCompleted", {"registrar.renewed", "registrar.renew_called"}),
        ("DomainRenewalFailed", {"registrar.renewal_failed"}),
        ("DomainExpiring", {"domain.expiring"}),
        ("OverdueInvoiceNotice", {"invoice.payment_reminder_sent", "invoice.overdue"}),
        ("QuoteAccepted", {"quote.accepted", "quote.status_changed", "quote.accepted_recorded"}),
        ("AffiliateSignup", {"affiliate.activated"}),
        ("PromoCodeUsed", {"promotion.code_used", "promotion.max_uses_reached"}),
        ("EmailSent", {"email.sending", "email.logged"}),
        ("EmailFailed", {"email.send_failed"}),
        ("EmailBounce", {"email.bounced"}),
        ("TwoFactorAuthFailed", {"security.two_factor_failed"}),
        ("LicenseCheckFailed", {"system.license_invalid"}),
        ("PostCronJob", {"cron.run_completed", "cron.daily_completed"}),
        ("PHPError", {"system.error_logged"}),
        ("PHP Error Handler", {"system.error_logged"}),
    ],
)
def test_audit_names_resolve_to_the_signal_the_reference_maps_them_to(
    catalog: Catalog, seed: str, kinds: set[str]
) -> None:
    assert _resolved(catalog, seed) == kinds


def test_order_status_change_resolves_to_every_order_status_signal(catalog: Catalog) -> None:
    assert _resolved(catalog, "OrderStatusChange") == {
        "order.accepted", "order.cancelled", "order.cancelled_and_refunded", "order.marked_fraud",
        "order.set_pending", "order.deleted", "order.status_changed",
    }  # fmt: skip


def test_module_command_error_resolves_to_every_module_failure(catalog: Catalog) -> None:
    failed = {
        e.kind
        for e in catalog.hook_kinds
        if any(h.startswith("AfterModule") and h.endswith("Failed") for h in e.hooks)
    }
    assert len(failed) == 11
    assert _resolved(catalog, "AfterModuleCommandError") == failed | {
        "module.command_failed_logged",
        "module.queue_item_stuck",
    }


def test_upgrades_and_downgrades_resolve_to_the_same_hooks_and_their_own_rows(
    catalog: Catalog,
) -> None:
    shared = {
        "service.product_upgraded", "service.config_options_upgraded", "service.upgrade_checkout",
        "module.package_changed", "module.change_package_failed", "addon.upgraded",
    }  # fmt: skip
    assert _resolved(catalog, "ServiceUpgrade") == shared | {"service.upgrade_recorded"}
    assert _resolved(catalog, "ServiceDowngrade") == shared | {"service.downgrade_recorded"}


def test_cron_job_error_resolves_to_the_task_result_and_the_automation_status(
    catalog: Catalog,
) -> None:
    assert _resolved(catalog, "CronJobError") == {
        "cron.task_completed", "cron.not_running", "cron.daily_not_run", "cron.daily_incomplete",
        "cron.task_overdue", "cron.task_stuck",
    }  # fmt: skip


def test_signals_without_any_whmcs_source_say_so_honestly(catalog: Catalog) -> None:
    assert "does not process bounces" in catalog.get("email.bounced").description
    assert "no hook" in catalog.get("security.two_factor_failed").description.lower()


# --- derived kinds --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "source", "table"),
    [
        ("security.client_login_failed", "poll", "tblactivitylog"),
        ("security.admin_login_failed", "poll", "tblactivitylog"),
        ("security.ip_banned", "poll", "tblbannedips"),
        ("security.password_reset_requested", "poll", "tblactivitylog"),
        ("email.send_failed", "poll", "tblemails"),
        ("email.queue_stuck", "poll", "tblemails"),
        ("gateway.failure", "poll", "tblgatewaylog"),
        ("module.command_failed_logged", "poll", "tblactivitylog"),
        ("module.queue_item_stuck", "poll", "tblmodulequeue"),
        ("system.error_logged", "poll", "tblerrorlog"),
        ("cron.not_running", "poll", "tblconfiguration"),
        ("cron.daily_not_run", "poll", "tblconfiguration"),
        ("cron.daily_incomplete", "poll", "tblconfiguration"),
        ("cron.task_overdue", "poll", "tbltask_status"),
        ("cron.task_stuck", "poll", "tbltask_status"),
        ("invoice.overdue", "poll", "tblinvoices"),
        ("domain.expiring", "poll", "tbldomains"),
        ("domain.entered_grace", "poll", "tbldomains"),
        ("domain.entered_redemption", "poll", "tbldomains"),
        ("domain.expired", "poll", "tbldomains"),
        ("domain.transfer_pending_too_long", "poll", "tbldomains"),
        ("promotion.code_used", "poll", "tblorders"),
        ("service.upgrade_recorded", "poll", "tblupgrades"),
        ("service.downgrade_recorded", "poll", "tblupgrades"),
        ("quote.accepted_recorded", "poll", "tblquotes"),
        ("order.status_changed", "poll", "tblorders"),
        ("service.cancellation_request_recorded", "poll", "tblcancelrequests"),
        ("forwarder.silent", "poll", "tblinvoices"),
        ("system.update_available", "poll", "tblconfiguration"),
        ("system.database_unreachable", "poll", None),
        ("system.license_invalid", "poll", None),
        ("system.health_danger", "poll", None),
        ("system.health_warning", "poll", None),
        ("check.down", "check", None),
        ("check.up", "check", None),
        ("check.degraded", "check", None),
        ("tls.certificate_expiring", "check", None),
        ("heartbeat.missed", "check", None),
        ("host.disk_high", "check", None),
        ("mysql.check_failed", "check", None),
        ("dependency.smtp_down", "check", None),
        ("dns.mismatch", "check", None),
        ("file.web_shell_suspected", "files", None),
        ("backup.stale", "files", None),
        ("business.revenue_anomaly", "analytics", None),
        ("business.capacity_forecast", "analytics", None),
        ("security.ingest_auth_failed", "monitor", None),
        ("forwarder.heartbeat", "monitor", None),
        ("forwarder.spool_dropped", "monitor", None),
    ],
)
def test_derived_kinds_are_named_with_their_source_and_table(
    catalog: Catalog, kind: str, source: str, table: str | None
) -> None:
    entry = catalog.get(kind)
    assert (entry.source, entry.table) == (source, table)


def test_the_ingest_auth_failure_is_a_security_event(catalog: Catalog) -> None:
    assert catalog.get("security.ingest_auth_failed").category == "security"
