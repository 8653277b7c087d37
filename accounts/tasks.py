"""Emails about people, sent by the worker (tasks take ids and primitives and are safe to run twice)."""

from accounts import invitations
from spacemanager.celery import app
from spacemanager.mail import EmailTask


@app.task(base=EmailTask, bind=True, name="accounts.tasks.invitation_email_send")
def invitation_email_send(self, invitation_id: int, send_count: int, token: str) -> bool:
    """Email one sending of an invitation. The token rides along: only its hash is stored."""
    return invitations.invitation_email_send(invitation_id=invitation_id, send_count=send_count, token=token)


@app.task(base=EmailTask, bind=True, name="accounts.tasks.find_organizations_send")
def find_organizations_send(self, email: str) -> bool:
    """ "Find my organization": the sites of the address's organizations, if it has any."""
    from accounts import profile

    return profile.find_organizations_send(email=email)
