"""The database's last word on "an issued invoice never changes" (billing.services says it first, politely).

Once an invoice has a number, an UPDATE may only move its status on (issued -> paid, issued or paid -> void)
and fill in the payment or void details; every other column, and every line, stays as issued. Deleting it
is refused too. The counter row is created here, so issuing never races to create it.
"""

from django.db import migrations

FROZEN_INVOICE = """
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger AS $$
DECLARE
    mutable text[] := ARRAY['status', 'paid_at', 'paid_via', 'payment_reference', 'voided_at', 'void_reason',
                            'updated_at'];
BEGIN
    IF OLD.sequence_number IS NULL THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoice % is issued: it cannot be deleted (void it instead)', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (to_jsonb(NEW) - mutable) IS DISTINCT FROM (to_jsonb(OLD) - mutable) THEN
        RAISE EXCEPTION 'invoice % is issued: it never changes (void it and make a new one)', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'issued' AND NEW.status IN ('paid', 'void')) OR (OLD.status = 'paid' AND NEW.status = 'void')
    ) THEN
        RAISE EXCEPTION 'invoice %: no way from % to %', OLD.number, OLD.status, NEW.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_guard BEFORE UPDATE OR DELETE ON billing_invoice
    FOR EACH ROW EXECUTE FUNCTION billing_invoice_guard();

CREATE OR REPLACE FUNCTION billing_invoiceline_guard() RETURNS trigger AS $$
DECLARE
    parent integer := CASE WHEN TG_OP = 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END;
BEGIN
    IF EXISTS (SELECT 1 FROM billing_invoice WHERE id = parent AND sequence_number IS NOT NULL)
       OR (TG_OP = 'UPDATE' AND EXISTS (
           SELECT 1 FROM billing_invoice WHERE id = NEW.invoice_id AND sequence_number IS NOT NULL)) THEN
        RAISE EXCEPTION 'the lines of an issued invoice never change'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoiceline_guard BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION billing_invoiceline_guard();

INSERT INTO billing_invoicecounter (id, last_number) VALUES (1, 0) ON CONFLICT DO NOTHING;
"""

REVERSE = """
DROP TRIGGER IF EXISTS billing_invoiceline_guard ON billing_invoiceline;
DROP FUNCTION IF EXISTS billing_invoiceline_guard();
DROP TRIGGER IF EXISTS billing_invoice_guard ON billing_invoice;
DROP FUNCTION IF EXISTS billing_invoice_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunSQL(FROZEN_INVOICE, REVERSE)]
