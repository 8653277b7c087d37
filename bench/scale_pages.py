"""The reservation lists and the pages of the scale benchmark alone, against a catalog it has built.

    DATABASE_URL=postgres://.../sm_scale_bench .venv/bin/python bench/scale_pages.py [--repeat 20]

`bench/scale.py` measures every figure of issue 17 and takes minutes (a no-op migrate_schemas, two full
reminder ticks); after a change to one list or page, this measures just those, the same way (Django's test
client in this process, medians of wall and CPU ms, queries, the ratio to GET /health measured in the same
run), against the design-size organization `scale.py --build-only` made. It asserts nothing.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale


def measure(args) -> dict:
    from django.test import Client
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from accounts.models import Membership
    from reservations.models import Reservation
    from tenants.models import Organization

    design = Organization.objects.get(slug=scale.DESIGN_SLUG)
    owner = Membership.objects.select_related("user").filter(organization=design, role="owner").first().user
    api = Client(HTTP_HOST=design.host)
    results = {"yardstick GET /health": scale.timed(lambda: api.get("/health"), args.repeat * 4)}
    args.orgs = Organization.objects.count() - 1  # without the public one
    with schema_context(design.schema_name):
        args.reservations = Reservation.objects.count()

    login = {"email": owner.email, "password": scale.PASSWORD}
    token = api.post("/api/v1/auth/login", login, content_type="application/json").json()["access"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    deep = "/api/v1/reservations?scope=all"
    for _ in range(args.deep_pages):
        deep = api.get(deep, **headers).json()["next"]
        deep = deep[deep.index("/api/") :]
    pages = Client(HTTP_HOST=design.host)
    pages.force_login(owner)
    nine_years_ago = f"{timezone.now().year - 9}-01-01"
    for name, client, path, extra in [
        ("GET /api/v1/reservations?scope=all page 1", api, "/api/v1/reservations?scope=all", headers),
        (f"GET /api/v1/reservations?scope=all page {args.deep_pages + 1}", api, deep, headers),
        ("the same, last page (reverse order)", api, "/api/v1/reservations?scope=all&ordering=-starts_at", headers),
        ("page: all reservations", pages, "/reservations/all/", {}),
        ("page: all reservations, from 9 years ago", pages, f"/reservations/all/?date_from={nine_years_ago}", {}),
        ("page: all reservations, every day", pages, "/reservations/all/?date_from=", {}),
        ("page: manage spaces", pages, "/spaces/manage/", {}),
        ("page: members", pages, "/members/", {}),
        ("page: dashboard", pages, "/", {}),
    ]:

        def fetch(client=client, path=path, extra=extra):
            response = client.get(path, **extra)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code}")
            return response

        results[name] = scale.timed(fetch, args.repeat)
        results[name]["queries"] = scale.count_queries(fetch)
        results[name]["kB"] = round(len(fetch().content) / 1024)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="runs per figure; medians are reported")
    parser.add_argument("--deep-pages", type=int, default=100, help="pages followed before the deep page")
    args = parser.parse_args()
    scale.setup_django()
    results = measure(args)
    for value in results.values():
        value.pop("last", None)
    scale.print_table(results, orgs=args.orgs, people=0, reservations=args.reservations)


if __name__ == "__main__":
    main()
