"""Each mail's content, rendered from the templates and received by a real SMTP server."""
import email
from decimal import Decimal
from email import policy

import pytest
from sqlalchemy import select

from shopcore.accounts.events import PasswordResetRequested, UserRegistered
from shopcore.messaging.models import DONE, OutboxMessage
from shopcore.plugins import PluginError
from shopcore.testing import request_context
from shopcore_orders.events import OrderCancelled, OrderPaid, OrderPlaced, OrderShipped


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def outbox(registry):
    with registry["shopcore.dbsession_factory"]() as session:
        return list(session.scalars(select(OutboxMessage)))


def test_welcome_mail(mail_app, smtp_server):
    registry = mail_app()
    with request_context(registry) as request:
        request.notify(UserRegistered(user_id=1, username="alice", email="alice@example.com"))
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "alice@example.com"
    assert message["From"] == "Test Shop <shop@test.example>"
    assert message["Subject"] == "Welcome to Test Shop, alice"
    [row] = outbox(registry)
    assert message["Message-ID"] == f"<{row.id}@test.example>"
    text, html = parts(message)
    assert "Hello alice," in text and "welcome to Test Shop!" in text and "https://shop.test.example" in text
    assert "<p>Hello alice,</p>" in html and 'href="https://shop.test.example"' in html


def test_html_parts_escape_what_users_typed(mail_app, smtp_server):
    registry = mail_app()
    with request_context(registry) as request:
        request.notify(UserRegistered(user_id=1, username="<b>eve</b>", email="eve@example.com"))
    text, html = parts(smtp_server.wait_for(1)[0])
    assert "Hello <b>eve</b>," in text
    assert "&lt;b&gt;eve&lt;/b&gt;" in html and "<b>eve</b>" not in html


def test_password_reset_mail_carries_the_link_and_the_token_does_not_stay_stored(mail_app, smtp_server):
    registry = mail_app()
    with request_context(registry) as request:
        request.notify(PasswordResetRequested(user_id=1, username="bob", email="bob@example.com",
                                              uid="MQ", token="tok-en_123"))
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Reset your Test Shop password"
    text, html = parts(message)
    link = "https://shop.test.example/reset-password?uid=MQ&token=tok-en_123"
    assert link in text
    assert 'href="https://shop.test.example/reset-password?uid=MQ&amp;token=tok-en_123"' in html
    [row] = outbox(registry)
    assert row.status == DONE and row.payload == {}


def test_password_reset_mail_uses_the_link_accounts_composed(mail_app, smtp_server):
    registry = mail_app()
    link = "https://shop.test.example/password-reset/confirm/?uid=Mg&token=abc"
    with request_context(registry) as request:
        request.notify(PasswordResetRequested(user_id=2, username="bob", email="bob@example.com",
                                              uid="Mg", token="abc", link=link))
    text, _html = parts(smtp_server.wait_for(1)[0])
    assert link in text


def test_order_placed_mail_lists_lines_total_and_address(mail_app, smtp_server, fake_orders, make_customer):
    registry = mail_app()
    user_id = make_customer(registry, "carol")
    fake_orders.add(41, user_id)
    with request_context(registry) as request:
        request.notify(OrderPlaced(order_id=41, user_id=user_id, total_price=Decimal("0.00"), lines=()))
    # The mail tells the order as it was when placed, not as it is when the worker gets to it.
    fake_orders.add(41, user_id, total_price="0.00", items=[])
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "carol@example.com"
    assert message["Subject"] == "Your Test Shop order #41 is placed"
    text, html = parts(message)
    assert "Order #41" in text
    assert "Blue mug  2 x 12.50 = 25.00" in text
    assert "Tea & biscuits <deluxe>  1 x 34.97 = 34.97" in text
    assert "Total: 59.97" in text
    assert "Shipping to: 1 Main Street, Springfield" in text and "Payment: card" in text
    assert "<td>Blue mug</td>" in html and "Tea &amp; biscuits &lt;deluxe&gt;" in html
    assert '<th align="right">59.97</th>' in html


