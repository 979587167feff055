"""OneTrip (最多跑一次): the Chalice application. It only wires blueprints; see chalicelib/."""

from chalicelib.collector import paused_then_frozen

# Everything below lives as long as the sandbox: see chalicelib/collector.py.
with paused_then_frozen():
    from chalice import Chalice

    from chalicelib.entrypoints.api_admin_stats import admin_stats
    from chalicelib.entrypoints.api_applications import applications
    from chalicelib.entrypoints.api_audit import audit_api
    from chalicelib.entrypoints.api_case_events import case_events
    from chalicelib.entrypoints.api_cases import cases
    from chalicelib.entrypoints.api_certificates import certificates_api
    from chalicelib.entrypoints.api_deliveries import deliveries_api
    from chalicelib.entrypoints.api_departments import departments
    from chalicelib.entrypoints.api_enterprises import enterprises
    from chalicelib.entrypoints.api_events import events_api
    from chalicelib.entrypoints.api_items import items
    from chalicelib.entrypoints.api_me import me
    from chalicelib.entrypoints.api_meta import meta
    from chalicelib.entrypoints.api_tasks import tasks
    from chalicelib.entrypoints.api_vault import vault_api
    from chalicelib.entrypoints.auth import auth
    from chalicelib.entrypoints.http import fresh_log_context, uniform_errors
    from chalicelib.entrypoints.on_deadline_sweep import deadline_sweep
    from chalicelib.entrypoints.on_delivery import deliveries
    from chalicelib.entrypoints.on_retry_sweep import retry_sweep
    from chalicelib.entrypoints.on_stream import stream
    from chalicelib.entrypoints.on_upload import uploads
    from chalicelib.entrypoints.telemetry import correlate

    app = Chalice(app_name="onetrip", configure_logs=False)
    app.api.cors = False

    for blueprint in (auth, items, applications, tasks, me, enterprises, meta, uploads, stream, deliveries,
                      departments, deliveries_api, events_api, retry_sweep, cases, deadline_sweep,
                      admin_stats, audit_api, case_events, vault_api, certificates_api):
        app.register_blueprint(blueprint)

    app.register_middleware(fresh_log_context, "all")
    app.register_middleware(correlate, "all")  # after the clear: ids, then the metrics flush
    app.register_middleware(uniform_errors, "http")
