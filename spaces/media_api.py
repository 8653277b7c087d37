"""Photos, locations and floor plans over the API (thin: parse, call spaces.media_services, render).

Uploads are multipart (`image`); every other body is JSON. Members read; owners and admins write.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from accounts.access import request_membership
from accounts.permissions import IsOrganizationManager, IsOrganizationMember
from spacemanager.fields import StrictCharField
from spacemanager.openapi import ERROR_RESPONSES
from spaces import media_services
from spaces.media_selectors import location_get, location_list, photo_list
from spaces.models import Location, SpacePhoto
from spaces.selectors import space_get

IMAGE_HELP = "A JPEG, PNG or WebP image of at most 10 MB, checked by its content; metadata (EXIF) is removed."


class PhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(
        help_text="A signed URL that expires (MEDIA_URL_EXPIRY_SECONDS); null while a worker still removes the "
        "metadata of a large photo (`processed` false)."
    )
    thumbnail_url = serializers.SerializerMethodField(
        help_text="A signed URL of a small version; null while `processed` is false."
    )

    class Meta:
        model = SpacePhoto
        fields = [
            "id",
            "url",
            "thumbnail_url",
            "processed",
            "width",
            "height",
            "size",
            "position",
            "is_cover",
            "created_at",
        ]

    def get_url(self, photo: SpacePhoto) -> str | None:
        return photo.image.url if photo.processed else None

    def get_thumbnail_url(self, photo: SpacePhoto) -> str | None:
        return photo.thumbnail.url if photo.processed and photo.thumbnail else None


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text=IMAGE_HELP)


class PhotoOrderSerializer(serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=500, help_text="Every photo id, each once."
    )
    cover = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="The cover photo's id; by default the first."
    )


class ManagersWriteMixin:
    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsOrganizationMember()]
        return [IsOrganizationManager()]


PHOTO_EXAMPLE = {
    "id": 3,
    "url": "/media/org_demo/photo/6f1c.jpg?t=1rX&s=Qm",
    "thumbnail_url": "/media/org_demo/thumbnail/7a2e.jpg?t=1rX&s=Zk",
    "width": 1600,
    "height": 1200,
    "processed": True,
    "size": 412034,
    "position": 0,
    "is_cover": True,
    "created_at": "2025-03-01T09:12:00+01:00",
}


@extend_schema(tags=["spaces"])
class SpacePhotoListView(ManagersWriteMixin, GenericAPIView):
    serializer_class = PhotoSerializer
    queryset = SpacePhoto.objects.none()
    pagination_class = None

    def get_parsers(self):
        if getattr(self, "swagger_fake_view", False) or self.request.method == "POST":
            return [MultiPartParser()]
        return super().get_parsers()

    @extend_schema(responses={200: PhotoSerializer(many=True), **ERROR_RESPONSES.for_codes(401, 403, 404)})
    def get(self, request, pk: int):
        """List a space's photos.

        In their order; the cover is marked.
        """
        return Response(self.get_serializer(photo_list(space=space_get(space_id=pk)), many=True).data)

    @extend_schema(
        request={"multipart/form-data": ImageUploadSerializer},
        responses={201: PhotoSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
        examples=[OpenApiExample("Uploaded", value=PHOTO_EXAMPLE, response_only=True, status_codes=["201"])],
    )
    def post(self, request, pk: int):
        """Upload a photo of a space.

        Owners and admins; multipart with the file in `image`. It goes last; the first photo is the cover.
        Not an image, or larger than 10 MB: 400 naming the limit.
        """
        space = space_get(space_id=pk)
        data = ImageUploadSerializer(data=request.data)
        if not data.is_valid():
            media_services.image_missing()
        photo = media_services.photo_add(
            actor=request_membership(request._request), space=space, upload=data.validated_data["image"]
        )
        return Response(self.get_serializer(photo).data, status=201)

    @extend_schema(
        request={"application/json": PhotoOrderSerializer},  # only POST uploads (multipart)
        responses={200: PhotoSerializer(many=True), **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
        examples=[OpenApiExample("Reorder", value={"order": [5, 3, 4], "cover": 3}, request_only=True)],
    )
    def put(self, request, pk: int):
        """Reorder a space's photos and choose the cover.

        Owners and admins. `order` lists every photo id once; `cover` defaults to the first.
        """
        space = space_get(space_id=pk)
        data = PhotoOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        media_services.photos_arrange(
            actor=request_membership(request._request),
            space=space,
            order=data.validated_data["order"],
            cover=data.validated_data.get("cover"),
        )
        return Response(self.get_serializer(photo_list(space=space), many=True).data)


@extend_schema(tags=["spaces"])
class SpacePhotoDetailView(ManagersWriteMixin, GenericAPIView):
    serializer_class = PhotoSerializer
    queryset = SpacePhoto.objects.none()

    @extend_schema(responses={204: None, **ERROR_RESPONSES.for_codes(401, 403, 404)})
    def delete(self, request, pk: int, photo_id: int):
        """Delete a photo of a space.

        Owners and admins. When it was the cover, the next photo becomes the cover.
        """
        media_services.photo_delete(
            actor=request_membership(request._request), space=space_get(space_id=pk), photo_id=photo_id
        )
        return Response(status=204)


class PlacedSpaceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    capacity = serializers.IntegerField()
    x = serializers.FloatField(source="plan_x", allow_null=True, help_text="0 (left) … 1 (right); null: not placed.")
    y = serializers.FloatField(source="plan_y", allow_null=True, help_text="0 (top) … 1 (bottom); null: not placed.")


class LocationSerializer(serializers.ModelSerializer):
    floor_plan_url = serializers.SerializerMethodField(help_text="Signed URL that expires; null without a plan.")
    spaces = PlacedSpaceSerializer(many=True, read_only=True, help_text="Active spaces in this location.")

    class Meta:
        model = Location
        fields = [
            "id",
            "name",
            "description",
            "floor_plan_url",
            "floor_plan_width",
            "floor_plan_height",
            "spaces",
            "created_at",
            "updated_at",
        ]

    def get_floor_plan_url(self, location: Location) -> str | None:
        return location.floor_plan.url if location.floor_plan else None


class PositionSerializer(serializers.Serializer):
    space = serializers.IntegerField(min_value=1)
    x = serializers.FloatField(min_value=0, max_value=1, help_text="Fraction of the plan's width from the left.")
    y = serializers.FloatField(min_value=0, max_value=1, help_text="Fraction of the plan's height from the top.")


class LocationInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=120)
    description = StrictCharField(required=False, allow_blank=True)


class PositionsInputSerializer(serializers.Serializer):
    positions = PositionSerializer(
        many=True,
        help_text="Where spaces sit on the plan; the listed spaces move into this location, its other spaces "
        "stay in it off the plan.",
    )


LOCATION_EXAMPLE = {
    "id": 2,
    "name": "Building A, 2nd floor",
    "description": "Lift to the left of reception.",
    "floor_plan_url": "/media/org_demo/floor-plan/1b9d.png?t=1rX&s=Qm",
    "floor_plan_width": 2000,
    "floor_plan_height": 1200,
    "spaces": [{"id": 7, "name": "Desk 1", "kind": "desk", "capacity": 1, "x": 0.25, "y": 0.4}],
    "created_at": "2025-03-01T09:12:00+01:00",
    "updated_at": "2025-03-01T09:12:00+01:00",
}


@extend_schema(tags=["locations"])
class LocationListView(ManagersWriteMixin, GenericAPIView):
    serializer_class = LocationSerializer
    ordering_fields = ["name", "created_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return location_list()

    @extend_schema(responses={200: LocationSerializer(many=True), **ERROR_RESPONSES.for_codes(400, 401, 403)})
    def get(self, request):
        """List locations.

        Buildings and floors, each with its floor plan and the spaces in it with their places on the plan.
        """
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=LocationInputSerializer,
        responses={201: LocationSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403)},
        examples=[
            OpenApiExample("Create", value={"name": "Building A, 2nd floor"}, request_only=True),
            OpenApiExample("Created", value=LOCATION_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request):
        """Create a location.

        Owners and admins. Upload its floor plan with `POST /locations/{id}/floor-plan`.
        """
        data = LocationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        location = media_services.location_create(actor=request_membership(request._request), **data.validated_data)
        return Response(self.get_serializer(location_get(location_id=location.pk)).data, status=201)


@extend_schema(tags=["locations"])
class LocationDetailView(ManagersWriteMixin, GenericAPIView):
    serializer_class = LocationSerializer
    queryset = Location.objects.none()

    @extend_schema(responses={200: LocationSerializer, **ERROR_RESPONSES.for_codes(401, 403, 404)})
    def get(self, request, pk: int):
        """Get a location.

        With its floor plan and where its spaces sit on it.
        """
        return Response(self.get_serializer(location_get(location_id=pk)).data)

    @extend_schema(
        request=LocationInputSerializer(partial=True),
        responses={200: LocationSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
    )
    def patch(self, request, pk: int):
        """Update a location.

        Owners and admins: its name or description.
        """
        location = location_get(location_id=pk)
        data = LocationInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        media_services.location_update(
            actor=request_membership(request._request), location=location, **data.validated_data
        )
        return Response(self.get_serializer(location_get(location_id=pk)).data)

    @extend_schema(responses={204: None, **ERROR_RESPONSES.for_codes(401, 403, 404)})
    def delete(self, request, pk: int):
        """Delete a location.

        Owners and admins. Its floor plan goes too; its spaces stay, in no location.
        """
        media_services.location_delete(
            actor=request_membership(request._request), location=location_get(location_id=pk)
        )
        return Response(status=204)


@extend_schema(tags=["locations"])
class LocationFloorPlanView(GenericAPIView):
    serializer_class = LocationSerializer
    queryset = Location.objects.none()
    permission_classes = [IsOrganizationManager]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ImageUploadSerializer},
        responses={200: LocationSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
    )
    def post(self, request, pk: int):
        """Upload a location's floor plan.

        Owners and admins; multipart with the file in `image` (replaces the plan; places are kept, as
        fractions). Not an image, or larger than 10 MB: 400 naming the limit.
        """
        location = location_get(location_id=pk)
        data = ImageUploadSerializer(data=request.data)
        if not data.is_valid():
            media_services.image_missing()
        media_services.location_floor_plan_set(
            actor=request_membership(request._request), location=location, upload=data.validated_data["image"]
        )
        return Response(self.get_serializer(location_get(location_id=pk)).data)


@extend_schema(tags=["locations"])
class LocationPositionsView(GenericAPIView):
    serializer_class = LocationSerializer
    queryset = Location.objects.none()
    permission_classes = [IsOrganizationManager]

    @extend_schema(
        request=PositionsInputSerializer,
        responses={200: LocationSerializer, **ERROR_RESPONSES.for_codes(400, 401, 403, 404)},
        examples=[
            OpenApiExample(
                "Place two desks", value={"positions": [{"space": 7, "x": 0.25, "y": 0.4}]}, request_only=True
            )
        ],
    )
    def put(self, request, pk: int):
        """Place spaces on a location's floor plan.

        Owners and admins. Replaces the places: x and y are fractions of the plan from its top-left corner.
        """
        location = location_get(location_id=pk)
        data = PositionsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        media_services.location_positions_set(
            actor=request_membership(request._request),
            location=location,
            placements=[
                media_services.Placement(space_id=item["space"], x=item["x"], y=item["y"])
                for item in data.validated_data["positions"]
            ],
        )
        return Response(self.get_serializer(location_get(location_id=pk)).data)
