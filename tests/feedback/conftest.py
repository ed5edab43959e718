"""The ``site`` fixture of the feedback tests: the sandbox's website, then (marker ``wordpress``) a real
WordPress emptied of posts, pages and comments (tests/support/feedback_sites.py)."""

from __future__ import annotations

import pytest
from support.feedback_sites import Site


@pytest.fixture(params=["sandbox", pytest.param("wordpress", marks=pytest.mark.wordpress)])
def site(request: pytest.FixtureRequest):
    if request.param == "sandbox":
        sb = request.getfixturevalue("sandbox")
        yield Site("sandbox", sb.url, {login: a.app_password for login, a in sb.cms.accounts.items()}, sandbox=sb)
        return
    wp = request.getfixturevalue("wordpress_site")
    wp.reset()
    wp.php("foreach (get_comments(array('status' => 'all', 'fields' => 'ids')) as $c) { wp_delete_comment($c, true); }")
    yield Site("wordpress", wp.url, {login: a.app_password for login, a in wp.accounts.items()}, wordpress=wp)
