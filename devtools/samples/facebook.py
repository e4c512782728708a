"""Facebook Marketplace pages: the search feed and item pages, as Relay payloads in <script> tags."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiqleads_dev.samples.model import TYPE_LABELS, E, Sample, money, script_json


def facebook_node(s: Sample) -> dict[str, Any]:
    """A marketplace feed listing node."""
    ident = s.ident("facebook")
    label = TYPE_LABELS[s.property_type][0]
    rooms = f"{s.beds} beds · {s.baths:g} baths" if s.beds is not None and s.baths is not None else label
    return {
        "__typename": "GroupCommerceProductItem",
        "id": ident,
        "primary_listing_photo": {
            "__typename": "ProductImage",
            "image": {"uri": s.photo_urls("facebook")[0]},
            "id": f"{ident}1",
        },
        "__isMarketplaceListingRenderable": "GroupCommerceProductItem",
        "listing_price": {
            "formatted_amount": money(s.price),
            "amount_with_offset_in_currency": str(s.price * 100),
            "amount": f"{s.price}.00",
        },
        "strikethrough_price": None,
        "location": {
            "reverse_geocode": {
                "city": s.city,
                "state": s.state,
                "city_page": {"display_name": f"{s.city}, {s.state}", "id": "108" + ident[-6:]},
            }
        },
        "is_hidden": False,
        "is_live": True,
        "is_pending": False,
        "is_sold": False,
        "is_viewer_seller": False,
        "marketplace_listing_category_id": "1468271819871448",
        "marketplace_listing_title": f"{rooms} - {label}",
        "custom_title": s.title,
        "custom_sub_titles_with_rendering_flags": [{"subtitle": rooms, "rendering_style": "DEFAULT"}],
        "origin_group": None,
        "listing_video": None,
        "parent_listing": None,
        "marketplace_listing_seller": {"__typename": "User", "name": s.owner, "id": "1000" + ident[-8:]},
        "delivery_types": ["IN_PERSON"],
    }


def _relay_script(result_data: dict[str, Any], preloader: str) -> str:
    payload = {
        "require": [
            [
                "ScheduledServerJS",
                "handle",
                None,
                [
                    {
                        "__bbox": {
                            "require": [
                                [
                                    "RelayPrefetchedStreamCache",
                                    "next",
                                    [],
                                    [
                                        preloader,
                                        {"__bbox": {"complete": True, "result": {"data": result_data}}},
                                    ],
                                ]
                            ]
                        }
                    }
                ],
            ]
        ]
    }
    body = script_json(payload)
    return f'<script type="application/json" data-content-len="{len(body)}" data-sjs>{body}</script>'


def facebook_search_page(samples: Iterable[Sample], cursor: str | None = None) -> str:
    """A Marketplace search page with the feed in a Relay payload."""
    edges = [
        {
            "node": {
                "__typename": "MarketplaceFeedListingStoryObject",
                "story_type": "POST",
                "listing": facebook_node(s),
            }
        }
        for s in samples
    ]
    data = {
        "marketplace_search": {
            "feed_units": {
                "edges": edges,
                "page_info": {"end_cursor": cursor, "has_next_page": cursor is not None},
            }
        }
    }
    return (
        '<!DOCTYPE html><html id="facebook"><head><meta charset="utf-8"><title>Marketplace – Property for '
        "sale"
        '</title></head><body><div id="mount_0_0_x"></div>'
        '<script type="application/json" data-content-len="34" '
        'data-sjs>{"require":[["qplTimingsServerJS"]]}</script>'
        f"{_relay_script(data, 'adp_MarketplaceSearchContentContainerQueryRelayPreloader_6f1a2b')}"
        "</body></html>"
    )


def facebook_item_page(s: Sample) -> str:
    """A Marketplace item page (product details page target)."""
    node = facebook_node(s)
    fields = []
    if s.beds is not None and s.baths is not None:
        fields.append({"display_label": f"{s.beds} beds · {s.baths:g} baths", "icon_name": "bed"})
    fields.append({"display_label": TYPE_LABELS[s.property_type][0], "icon_name": "house"})
    if s.sqft:
        fields.append({"display_label": f"{s.sqft:,} square feet", "icon_name": "ruler"})
    target = {
        **node,
        "redacted_description": {"text": s.description},
        "creation_time": int(s.posted().timestamp()),
        "location": {
            "latitude": s.lat,
            "longitude": s.lng,
            "reverse_geocode_detailed": {"city": s.city, "state": s.state, "postal_code": s.zip},
        },
        "location_text": {"text": f"{s.city}, {s.state}"},
        "home_address": {"street": s.extra.get("fb_street", s.line)},
        "listing_photos": [
            {"image": {"uri": u}, "id": f"p{i}"} for i, u in enumerate(s.photo_urls("facebook"))
        ],
        "pdp_display_sections": [{"section_type": "UNIT_DETAILS", "pdp_fields": fields}],
    }
    data = {"viewer": {"marketplace_product_details_page": {"target": target}}}
    return (
        f'<!DOCTYPE html><html id="facebook"><head><meta charset="utf-8"><title>{E(s.title)} | Facebook'
        '</title></head><body><div id="mount_0_0_y"></div>'
        f"{_relay_script(data, 'adp_MarketplacePDPContainerQueryRelayPreloader_0c9d8e')}</body></html>"
    )
