"""Three Django tasks whose target file the repo map must rank in its top five (bench and checks share them)."""

from __future__ import annotations

from dataclasses import dataclass

FAILING_TEST = "tests/admin_views/test_actions.py"


@dataclass(frozen=True)
class Task:
    name: str
    hint: str
    target: str


TASKS = (
    Task("failing admin test (traceback)",
         f"""FAILED {FAILING_TEST}::AdminActionsTest::test_model_admin_default_delete_action
{FAILING_TEST}:75: in test_model_admin_default_delete_action
    response = self.client.post(reverse("admin:admin_views_subscriber_changelist"), action_data)
django/contrib/admin/actions.py:41: in delete_selected
    modeladmin.delete_queryset(request, queryset)
E   AssertionError: 2 != 0
""", "django/contrib/admin/actions.py"),
    Task("identifiers only (bulk_create)",
         "bulk_create with update_conflicts=True ignores unique_fields when the model has a db_column; "
         "QuerySet._check_bulk_create_options and _batched_insert need a look",
         "django/db/models/query.py"),
    Task("failing utils test (Truncator)",
         """FAILED tests/utils_tests/test_text.py::TestUtilsText::test_truncate_chars_html
tests/utils_tests/test_text.py:130: in test_truncate_chars_html
    self.assertEqual(truncator.chars(46, html=True), expected)
E   AssertionError: Truncator.chars with html=True drops the closing tag
""", "django/utils/text.py"),
)
