"""Each request's transaction begins only when something needs it (`shopcore.db.LazyTransactionManager`):
a request answered without the database or a hook (a cached GET) makes no transaction at all, and
every other use behaves as pyramid_tm's explicit manager did."""
from __future__ import annotations

import pytest
import transaction
from transaction.interfaces import AlreadyInTransaction, NoTransaction

from shopcore.db import LazyTransactionManager


@pytest.fixture
def begun(monkeypatch):
    """The transactions really begun (made) while the test runs."""
    made = []
    original = transaction.Transaction.__init__

    def init(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(transaction.Transaction, "__init__", init)
    return made


def test_a_cached_get_begins_no_transaction_and_a_miss_begins_one(testapp, make_product, begun):
    make_product(name="Lamp", price="10.00")
    testapp.get("/api/products/")  # a miss: read from the database, then cached
    del begun[:]
    assert testapp.get("/api/products/").json["count"] == 1  # a hit
    assert begun == []
    assert testapp.get("/api/products/?search=lamp").json["count"] == 1  # a miss reads: one transaction
    assert len(begun) == 1 and begun[0].description == "/api/products/"


def test_the_transaction_begins_at_its_first_use_with_what_was_noted_before():
    manager = LazyTransactionManager()
    pending = manager.begin()
    pending.note("/api/orders/checkout/")
    pending.user = "7"
    assert not manager.isDoomed()
    hooks = []
    manager.get().addAfterCommitHook(hooks.append)
    assert manager.get().description == "/api/orders/checkout/" and manager.get().user == "7"
    assert pending.description == "/api/orders/checkout/"  # the stand-in now speaks for the transaction
    manager.commit()
    assert hooks == [True]
    with pytest.raises(NoTransaction):
        manager.get()  # explicit: outside begin() there is no transaction


def test_an_unused_transaction_commits_and_aborts_as_nothing():
    manager = LazyTransactionManager()
    for finish in (manager.commit, manager.abort):
        manager.begin().note("/health")
        finish()
        with pytest.raises(NoTransaction):
            manager.get()


def test_begin_twice_is_refused_whether_or_not_the_first_was_used():
    manager = LazyTransactionManager()
    manager.begin()
    with pytest.raises(AlreadyInTransaction):
        manager.begin()
    manager.get()
    with pytest.raises(AlreadyInTransaction):
        manager.begin()
    manager.abort()


def test_doom_and_the_with_statement_work_as_before():
    manager = LazyTransactionManager()
    manager.begin()
    manager.doom()
    assert manager.isDoomed()
    manager.abort()
    hooks = []
    with manager as txn:
        txn.addBeforeCommitHook(lambda: hooks.append("before"))
    assert hooks == ["before"]
    with pytest.raises(RuntimeError), manager as txn:
        txn.addAfterAbortHook(lambda: hooks.append("aborted"))
        raise RuntimeError
    assert hooks == ["before", "aborted"]
