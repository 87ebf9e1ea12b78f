import pytest

from daxd import Daxd


@pytest.fixture
def daxd():
    server = Daxd().start()
    yield server
    server.close()


@pytest.fixture
def iam(daxd):
    return daxd.client("iam")


@pytest.fixture
def user_key(daxd, iam):
    """A fresh IAM user with an access key: (name, (key id, secret))."""
    iam.create_user(UserName="alice")
    k = iam.create_access_key(UserName="alice")["AccessKey"]
    return "alice", (k["AccessKeyId"], k["SecretAccessKey"])
