"""Business analytics: KPIs from the WHMCS database, seasonal baselines, anomalies and forecasts.

Data flows one way: ``kpis`` read WHMCS (read-only) → ``refresh`` records metric samples and runs
``anomaly`` detectors against ``baseline`` statistics → anomaly events go to the store;
``forecast`` and ``report`` sit on top for the CLI and the API.
"""
