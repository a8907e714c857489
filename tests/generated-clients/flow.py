"""A short flow against a running sandbox with the Python client generated from its /openapi.json.

Run by .ci/generated-clients.sh: `python3 flow.py <base_url> <api_key>` with the generated package
`uip_sandbox_client` on the path. Every answer is parsed by the generated models; any mismatch
between the document and the wire fails with an assertion or an exception.

It creates sessions and drives them (simulate, continue, stop, a failing credential, expiry), reads a session,
an audit record and a 404 (parsed as ApiErrorBody), then parses every webhook body the sandbox
sent with the generated event models: all five documented events must have been seen.
"""

import json
import sys
import time

from uip_sandbox_client import AuthenticatedClient
from uip_sandbox_client.api.business_api import (
    continue_session,
    create_session,
    get_audit,
    get_session,
    stop_session,
)
from uip_sandbox_client.api.sandbox_control import advance_clock, list_deliveries, simulate_session
from uip_sandbox_client.models import (
    AgeVerifyParams,
    AgeVerifyProof,
    AgeVerifyStep,
    AgeVerifyStepPrimitive,
    ApiErrorBody,
    AuditRecord,
    ClockAdvance,
    CreatedSession,
    CreateSessionRequest,
    DecisionResponse,
    DeliveryLog,
    IdentifyParams,
    IdentifyProof,
    IdentifyStep,
    IdentifyStepPrimitive,
    LightSignParams,
    LightSignStep,
    LightSignStepPrimitive,
    SessionCompletedEvent,
    SessionExpiredEvent,
    SessionFailedEvent,
    SessionStoppedEvent,
    SessionView,
    SimulateAction,
    SimulateBody,
    SimulateBodyPersonaType0,
    StepCompletedEvent,
)

# The generated model of each documented webhook event (the document's `webhooks`).
EVENT_MODELS = {
    "step.completed": StepCompletedEvent,
    "session.completed": SessionCompletedEvent,
    "session.stopped": SessionStoppedEvent,
    "session.failed": SessionFailedEvent,
    "session.expired": SessionExpiredEvent,
}
TERMINAL = {"session.completed", "session.stopped", "session.failed", "session.expired"}


def expect(value, model, what):
    assert isinstance(value, model), f"{what}: expected {model.__name__}, got {value!r}"
    return value


def create(client, steps, **extra):
    created = create_session.sync(client=client, body=CreateSessionRequest(steps=steps, **extra))
    return expect(created, CreatedSession, "create").id


def simulate(client, session_id, **kwargs):
    return expect(
        simulate_session.sync(session_id, client=client, body=SimulateBody(**kwargs)),
        SessionView,
        "simulate",
    )


def webhook_bodies(client, session_id):
    """The bodies of a session's deliveries, once its terminal event was delivered (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        log = expect(list_deliveries.sync(client=client, session_id=session_id), DeliveryLog, "deliveries")
        done = [d for d in log.deliveries if d.event in TERMINAL and d.status.value == "delivered"]
        if done:
            return [d.body for d in log.deliveries]
        assert time.monotonic() < deadline, f"{session_id}: no terminal event delivered: {log.to_dict()}"
        time.sleep(0.2)


def main(base_url, api_key):
    client = AuthenticatedClient(base_url=base_url, token=api_key, raise_on_unexpected_status=True)
    sessions = []

    # 1. identify (gate) then light_sign: simulate, continue, simulate again, read.
    completed = create(
        client,
        [
            IdentifyStep(
                primitive=IdentifyStepPrimitive.IDENTIFY,
                params=IdentifyParams(blocks=["first_name", "last_name"]),
                gate=True,
            ),
            LightSignStep(primitive=LightSignStepPrimitive.LIGHT_SIGN, params=LightSignParams(terms="I agree.")),
        ],
        client_reference_id="generated-python-client",
    )
    sessions.append(completed)
    view = simulate(client, completed)
    assert view.status == "awaiting_decision", view.to_dict()
    decision = expect(continue_session.sync(completed, client=client), DecisionResponse, "continue")
    assert decision.status == "in_progress", decision.to_dict()
    simulate(client, completed)
    view = expect(get_session.sync(completed, client=client), SessionView, "get")
    assert view.status == "completed", view.to_dict()
    assert view.client_reference_id == "generated-python-client"

    # The audit record of the identify step, with its proof parsed as the identify shape.
    audit = expect(get_audit.sync(f"{completed}_0", client=client), AuditRecord, "audit")
    expect(audit.proof, IdentifyProof, "identify proof")
    assert audit.session_id == completed and audit.stage == 0

    # 2. age_verify (gate), then stop.
    stopped = create(
        client,
        [AgeVerifyStep(primitive=AgeVerifyStepPrimitive.AGE_VERIFY, params=AgeVerifyParams(min_age=21), gate=True)]
        + [IdentifyStep(primitive=IdentifyStepPrimitive.IDENTIFY)],
    )
    sessions.append(stopped)
    simulate(client, stopped)
    expect(stop_session.sync(stopped, client=client), DecisionResponse, "stop")
    audit = expect(get_audit.sync(f"{stopped}_0", client=client), AuditRecord, "audit")
    expect(audit.proof, AgeVerifyProof, "age_verify proof")

    # 3. An expired credential: session.failed.
    failed = create(client, [IdentifyStep(primitive=IdentifyStepPrimitive.IDENTIFY)])
    sessions.append(failed)
    view = simulate(client, failed, persona=SimulateBodyPersonaType0.EXPIRED_CREDENTIAL, action=SimulateAction.SHARE)
    assert view.status == "failed", view.to_dict()

    # 4. The session's TTL passes on this business's clock: session.expired.
    expired = create(client, [IdentifyStep(primitive=IdentifyStepPrimitive.IDENTIFY)], expires_in=60)
    sessions.append(expired)
    advance_clock.sync(client=client, body=ClockAdvance(seconds=120))
    view = expect(get_session.sync(expired, client=client), SessionView, "get expired")
    assert view.status == "expired", view.to_dict()

    # 5. An unknown session: 404 parsed as the error model.
    response = get_session.sync_detailed("sess_000000000000000000000000", client=client)
    assert response.status_code == 404, response
    error = expect(response.parsed, ApiErrorBody, "404")
    assert error.code == "resource/not-found", error.to_dict()

    # 6. Every webhook body sent, parsed with the generated model of its event.
    seen = set()
    for session_id in sessions:
        for body in webhook_bodies(client, session_id):
            raw = json.loads(body)
            model = EVENT_MODELS[raw["event"]]
            event = model.from_dict(raw)
            assert event.event.value == raw["event"]
            assert event.data.session_id == session_id
            assert event.to_dict() == raw, f"{raw['event']}: {event.to_dict()} != {raw}"
            seen.add(raw["event"])
    assert seen == set(EVENT_MODELS), f"events seen: {sorted(seen)}"
    print(f"generated Python client: flow ok, parsed {sorted(seen)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
