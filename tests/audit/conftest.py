from tests.access.conftest import make_tech, world  # noqa: F401 - the same small world as the access tests
