"""The coupons plugin's part of a customer's personal data.

Export: the code applied to the cart and every coupon use (code, order, discount, when, given back).
Erasure: the applied code goes with the cart; the uses stay (a coupon's usage limits and the shop's
accounts depend on them) under the anonymised customer's id, which is all they hold about the person.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from shopcore_coupons.models import AppliedCoupon, Coupon, Redemption


def export_coupon_uses(request, user_id: int) -> dict:
    session = request.dbsession
    applied = session.execute(select(Coupon.code, AppliedCoupon.applied_at)
                              .join(Coupon, Coupon.id == AppliedCoupon.coupon_id)
                              .where(AppliedCoupon.user_id == user_id)).first()
    uses = session.execute(select(Coupon.code, Redemption.order_id, Redemption.discount, Redemption.created_at,
                                  Redemption.released_at)
                           .join(Coupon, Coupon.id == Redemption.coupon_id)
                           .where(Redemption.user_id == user_id).order_by(Redemption.id))
    return {
        "applied_coupon": None if applied is None else {"code": applied.code, "applied_at": applied.applied_at},
        "coupon_uses": [{"code": use.code, "order_id": use.order_id, "discount": use.discount,
                         "used_at": use.created_at, "given_back_at": use.released_at} for use in uses],
    }


def erase_coupon_data(request, user_id: int) -> None:
    request.dbsession.execute(delete(AppliedCoupon).where(AppliedCoupon.user_id == user_id))
