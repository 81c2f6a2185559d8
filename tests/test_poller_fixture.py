"""The shared WHMCS database fixture: real schema, zero dates, and a user that can only read."""

from __future__ import annotations

import pymysql
import pytest

from whmcs_db import WhmcsDb


def _ro_connect(whmcs_db: WhmcsDb) -> pymysql.connections.Connection:  # type: ignore[type-arg]
    return pymysql.connect(
        host=whmcs_db.config.host,
        port=whmcs_db.config.port,
        user=whmcs_db.user,
        password=whmcs_db.password,
        database=whmcs_db.name,
    )


def test_fixture_accepts_rows_with_whmcs_zero_dates(whmcs_db: WhmcsDb) -> None:
    row_id = whmcs_db.insert(
        "tblinvoices",
        userid=1,
        invoicenum="",
        status="Unpaid",
        paymentmethod="paypal",
        notes="",
        datepaid="0000-00-00 00:00:00",
    )
    with whmcs_db.admin.cursor() as cur:
        cur.execute("SELECT CAST(datepaid AS CHAR) FROM tblinvoices WHERE id=%s", (row_id,))
        assert cur.fetchone() == ("0000-00-00 00:00:00",)


def test_activity_log_has_no_date_index_like_whmcs_8_4(whmcs_db: WhmcsDb) -> None:
    with whmcs_db.admin.cursor() as cur:
        cur.execute("SHOW INDEX FROM tblactivitylog")
        columns = {row[4] for row in cur.fetchall()}
    assert columns == {"id", "userid", "user_id", "admin_id"}


def test_read_only_user_cannot_write_or_read_secrets(whmcs_db: WhmcsDb) -> None:
    whmcs_db.insert(
        "tblclients",
        firstname="A",
        lastname="B",
        companyname="",
        email="a@b.c",
        country="NL",
        password="$2y$hash",
        authmodule="",
        authdata="totp-seed",
        datecreated="2024-01-01",
        securityqans="",
        cardnum=b"",
        bankacct=b"",
        ip="",
        host="",
        pwresetkey="",
    )
    conn = _ro_connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("SELECT id, description FROM tblactivitylog")
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("SELECT password FROM tblclients")
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("INSERT INTO tblbannedips (ip, reason, expires) VALUES ('1','x',NOW())")
    conn.close()
