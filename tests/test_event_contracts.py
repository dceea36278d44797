"""Event classes are stored contracts: old shapes must still load, and topics must not move."""

from __future__ import annotations

import dataclasses
import uuid

from tests.world import build_world
from tracker.application import TrackerApplication
from tracker.ecosystem import Ecosystem
from tracker.innovation import Innovation
from tracker.organisation import Organisation


def test_submitted_event_stored_as_version_1_is_read_by_current_code(app: TrackerApplication) -> None:
    world = build_world(app)
    template = app.mapper.to_stored_event(
        Innovation.Submitted(
            originator_id=world.owner,  # replaced below; only the shape matters
            originator_version=1,
            timestamp=app.clock(),
            originator_topic="tracker.innovation:Innovation",
            actor_id="provider-1",
            actor_role="provider",
            actor_key=None,
            correlation_id=None,
            title="Legacy innovation",
            summary="Recorded before target groups existed",
            themes=["legacy"],
            target_groups=["ignored"],
            organisation_id=world.owner,
            ecosystem_id=None,
            readiness_level=None,
        )
    )
    state = app.mapper.transcoder.decode(template.state)
    assert state.pop("class_version") == 2
    del state["target_groups"]  # exactly what a version 1 event held
    del state["actor_key"]  # events stored before keys belonged to people have none
    legacy_id = uuid.uuid4()
    legacy = dataclasses.replace(template, originator_id=legacy_id, state=app.mapper.transcoder.encode(state))
    app.recorder.insert_events([legacy])

    innovation = app.get_innovation(legacy_id)
    assert (innovation.title, innovation.target_groups, innovation.stage) == ("Legacy innovation", [], "identification")
    assert app.history(legacy_id)[0].data["target_groups"] == []
    assert app.history(legacy_id)[0].actor_key is None


def test_event_topics_are_the_stored_contract() -> None:
    """Renaming or moving an event class breaks every stored event; this list may only grow."""
    topics = {
        f"{cls.__module__}:{cls.__qualname__}"
        for agg in (Organisation, Ecosystem, Innovation)
        for cls in vars(agg).values()
        if isinstance(cls, type) and issubclass(cls, agg.Event) and cls.__name__ not in ("Event", "Created")
    }
    assert topics >= {
        "tracker.organisation:Organisation.Registered",
        "tracker.ecosystem:Ecosystem.Registered",
        "tracker.ecosystem:Ecosystem.MemberJoined",
        "tracker.innovation:Innovation.Submitted",
        "tracker.innovation:Innovation.DetailsRevised",
        "tracker.innovation:Innovation.PilotStarted",
        "tracker.innovation:Innovation.PilotOutcomeRecorded",
        "tracker.innovation:Innovation.EvidenceAdded",
        "tracker.innovation:Innovation.AssessmentRecorded",
        "tracker.innovation:Innovation.Advanced",
        "tracker.innovation:Innovation.PutOnHold",
        "tracker.innovation:Innovation.Resumed",
        "tracker.innovation:Innovation.Recycled",
        "tracker.innovation:Innovation.Discontinued",
        "tracker.innovation:Innovation.AdoptionRecorded",
    }
