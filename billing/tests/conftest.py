import pytest
import time_machine

from billing.tests.factories import AFTER_MARCH


@pytest.fixture
def after_march():
    """The clock on 1 April 2025, 06:00 UTC (ticking): March is over everywhere west of UTC+6."""
    with time_machine.travel(AFTER_MARCH, tick=True) as traveller:
        yield traveller
