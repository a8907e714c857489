"""The sandbox in a container, driven from Python: create a session, play the user, receive the
signed webhooks and check what they claim."""

import time

IDENTIFY_THEN_AGE = {
    "steps": [
        {"primitive": "identify", "params": {"blocks": ["first_name", "last_name", "dob"]}},
        {"primitive": "age_verify", "params": {"min_age": 21}},
    ],
    "client_reference_id": "order_4815",
}


def create(api, body):
    r = api.post("/v1/sessions", body)
    assert r.status_code == 200, r.text
    session = r.json()
    assert session["status"] == "created"
    assert session["url"].endswith(f"/s/{session['id']}")
    return session["id"]


def simulate(api, session_id, **user):
    r = api.post(f"/_sandbox/sessions/{session_id}/simulate", user)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_adult_is_identified_and_passes_the_age_check(api, receiver):
    sid = create(api, IDENTIFY_THEN_AGE)
    assert simulate(api, sid, persona="jane-doe")["status"] == "completed"

    events = receiver.wait_for(sid, 3)
    assert [e["event"] for e in events] == ["step.completed", "step.completed", "session.completed"]
    assert [e["delivery_id"] for e in events] == [
        f"{sid}:step.completed:0", f"{sid}:step.completed:1", f"{sid}:session.completed",
    ]
    identify, age, done = (e["data"] for e in events)
    assert identify["primitive"] == "identify"
    assert identify["claims"] == {"first_name": "Jane", "last_name": "Doe", "dob": "1990-04-01"}
    assert identify["client_reference_id"] == "order_4815"
    assert (age["stage"], age["primitive"], age["satisfied"], age["min_age"]) == (1, "age_verify", True, 21)
    assert done["status"] == "completed"
    assert api.get(f"/v1/sessions/{sid}").json()["status"] == "completed"


def test_a_minor_completes_but_does_not_satisfy_the_age_check(api, receiver):
    sid = create(api, {"steps": [{"primitive": "age_verify", "params": {"min_age": 18}}]})
    simulate(api, sid, persona="minor")

    step, done = receiver.wait_for(sid, 2)
    assert (step["event"], step["data"]["satisfied"], step["data"]["min_age"]) == ("step.completed", False, 18)
    assert "dob" not in step["data"]  # an age check never discloses the birth date
    assert done["event"] == "session.completed"


def test_a_tampered_credential_fails_the_session(api, receiver):
    sid = create(api, IDENTIFY_THEN_AGE)
    assert simulate(api, sid, persona="tampered")["status"] == "failed"

    (failed,) = receiver.wait_for(sid, 1)
    assert failed["event"] == "session.failed"
    assert failed["data"]["status"] == "failed"
    assert failed["data"]["reason"] == "integrity_check_failed"


def test_the_receiver_rejects_forged_and_stale_deliveries(api, receiver):
    sid = create(api, {"steps": [{"primitive": "age_verify"}]})
    simulate(api, sid)
    receiver.wait_for(sid, 2)
    delivery_id = f"{sid}:session.completed"

    for n, fault in enumerate(["bad_signature", "stale_timestamp"], start=1):
        rejected = receiver.rejected
        r = api.post(f"/_sandbox/deliveries/{delivery_id}/redeliver", {"fault": fault})
        assert r.status_code == 200, r.text
        receiver.wait_rejected(rejected + 1)
        # The sandbox retries the refused attempt, correctly signed: the receiver acknowledges it
        # and keeps one event per delivery id.
        entry = wait_delivered(api, sid, delivery_id, attempts=1 + 2 * n)
        assert [a.get("status_code") for a in entry["attempts"]] == [204] + [401, 204] * n
    assert [e["event"] for e in receiver.wait_for(sid, 2)] == ["step.completed", "session.completed"]
    assert len([e for e in receiver.events if e["data"]["session_id"] == sid]) == 2


def wait_delivered(api, session_id, delivery_id, attempts, timeout=30):
    """The delivery log entry once it is delivered after at least `attempts` attempts."""
    deadline = time.monotonic() + timeout
    while True:
        log = api.get("/_sandbox/deliveries", session_id=session_id).json()["deliveries"]
        entry = next(d for d in log if d["delivery_id"] == delivery_id)
        if entry["status"] == "delivered" and len(entry["attempts"]) >= attempts:
            return entry
        assert time.monotonic() < deadline, entry
        time.sleep(0.1)
