"""The drop-ship portal (SPEC section 7): logins made by staff with an invitation link, a
drop-shipper sees only the open lines of their suppliers and enters shipments through the same
action flow as staff; tests that try to see more."""

from __future__ import annotations

import re

import pytest

from factories import order
from fixtures.delivery import composed
from shopmail.dropship.models import DropShipper
from shopmail.flows.ingest import ingest
from shopmail.mail.models import Message
from shopmail.store.models import Order

pytestmark = pytest.mark.django_db

PASSWORD = "kettle-brass-orbit-91"


def _order(order_id: str, status: str = "processing") -> dict:
    data = order(order_id, status=status)
    data["customer"]["email"] = f"secret-{order_id}@customer.example"
    data["shipping_address"] = {
        "name": "Ana Silva",
        "street": "Rua 1",
        "city": "Lisboa",
        "country": "PT",
        "email": "hidden@customer.example",
    }
    data["lines"] = [
        {"id": "1", "sku": "MUG-01", "name": "Blue mug", "quantity": 2, "supplier": "Mugs Ltd"},
        {"id": "2", "sku": "TEE-01", "name": "Secret T-shirt", "quantity": 1, "supplier": "Tees AS"},
    ]
    return data


@pytest.fixture
def orders(store):
    ingest(orders=[_order("A-1"), _order("A-2", status="cancelled"), _order("A-3")])
    shipped = _order("A-3")
    shipped["updated_at"] = "2026-11-21T10:00:00+00:00"
    shipped["shipments"] = [{"id": "s1", "lines": [{"line_id": "1", "quantity": 2}]}]
    ingest(orders=[shipped])


def _invite_url(message: Message) -> str:
    match = re.search(r"https?://\S+/dropship/invite/\S+/", message.payload.text)
    assert match, message.payload.text
    return match.group(0).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


