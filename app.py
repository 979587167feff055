"""OneTrip (最多跑一次): the Chalice application. It only wires blueprints; see chalicelib/."""

from chalice import Chalice

from chalicelib.entrypoints.api_applications import applications
from chalicelib.entrypoints.api_items import items
from chalicelib.entrypoints.api_meta import meta
from chalicelib.entrypoints.api_tasks import tasks
from chalicelib.entrypoints.auth import auth
from chalicelib.entrypoints.http import fresh_log_context, uniform_errors
from chalicelib.entrypoints.on_delivery import deliveries
from chalicelib.entrypoints.on_stream import stream
from chalicelib.entrypoints.on_upload import uploads

app = Chalice(app_name="onetrip", configure_logs=False)
app.api.cors = False

for blueprint in (auth, items, applications, tasks, meta, uploads, stream, deliveries):
    app.register_blueprint(blueprint)

app.register_middleware(fresh_log_context, "all")
app.register_middleware(uniform_errors, "http")