@pytest.mark.parametrize("event_type, subject, sentence", [
    (OrderPaid, "Payment received for order #7", "we have received your payment of 59.97 for order #7."),
    (OrderCancelled, "Your order #7 is cancelled",
     "your order #7 has been cancelled. If you paid for it, the amount of 59.97 will be refunded."),
    (OrderShipped, "Your order #7 is on its way", "your order #7 has been shipped to 1 Main Street, Springfield."),
])
def test_order_state_mails(mail_app, smtp_server, fake_orders, make_customer, event_type, subject, sentence):
    registry = mail_app()
    user_id = make_customer(registry, "dave")
    fake_orders.add(7, user_id)
    with request_context(registry) as request:
        request.notify(event_type(order_id=7, user_id=user_id, total_price=Decimal("59.97"), lines=()))
    [message] = smtp_server.wait_for(1)
    assert (message["Subject"], message["To"]) == (subject, "dave@example.com")
    text, html = parts(message)
    assert sentence in text and "Hello dave," in text and "Blue mug" in text
    assert sentence.replace("&", "&amp;") in html


def test_a_rolled_back_request_sends_nothing(mail_app, smtp_server, fake_orders, make_customer):
    registry = mail_app()
    user_id = make_customer(registry, "erin")
    fake_orders.add(9, user_id)
    with pytest.raises(RuntimeError):
        with request_context(registry) as request:
            request.notify(UserRegistered(user_id=user_id, username="erin", email="erin@example.com"))
            request.notify(OrderPlaced(order_id=9, user_id=user_id, total_price=Decimal("0.00"), lines=()))
            raise RuntimeError("payment declined")
    # Something committed afterwards is mailed, so the server was listening all along.
    with request_context(registry) as request:
        request.notify(UserRegistered(user_id=user_id, username="frank", email="frank@example.com"))
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["frank@example.com"]
    assert len(outbox(registry)) == 1


def test_the_file_backend_writes_readable_eml_files(mail_app, tmp_path):
    mail_dir = tmp_path / "outgoing"
    registry = mail_app(**{"shopcore.mail.backend": "file", "shopcore.mail.dir": str(mail_dir)})
    with request_context(registry) as request:
        request.notify(UserRegistered(user_id=1, username="gina", email="gina@example.com"))
    [path] = sorted(mail_dir.iterdir())
    [row] = outbox(registry)
    assert path.name.endswith(f"-welcome-{row.id}.eml")
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    assert message["To"] == "gina@example.com" and message["Subject"] == "Welcome to Test Shop, gina"
    text, html = parts(message)
    assert "Hello gina," in text and "<p>Hello gina,</p>" in html
    assert not list(mail_dir.glob("*.part"))


def test_a_template_folder_overrides_templates_by_name(mail_app, smtp_server, tmp_path):
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "welcome.subject.txt").write_text("Hi {{ username }}, from {{ shop_name }}\n")
    (overrides / "base.html").write_text("<html><body><div class=brand>{% block content %}{% endblock %}"
                                         "</div></body></html>")
    registry = mail_app(**{"shopcore.notifications.template_dir": str(overrides)})
    with request_context(registry) as request:
        request.notify(UserRegistered(user_id=1, username="hal", email="hal@example.com"))
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Hi hal, from Test Shop"
    text, html = parts(message)
    assert "Hello hal," in text  # not overridden: the shipped template
    assert html.startswith("<html><body><div class=brand>")


def test_a_missing_template_folder_stops_start_up_naming_the_setting(mail_app, tmp_path):
    with pytest.raises(PluginError, match="shopcore.notifications.template_dir"):
        mail_app(**{"shopcore.notifications.template_dir": str(tmp_path / "nowhere")})


def test_order_mails_show_price_adjustments(mail_app, smtp_server, fake_orders, make_customer):
    from decimal import Decimal

    registry = mail_app()
    user_id = make_customer(registry, "iris")
    fake_orders.add(12, user_id, subtotal=Decimal("59.97"), total_price=Decimal("53.97"),
                    adjustments=[{"label": "Autumn sale", "amount": Decimal("-6.00")}])
    with request_context(registry) as request:
        request.notify(OrderPlaced(order_id=12, user_id=user_id, total_price=Decimal("0.00"), lines=()))
    text, html = parts(smtp_server.wait_for(1)[0])
    assert "Subtotal: 59.97\n  Autumn sale: -6.00\n\nTotal: 53.97" in text
    assert "<td colspan=\"3\">Autumn sale</td><td align=\"right\">-6.00</td>" in html
