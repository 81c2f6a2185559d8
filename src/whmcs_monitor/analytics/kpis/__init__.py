"""KPI families read from the WHMCS database, one module each; every SQL statement is its definition.

Each family exposes ``measure(conn, ctx) -> list[Measure]``. Only non-secret columns are selected
(never passwords, card or bank data, gateway or registrar settings, raw gateway callbacks).
"""
