"""A short admin flow through the client openapi-python-client generated
from docs/openapi.json (tests/e2e/contract.rs runs it against a real server).

Environment: TOLLGATE_URL, TOLLGATE_ADMIN_TOKEN, TOLLGATE_APPLICATION_ID and
TOLLGATE_API_KEY (the platform's headers), TOLLGATE_PLUGIN (a compiled min-max
plugin), TOLLGATE_FIXTURE (a fixture of it), TOLLGATE_SERVICE (a
Subscriptions/Create body), TOLLGATE_OPERATIONS (every operationId of the
document).
"""

import importlib
import io
import json
import os
import pkgutil

import tollgate_client.api
from tollgate_client import AuthenticatedClient
from tollgate_client.api.bindings import get_binding, put_binding
from tollgate_client.api.decision_log import dry_run, get_invocation, list_invocations
from tollgate_client.api.plugins import list_plugins, plugin_versions, upload_plugin
from tollgate_client.api.subscriptions_and_add_ons import subscriptions_create
from tollgate_client.models import BindingRequest, DryRunRequest, Hook, InputDoc, ServiceDefinition
from tollgate_client.types import File


def generated_operations():
    """Every operation module the generator wrote."""
    found = set()
    for tag in pkgutil.iter_modules(tollgate_client.api.__path__):
        package = importlib.import_module(f"tollgate_client.api.{tag.name}")
        for module in pkgutil.iter_modules(package.__path__):
            found.add(module.name)
    return found


def main():
    expected = set(os.environ["TOLLGATE_OPERATIONS"].split(","))
    missing = expected - generated_operations()
    assert not missing, f"operations without a generated function: {sorted(missing)}"

    client = AuthenticatedClient(base_url=os.environ["TOLLGATE_URL"], token=os.environ["TOLLGATE_ADMIN_TOKEN"])
    with open(os.environ["TOLLGATE_PLUGIN"], "rb") as f:
        wasm = f.read()

    # Upload: 201 and a typed answer.
    r = upload_plugin.sync_detailed(client=client, name="min-max", body=File(payload=io.BytesIO(wasm), file_name="min_max.wasm", mime_type="application/wasm"))
    assert r.status_code == 201, (r.status_code, r.content)
    uploaded = r.parsed
    assert uploaded.name == "min-max" and uploaded.created is True, uploaded
    assert uploaded.hook.value == "quantity-limits", uploaded.hook
    version = uploaded.version

    plugins = list_plugins.sync(client=client)
    assert [p.name for p in plugins] == ["min-max"], plugins
    versions = plugin_versions.sync(name="min-max", client=client)
    assert versions[0].version == version and versions[0].bound_by == [], versions

    # Bind with a config; read it back with its history.
    config = {"default": {"min": 1}, "products": {"cb_basic": {"min": 3, "max": 50, "step": 1}}}
    body = BindingRequest.from_dict({"plugin": "min-max", "config": config})
    bound = put_binding.sync(hook=Hook.QUANTITY_LIMITS, binding="min-max", client=client, body=body)
    assert bound.version == version and bound.revision >= 1, bound
    binding = get_binding.sync(hook=Hook.QUANTITY_LIMITS, binding="min-max", client=client)
    assert binding.history[0].action.value == "activate", binding.history
    assert plugin_versions.sync(name="min-max", client=client)[0].bound_by == ["quantity-limits/min-max"]

    # A refusal is a typed problem.
    r = get_binding.sync_detailed(hook=Hook.QUANTITY_LIMITS, binding="absent", client=client)
    assert r.status_code == 404 and r.parsed.title == "Not found", (r.status_code, r.content)

    # Dry run of the fixture's input: the plugin answers the limits.
    fixture = json.load(open(os.environ["TOLLGATE_FIXTURE"]))
    request = DryRunRequest(plugin="min-max", input_=InputDoc.from_dict(fixture["input"]))
    result = dry_run.sync(client=client, body=request)
    assert result.version == version, result
    assert result.output.to_dict() == fixture["expect"], result.output.to_dict()

    # A platform call in check mode through the generated client runs the
    # binding: quantity 2 is below the minimum of 3 (Code -105).
    platform = AuthenticatedClient(
        base_url=os.environ["TOLLGATE_URL"],
        token=os.environ["TOLLGATE_API_KEY"],
        prefix="",
        auth_header_name="X-CloudPlatform-APIKey",
        headers={"X-CloudPlatform-ApplicationId": os.environ["TOLLGATE_APPLICATION_ID"]},
    )
    service = ServiceDefinition.from_dict(json.loads(os.environ["TOLLGATE_SERVICE"]))
    answer = subscriptions_create.sync(client=platform, body=service, checkonly=True)
    assert answer.code == -105, answer

    # The decision log holds that decision, readable one by one.
    log = list_invocations.sync(client=client, binding="min-max", limit=10)
    assert len(log) == 1 and log[0].outcome == "limits", log
    one = get_invocation.sync(id=log[0].id, client=client)
    assert one.id == log[0].id and one.fixture["expect"] == {"limits": {"min": 3, "max": 50, "step": 1}}, one

    print("admin flow passed")


if __name__ == "__main__":
    main()