@pytest.fixture
def signed_in(api, client, orders):
    response = api.post(
        "/dropshippers", {"name": "Mugs Ltd", "email": "Orders@Mugs.example", "suppliers": ["Mugs Ltd"]}
    )
    assert response.status_code == 201, response.content
    message = Message.objects.get(notification="dropshipper_invite")
    assert message.to_email == "orders@mugs.example"
    url = _invite_url(message)
    assert client.get(url).status_code == 200
    done = client.post(url, {"password": PASSWORD, "password2": PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/dropship/"
    return client


def test_create_list_and_remove_by_api(api, store):
    bad = api.post("/dropshippers", {"name": "", "email": "not an address", "suppliers": []})
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["detail"]] == [
        ["body", "name"],
        ["body", "email"],
        ["body", "suppliers"],
    ]
    made = api.post(
        "/dropshippers",
        {"name": "Mugs Ltd", "email": "orders@mugs.example", "suppliers": ["Mugs Ltd", "Mugs Ltd"]},
    )
    assert made.status_code == 201
    assert made.json()["suppliers"] == ["Mugs Ltd"] and made.json()["password_set"] is False
    again = api.post("/dropshippers", {"name": "X", "email": "ORDERS@mugs.example", "suppliers": ["X"]})
    assert again.status_code == 422
    assert [d["email"] for d in api.get("/dropshippers").json()["items"]] == ["orders@mugs.example"]
    assert "password" not in api.get("/dropshippers").content.decode().replace("password_set", "")
    assert api.delete(f"/dropshippers/{made.json()['id']}").status_code == 204
    assert not DropShipper.objects.exists()


def test_invitation_link_works_once(api, client, store):
    api.post("/dropshippers", {"name": "Mugs Ltd", "email": "orders@mugs.example", "suppliers": ["Mugs Ltd"]})
    message = Message.objects.get(notification="dropshipper_invite")
    assert "Mugs Ltd" in message.payload.text
    url = _invite_url(message)
    assert client.post(url, {"password": PASSWORD, "password2": PASSWORD}).status_code == 302
    client.logout()
    assert client.get(url).status_code == 404
    assert (
        client.post(url, {"password": "another-one-77x", "password2": "another-one-77x"}).status_code == 404
    )
    assert (
        client.post("/dropship/login/", {"email": "orders@mugs.example", "password": "wrong"}).status_code
        == 401
    )
    ok = client.post("/dropship/login/", {"email": "orders@mugs.example", "password": PASSWORD})
    assert ok.status_code == 302


def test_sees_only_open_lines_of_own_suppliers(signed_in):
    page = signed_in.get("/dropship/").content.decode()
    assert "Order A-1" in page and "Blue mug" in page and "Lisboa" in page
    assert "Order A-2" not in page  # cancelled
    assert "Order A-3" not in page  # already shipped
    assert "Secret T-shirt" not in page  # another supplier's line
    assert "customer.example" not in page  # no customer e-mail, not even in the address
    assert "30.19" not in page  # no prices or totals
    response = signed_in.get("/dropship/")
    assert (
        "no-store" in response["Cache-Control"]
        and "frame-ancestors 'none'" in response["Content-Security-Policy"]
    )


def test_enters_a_shipment_and_the_customer_is_told_by_name(signed_in):
    response = signed_in.post(
        "/dropship/orders/A-1/ship/", {"qty_1": "1", "carrier": "Posten", "tracking_number": "DS-1"}
    )
    assert response.status_code == 302, response.content
    mail = Message.objects.get(notification="order_partially_shipped", to_email="secret-A-1@customer.example")
    text = composed(mail).text
    assert "Mugs Ltd" in text and "DS-1" in text
    snapshot = Order.objects.get(external_id="A-1").snapshot
    [shipment] = snapshot["shipments"]
    assert shipment["drop_shipper"] == "Mugs Ltd" and shipment["lines"] == [{"line_id": "1", "quantity": 1}]
    page = signed_in.get("/dropship/").content.decode()
    assert 'max="1"' in page  # one mug left


def test_cannot_ship_more_or_others_lines_or_see_the_panel(signed_in, api):
    too_many = signed_in.post("/dropship/orders/A-1/ship/", {"qty_1": "3"})
    assert too_many.status_code == 422 and "more than is left" in too_many.content.decode()
    # another supplier's line is not theirs: it is ignored, so nothing is left to ship
    other = signed_in.post("/dropship/orders/A-1/ship/", {"qty_2": "1"})
    assert other.status_code == 422
    assert Order.objects.get(external_id="A-1").snapshot["shipments"] == []
    assert signed_in.post("/dropship/orders/A-2/ship/", {"qty_1": "1"}).status_code == 404  # cancelled
    assert signed_in.post("/dropship/orders/nope/ship/", {"qty_1": "1"}).status_code == 404
    panel = signed_in.get("/admin/orders/")
    assert panel.status_code in (302, 403)
    assert b"secret-A-1@customer.example" not in panel.content
    assert signed_in.get("/api/v1/orders/A-1").status_code == 401  # the session is no API key
    assert b"secret-A-1" not in signed_in.get("/account/").content


def test_staff_and_customers_are_not_drop_shippers(client, store, orders):
    assert client.get("/dropship/").status_code == 302
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create(username="boss@shop.test", email="boss@shop.test", is_staff=True)
    client.force_login(staff)
    assert client.get("/dropship/")["Location"].startswith("/dropship/login/")


def test_panel_creates_a_drop_shipper(client, store):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create(username="boss@shop.test", email="boss@shop.test", is_staff=True)
    client.force_login(staff)
    bad = client.post("/admin/dropshippers/new/", {"name": "Mugs Ltd", "email": "nope", "suppliers": ""})
    assert bad.status_code == 422 and not DropShipper.objects.exists()
    made = client.post(
        "/admin/dropshippers/new/",
        {"name": "Mugs Ltd", "email": "o@mugs.example", "suppliers": "Mugs Ltd, Cups AS"},
    )
    assert made.status_code == 302
    assert DropShipper.objects.get().suppliers == ["Mugs Ltd", "Cups AS"]
    assert Message.objects.filter(notification="dropshipper_invite", to_email="o@mugs.example").count() == 1
    assert "o@mugs.example" in client.get("/admin/dropshippers/").content.decode()


def test_cli_creates_lists_and_deletes(store, capsys):
    from django.core.management import CommandError, call_command

    call_command(
        "dropshipper",
        "create",
        "--name",
        "Mugs Ltd",
        "--email",
        "o@mugs.example",
        "--supplier",
        "A",
        "--supplier",
        "B",
    )
    assert DropShipper.objects.get().suppliers == ["A", "B"]
    assert Message.objects.filter(notification="dropshipper_invite").count() == 1
    with pytest.raises(CommandError, match="email"):
        call_command("dropshipper", "create", "--name", "X", "--email", "o@mugs.example", "--supplier", "A")
    call_command("dropshipper", "list")
    assert "o@mugs.example\tA, B\tinvited" in capsys.readouterr().out
    call_command("dropshipper", "delete", "o@mugs.example")
    assert not DropShipper.objects.exists()


def test_a_form_sent_twice_ships_once(signed_in):
    page = signed_in.get("/dropship/").content.decode()
    version = re.search(r'name="version" value="([0-9a-f]+)"', page).group(1)
    form = {"qty_1": "1", "version": version, "tracking_number": "T1"}
    assert signed_in.post("/dropship/orders/A-1/ship/", form).status_code == 302
    again = signed_in.post("/dropship/orders/A-1/ship/", form, follow=True)
    assert "changed meanwhile" in again.content.decode()
    assert len(Order.objects.get(external_id="A-1").snapshot["shipments"]) == 1


def test_supplier_names_beyond_ascii_are_found(store):
    from shopmail.dropship import service

    data = _order("U-1")
    data["lines"][0]["supplier"] = "Ærø Krus & Co"
    ingest(orders=[data])
    dropshipper, _ = service.create("Ærø Krus", "post@aero.example", ["Ærø Krus & Co"])
    [found] = service.visible_orders(dropshipper)
    assert found["number"] == "U-1" and [line["name"] for line in found["lines"]] == ["Blue mug"]
    other, _ = service.create("Aero", "post@other.example", ["Aero Krus & Co"])
    assert service.visible_orders(other) == []
