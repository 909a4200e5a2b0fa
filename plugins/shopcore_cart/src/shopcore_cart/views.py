"""Cart endpoints: thin views over the `CartService`, for the logged-in customer's own cart."""
from __future__ import annotations

from pyramid.response import Response

from shopcore.accounts.addresses import check_country, normalize_region
from shopcore.errors import InvalidInput
from shopcore.security import AUTHENTICATED_PERMISSION

from shopcore_cart.api import CartService, Destination
from shopcore_cart.totals import shipping_options


def _cart(request) -> CartService:
    return request.find_service(CartService)


def _destination(query) -> Destination | None:
    """The destination named by the `country`, `region` and `postal_code` query parameters, if any."""
    if not query.get("country"):
        return None
    country = check_country(query["country"])
    return Destination(country=country, region=normalize_region(country, (query.get("region") or "").strip()),
                       postal_code=(query.get("postal_code") or "").strip().upper())


def show_cart(request):
    query = request.openapi_validated.parameters.query
    return _cart(request).priced_cart(request.authenticated_userid, destination=_destination(query),
                                      shipping_method=query.get("shipping_method")).as_json()


def list_shipping_methods(request):
    """The methods that ship the caller's cart to the given country, each priced for it."""
    cart = _cart(request).priced_cart(request.authenticated_userid)
    goods = cart.totals.subtotal - cart.totals.discount + cart.totals.fees
    options = shipping_options(request, cart.snapshot, _destination(request.openapi_validated.parameters.query),
                               goods) if cart.snapshot.lines else []
    return {"results": [option.as_json() for option in options]}


def add_item(request):
    body = request.openapi_validated.body
    carts, user_id = _cart(request), request.authenticated_userid
    if "variant" in body and "product" in body:
        raise InvalidInput("variant", "Give the variant or the product, not both.")
    if "variant" in body:
        line, created = carts.add_variant(user_id, body["variant"], body["quantity"])
    elif "product" in body:
        line, created = carts.add_item(user_id, body["product"], body["quantity"])
    else:
        # The seed's answer to a body without a product (a one-variant product may still be given by it).
        raise InvalidInput("product", "This field is required.")
    request.response.status_code = 201 if created else 200
    return line.as_json()


def update_item(request):
    item_id = request.openapi_validated.parameters.path["id"]
    quantity = request.openapi_validated.body["quantity"]
    return _cart(request).set_quantity(request.authenticated_userid, item_id, quantity).as_json()


def remove_item(request):
    _cart(request).remove_item(request.authenticated_userid, request.openapi_validated.parameters.path["id"])
    return Response(status=204)


def empty_cart(request):
    _cart(request).clear(request.authenticated_userid)
    return Response(status=204)


def includeme(config) -> None:
    config.add_route("cart", "/api/cart/")
    config.add_route("cart_items", "/api/cart/items/")
    config.add_route("cart_item", "/api/cart/items/{id}/")
    config.add_route("cart_shipping_methods", "/api/cart/shipping-methods/")
    for route, method, view in (
        ("cart", "GET", show_cart),
        ("cart_shipping_methods", "GET", list_shipping_methods),
        ("cart", "DELETE", empty_cart),
        ("cart_items", "POST", add_item),
        ("cart_item", "PATCH", update_item),
        ("cart_item", "DELETE", remove_item),
    ):
        config.add_view(view, route_name=route, request_method=method, renderer="json", openapi=True,
                        permission=AUTHENTICATED_PERMISSION)
