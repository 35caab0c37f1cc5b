import pytest

from incidents import services
from tests.factories import make_component, make_incident


@pytest.mark.django_db
def test_it_opens_and_resolves():
    api = make_component("API")
    incident = make_incident(components={api: "major_outage"})
    api.refresh_from_db()
    assert api.status == "major_outage"
    services.incident_resolve(incident=incident, body="Fixed.")
    api.refresh_from_db()
    assert api.status == "operational"
    assert api.status_changes.count() == 2
