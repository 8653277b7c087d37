"""Invoice pages: managers' list, generation and actions; everyone's "My invoices"; the billing settings
page under Settings. Thin: parse, call a selector or service, render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import manager_required, member_required, request_membership
from billing import selectors, services
from billing.documents import invoice_csv, invoice_pdf
from billing.forms import BillingSettingsForm, GenerateForm, InvoiceFilterForm, MarkPaidForm, VoidForm
from billing.models import Invoice
from spacemanager.errors import DomainError, NotFound
from spacemanager.web import form_add_error

PAGE_SIZE = 20


def _invoice(request: HttpRequest, pk: int) -> Invoice:
    try:
        return selectors.invoice_get(viewer=request_membership(request), invoice_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _list(
    request: HttpRequest, *, template: str, mine: bool = False, extra: dict | None = None, status: int = 200
) -> HttpResponse:
    membership = request_membership(request)
    filters = InvoiceFilterForm(data=request.GET or None)
    if filters.is_bound and not filters.is_valid():
        status = 400
        invoices = Invoice.objects.none()
    else:
        cleaned = filters.cleaned_data if filters.is_bound else {}
        invoices = selectors.invoice_list(
            viewer=membership,
            status=cleaned.get("status") or None,
            month=cleaned.get("month"),
            user_id=membership.user_id if mine else None,
        )
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filters": filters, "page": page, "invoices": page.object_list, "query": query.urlencode()}
    return render(request, template, {**context, **(extra or {})}, status=status)


@require_http_methods(["GET", "HEAD"])
@manager_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    return _list(request, template="billing/invoice_list.html", extra={"generate_form": GenerateForm()})


@require_http_methods(["GET", "HEAD"])
@member_required
def invoice_mine(request: HttpRequest) -> HttpResponse:
    return _list(request, template="billing/invoice_mine.html", mine=True)


@require_POST
@manager_required
def invoice_generate(request: HttpRequest) -> HttpResponse:
    form = GenerateForm(data=request.POST)
    if form.is_valid():
        try:
            result = services.invoices_generate(
                month=form.cleaned_data["month"], user_id=form.cleaned_data["user"], actor=request_membership(request)
            )
        except DomainError as exc:
            form_add_error(form, exc)
        else:
            made, kept = len(result.created), len(result.existing)
            messages.success(
                request,
                f"{result.month:%B %Y}: {made} draft{'s' if made != 1 else ''} made, {kept} already invoiced.",
            )
            return redirect("billing:list")
    return _list(request, template="billing/invoice_list.html", extra={"generate_form": form}, status=400)


@require_http_methods(["GET", "HEAD"])
@member_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    context = {"invoice": invoice, "lines": invoice.lines.all(), "paid_form": MarkPaidForm(), "void_form": VoidForm()}
    return render(request, "billing/invoice_detail.html", context)


@require_http_methods(["GET", "HEAD"])
@member_required
def invoice_document(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    invoice = _invoice(request, pk)
    if kind == "pdf":
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    else:
        response = HttpResponse(invoice_csv(invoice), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{invoice.filename}.{kind}"'
    return response


def _action(request: HttpRequest, pk: int, call, done: str) -> HttpResponse:
    invoice = _invoice(request, pk)
    try:
        invoice = call(invoice)
    except DomainError as exc:
        messages.error(request, exc.message)
        context = {
            "invoice": invoice,
            "lines": invoice.lines.all(),
            "paid_form": MarkPaidForm(),
            "void_form": VoidForm(),
        }
        return render(request, "billing/invoice_detail.html", context, status=exc.http_status)
    messages.success(request, done.format(invoice=invoice))
    return redirect("billing:detail", pk=invoice.pk)


@require_POST
@manager_required
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request_membership(request)
    return _action(
        request,
        pk,
        lambda invoice: services.invoice_issue(invoice_id=invoice.pk, actor=actor),
        "Invoice {invoice.number} issued; the booker is emailed the PDF.",
    )


@require_POST
@manager_required
def invoice_mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    form = MarkPaidForm(data=request.POST)
    if not form.is_valid():
        invoice = _invoice(request, pk)
        context = {"invoice": invoice, "lines": invoice.lines.all(), "paid_form": form, "void_form": VoidForm()}
        return render(request, "billing/invoice_detail.html", context, status=400)
    actor = request_membership(request)
    return _action(
        request,
        pk,
        lambda invoice: services.invoice_mark_paid(
            invoice_id=invoice.pk, actor=actor, reference=form.cleaned_data["reference"]
        ),
        "Invoice {invoice.number} marked paid.",
    )


@require_POST
@manager_required
def invoice_void(request: HttpRequest, pk: int) -> HttpResponse:
    form = VoidForm(data=request.POST)
    if not form.is_valid():
        invoice = _invoice(request, pk)
        context = {"invoice": invoice, "lines": invoice.lines.all(), "paid_form": MarkPaidForm(), "void_form": form}
        return render(request, "billing/invoice_detail.html", context, status=400)
    actor = request_membership(request)
    return _action(
        request,
        pk,
        lambda invoice: services.invoice_void(invoice_id=invoice.pk, actor=actor, reason=form.cleaned_data["reason"]),
        "Invoice {invoice} voided. Generate the month again for a corrected one.",
    )


@require_http_methods(["GET", "POST"])
@manager_required
def billing_settings(request: HttpRequest) -> HttpResponse:
    current = services.billing_settings_get()
    form = BillingSettingsForm(data=request.POST if request.method == "POST" else None, instance=current)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.billing_settings_update(actor=request_membership(request), **form.cleaned_data)
            except DomainError as exc:
                form_add_error(form, exc)
            else:
                messages.success(request, "Billing settings saved.")
                return redirect("billing:settings")
        return render(request, "billing/billing_settings.html", {"form": form}, status=400)
    return render(request, "billing/billing_settings.html", {"form": form})
