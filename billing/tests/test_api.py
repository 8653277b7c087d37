from datetime import date

import pytest
from django.db import connection

from billing import services
from billing.models import Invoice
from billing.tests.factories import AFTER_MARCH, booking

MARCH = date(2025, 3, 1)
B = "/api/v1"


@pytest.fixture
def drafts(in_tenant, after_march):
    """Alpha: a March draft for the member (40.00) and one for the admin (25.00)."""
    booking(in_tenant.member, day=3, price="40.00")
    booking(in_tenant.admin, day=4, price="25.00")
    result = services.invoices_generate(month=MARCH, now=AFTER_MARCH)
    connection.set_schema_to_public()
    return {invoice.user_id: invoice for invoice in result.created}


def test_a_member_lists_only_their_own_invoices_and_managers_list_everyone(org, drafts, api_client):
    mine = api_client(org, org.member).get(f"{B}/invoices")
    everyone = api_client(org, org.admin).get(f"{B}/invoices")
    filtered = api_client(org, org.owner).get(f"{B}/invoices", {"user": org.member.pk, "month": "2025-03"})
    ignored = api_client(org, org.member).get(f"{B}/invoices", {"user": org.admin.pk})

    assert mine.status_code == 200
    assert [row["user"] for row in mine.json()["results"]] == [org.member.pk]
    assert mine.json()["results"][0]["total"] == "40.00" and mine.json()["results"][0]["month"] == "2025-03"
    assert {row["user"] for row in everyone.json()["results"]} == {org.member.pk, org.admin.pk}
    assert [row["user"] for row in filtered.json()["results"]] == [org.member.pk]
    assert [row["user"] for row in ignored.json()["results"]] == [org.member.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "open"}, "status"),
        ({"status": ""}, "status"),
        ({"month": ""}, "month"),
        ({"month": "0842-04"}, "month"),
        ({"user": ""}, "user"),
        ({"month": "2025-13"}, "month"),
        ({"month": "March"}, "month"),
        ({"user": "me"}, "user"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_list_parameters_are_400s_that_name_them(org, drafts, api_client, params, field):
    response = api_client(org, org.admin).get(f"{B}/invoices", params)

    assert response.status_code == 400
    assert field in response.json()


def test_an_invoice_is_json_pdf_or_csv_for_its_booker(org, drafts, api_client):
    invoice = drafts[org.member.pk]
    client = api_client(org, org.member)

    detail = client.get(f"{B}/invoices/{invoice.pk}")
    pdf = client.get(f"{B}/invoices/{invoice.pk}", {"format": "pdf"})
    csv = client.get(f"{B}/invoices/{invoice.pk}", {"format": "csv"})

    assert detail.status_code == 200
    assert [line["amount"] for line in detail.json()["lines"]] == ["40.00"]
    assert detail.json()["seller_name"] == "Alpha"
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert "Total" in csv.content.decode() and "40.00" in csv.content.decode()


def test_someone_elses_invoice_is_not_found_for_a_member_and_errors_stay_json(org, drafts, api_client):
    theirs = drafts[org.admin.pk]

    response = api_client(org, org.member).get(f"{B}/invoices/{theirs.pk}", {"format": "pdf"})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("value", ["", "xml"])
def test_an_unknown_or_empty_format_is_a_4xx(org, drafts, api_client, value):
    response = api_client(org, org.member).get(f"{B}/invoices/{drafts[org.member.pk].pk}", {"format": value})

    assert response.status_code in (400, 404)
    assert response["Content-Type"] == "application/json"


def test_another_organization_sees_none_of_these_invoices(org, other_org, drafts, api_client):
    invoice = drafts[org.member.pk]
    beta = api_client(other_org, other_org.owner)

    assert beta.get(f"{B}/invoices").json()["results"] == []
    assert beta.get(f"{B}/invoices/{invoice.pk}").status_code == 404
    assert beta.post(f"{B}/invoices/{invoice.pk}/issue").status_code == 404
    alpha_token_on_beta = api_client(org, org.owner)
    alpha_token_on_beta.defaults["HTTP_HOST"] = other_org.host
    assert alpha_token_on_beta.get(f"{B}/invoices").status_code == 401
    connection.set_tenant(org.organization)
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.DRAFT


def test_generate_makes_drafts_once_and_reports_what_it_made(in_tenant, after_march, api_client):
    booking(in_tenant.member, day=3)
    connection.set_schema_to_public()
    client = api_client(in_tenant, in_tenant.owner)

    first = client.post(f"{B}/invoices/generate", {"month": "2025-03"}, format="json")
    again = client.post(f"{B}/invoices/generate", {"month": "2025-03", "user": in_tenant.member.pk}, format="json")

    assert first.status_code == 200 and first.json()["created"] == 1
    assert again.status_code == 200 and again.json()["created"] == 0
    assert [row["id"] for row in again.json()["invoices"]] == [row["id"] for row in first.json()["invoices"]]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "month", None),
        ({"month": "2025-13"}, "month", "invalid"),
        ({"month": "2025-03-01"}, "month", "invalid"),
        ({"month": "2025-04"}, "month", "month_not_over"),
        ({"month": "0842-04"}, "month", None),
        ({"month": "2025-03", "user": 999999}, "user", "not_a_member"),
        ({"month": "2025-03", "user": "me"}, "user", None),
        ({"month": "2025-03", "status": "issued"}, "status", None),
    ],
)
def test_bad_generate_bodies_are_400s_naming_the_field(org, after_march, api_client, body, field, code):
    response = api_client(org, org.owner).post(f"{B}/invoices/generate", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    if code:
        assert response.json()["code"] == code
    connection.set_tenant(org.organization)
    assert not Invoice.objects.exists()


def test_only_owners_and_admins_generate_issue_pay_void_and_see_billing_settings(org, drafts, api_client):
    client = api_client(org, org.member)
    invoice = drafts[org.member.pk]

    for path, body in (
        ("invoices/generate", {"month": "2025-03"}),
        (f"invoices/{invoice.pk}/issue", None),
        (f"invoices/{invoice.pk}/mark-paid", {}),
        (f"invoices/{invoice.pk}/void", {}),
    ):
        assert client.post(f"{B}/{path}", body, format="json").status_code == 403, path
    assert client.get(f"{B}/billing-settings").status_code == 403
    assert client.patch(f"{B}/billing-settings", {"legal_name": "x"}, format="json").status_code == 403
    assert api_client(org).get(f"{B}/invoices").status_code == 401


def test_issue_pay_and_void_move_the_status_and_wrong_moves_are_409s(org, drafts, api_client, mailoutbox):
    client = api_client(org, org.admin)
    invoice = drafts[org.member.pk]
    url = f"{B}/invoices/{invoice.pk}"

    not_issued = client.post(f"{url}/mark-paid", {}, format="json")
    issued = client.post(f"{url}/issue")
    twice = client.post(f"{url}/issue")
    paid = client.post(f"{url}/mark-paid", {"reference": "Transfer 42"}, format="json")
    void = client.post(f"{url}/void", {"reason": "Wrong rate"}, format="json")
    void_again = client.post(f"{url}/void", {}, format="json")

    assert not_issued.status_code == 409 and not_issued.json()["code"] == "invoice_not_issued"
    assert issued.status_code == 200 and issued.json()["status"] == "issued"
    assert issued.json()["number"] == "INV-000001" and issued.json()["due_date"] == "2025-04-15"
    assert twice.status_code == 409 and twice.json()["code"] == "invoice_not_draft"
    assert paid.status_code == 200 and paid.json()["payment_reference"] == "Transfer 42"
    assert void.status_code == 200 and void.json()["void_reason"] == "Wrong rate"
    assert void_again.status_code == 409 and void_again.json()["code"] == "invoice_already_void"


def test_actions_on_a_missing_invoice_are_404s_and_unknown_body_fields_400s(org, drafts, api_client):
    client = api_client(org, org.admin)
    invoice = drafts[org.member.pk]

    assert client.post(f"{B}/invoices/999999/issue").status_code == 404
    assert client.post(f"{B}/invoices/999999/void", {}, format="json").status_code == 404
    unknown = client.post(f"{B}/invoices/{invoice.pk}/mark-paid", {"amount": "1.00"}, format="json")
    too_long = client.post(f"{B}/invoices/{invoice.pk}/void", {"reason": "x" * 301}, format="json")

    assert unknown.status_code == 400 and "amount" in unknown.json()
    assert too_long.status_code == 400 and "reason" in too_long.json()
    connection.set_tenant(org.organization)
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.DRAFT


def test_issuing_with_an_idempotency_key_runs_once(org, drafts, api_client):
    client = api_client(org, org.admin)
    url = f"{B}/invoices/{drafts[org.member.pk].pk}/issue"

    first = client.post(url, HTTP_IDEMPOTENCY_KEY="issue-once")
    replay = client.post(url, HTTP_IDEMPOTENCY_KEY="issue-once")

    assert first.status_code == replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["number"] == first.json()["number"] == "INV-000001"


def test_billing_settings_read_and_change_with_field_errors(org, api_client):
    client = api_client(org, org.owner)

    initial = client.get(f"{B}/billing-settings")
    changed = client.patch(
        f"{B}/billing-settings",
        {"legal_name": "Alpha SAS", "tax_rate": "20.00", "invoice_prefix": "A-", "payment_terms_days": 30},
        format="json",
    )
    cleared = client.patch(f"{B}/billing-settings", {"tax_rate": None}, format="json")

    assert initial.status_code == 200 and initial.json()["tax_rate"] is None
    assert initial.json()["invoice_prefix"] == "INV-" and initial.json()["payment_terms_days"] == 14
    assert changed.status_code == 200 and changed.json()["tax_rate"] == "20.00"
    assert cleared.status_code == 200 and cleared.json()["tax_rate"] is None
    for body, field in (
        ({"tax_rate": "101"}, "tax_rate"),
        ({"tax_rate": "abc"}, "tax_rate"),
        ({"invoice_prefix": "A B"}, "invoice_prefix"),
        ({"invoice_prefix": 0}, "invoice_prefix"),
        ({"payment_terms_days": -1}, "payment_terms_days"),
        ({"updated_at": "2025-01-01T00:00:00Z"}, "updated_at"),
        ({"currency": "USD"}, "currency"),
    ):
        response = client.patch(f"{B}/billing-settings", body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), body
    assert client.get(f"{B}/billing-settings").json()["invoice_prefix"] == "A-"


def test_the_list_runs_the_same_queries_whatever_the_number_of_invoices(in_tenant, after_march, api_client):
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        connection.set_schema_to_public()
        client = api_client(in_tenant, in_tenant.owner)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{B}/invoices").status_code == 200
        connection.set_tenant(in_tenant.organization)
        return len(queries)

    booking(in_tenant.member, day=3)
    services.invoices_generate(month=MARCH, now=AFTER_MARCH)
    one = count()
    booking(in_tenant.admin, day=4)
    booking(in_tenant.owner, day=5)
    services.invoices_generate(month=MARCH, now=AFTER_MARCH)

    assert count() == one
