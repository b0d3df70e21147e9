"""Named SQL for System Five's reference schema: one commented statement per operation.

STYLE.md habit 11: the connector speaks only SQL to a schema we do not own (SPEC.md
"System Five reference schema"), so every statement is here, by name, portable to SQLite
and PostgreSQL (plain SQL-92 joins and correlated subqueries, no dialect functions).
Wall-clock times and `updated_at` are text; the adapter converts them.
"""

from __future__ import annotations

from sqlalchemy import TextClause, bindparam, text

# The columns every task read returns: the task, its customer's name, and the customer's
# Bill To and Ship To address with the lowest id of each kind (R4).
_TASK_COLUMNS = """
    t.id, t.employee_id, t.customer_id, t.kind, t.title, t.notes,
    t.starts_at, t.ends_at, t.alarm_minutes, t.sync, t.needs_review,
    t.external_ref, t.updated_at,
    c.name AS customer_name,
    b.id AS bill_id, b.line1 AS bill_line1, b.line2 AS bill_line2, b.city AS bill_city,
    b.region AS bill_region, b.postal_code AS bill_postal_code, b.country AS bill_country,
    s.id AS ship_id, s.line1 AS ship_line1, s.line2 AS ship_line2, s.city AS ship_city,
    s.region AS ship_region, s.postal_code AS ship_postal_code, s.country AS ship_country
"""

# R4: "the one with the lowest id" is a correlated MIN per kind in the join condition, so a
# customer with many addresses still yields exactly one row per task (no fan-out), and the
# whole read stays one statement however many tasks there are.
_TASK_FROM = """
    FROM task t
    LEFT JOIN customer c ON c.id = t.customer_id
    LEFT JOIN address b ON b.id = (
        SELECT MIN(a.id) FROM address a
        WHERE a.customer_id = t.customer_id AND a.kind = 'bill_to')
    LEFT JOIN address s ON s.id = (
        SELECT MIN(a.id) FROM address a
        WHERE a.customer_id = t.customer_id AND a.kind = 'ship_to')
"""

PUSH_CANDIDATES: TextClause = text(
    f"""
    -- R1: one employee's Customer and Delivery tasks with Sync ticked, addresses joined (R4).
    -- R2 (start later than now) is the engine's rule: it compares aware times, not text.
    SELECT {_TASK_COLUMNS} {_TASK_FROM}
    WHERE t.employee_id = :employee_id
      AND t.sync = 1
      AND t.kind IN ('customer', 'delivery')
    ORDER BY t.starts_at, t.id
    """  # constant fragments only: every value is a bound parameter
)

TASKS_BY_ID: TextClause = text(
    f"""
    -- The tasks that still exist among the ids asked for (a missing id was deleted in System Five).
    SELECT {_TASK_COLUMNS} {_TASK_FROM}
    WHERE t.id IN :task_ids
    """
).bindparams(bindparam("task_ids", expanding=True))

TASK_BY_EXTERNAL_REF: TextClause = text(
    f"""
    -- R16b: the task imported from one Outlook event (external_ref is unique).
    SELECT {_TASK_COLUMNS} {_TASK_FROM}
    WHERE t.external_ref = :external_ref
    """
)

INSERT_IMPORTED_TASK: TextClause = text(
    """
    -- R9: an imported event becomes a kind-Outlook task, Sync unticked, needs-review,
    -- carrying the event id so a lost mapping can be rebuilt (R16b). The id comes from
    -- AUTOINCREMENT / identity: never a reused id. Selecting from employee inserts nothing
    -- (no id returned) for an unknown employee, with or without foreign keys enforced;
    -- the casts give PostgreSQL the parameter types a SELECT list cannot infer.
    INSERT INTO task (employee_id, customer_id, kind, title, notes, starts_at, ends_at,
                      alarm_minutes, sync, needs_review, external_ref, updated_at)
    SELECT e.id, NULL, 'outlook', CAST(:title AS TEXT), CAST(:notes AS TEXT),
           CAST(:starts_at AS TEXT), CAST(:ends_at AS TEXT), CAST(:alarm_minutes AS INTEGER),
           0, 1, CAST(:external_ref AS TEXT), CAST(:updated_at AS TEXT)
    FROM employee e
    WHERE e.id = :employee_id
    RETURNING id
    """
)

UPDATE_TASK_FROM_EVENT: TextClause = text(
    """
    -- R10/R12/R12b: overwrite the fields s5sync owns and flag needs-review (R13), only if
    -- nobody saved the task since it was read (optimistic: 0 rows = saved meanwhile).
    -- COALESCE: rows written by other tools may have no updated_at; they read as ''.
    UPDATE task
    SET title = :title, notes = :notes, starts_at = :starts_at, ends_at = :ends_at,
        alarm_minutes = :alarm_minutes, needs_review = 1, updated_at = :updated_at
    WHERE id = :task_id AND COALESCE(updated_at, '') = :seen_updated_at
    """
)

TASKS_SAVED_SINCE: TextClause = text(
    """
    -- R14b, the store-wide watcher: every task created or saved at or after `since` (the
    -- watermark less an overlap, so a save whose updated_at is equal to or a little older
    -- than one already seen is still found), or inserted since (an id above the highest
    -- seen: ids are never reused), whatever its updated_at holds, NULL included. Two range
    -- scans, on an index of updated_at and on the primary key (docs/operations.md): a
    -- UNION in a derived table, ordered outside it: SQLite scans the whole table for an
    -- OR, or a UNION, with ORDER BY (EXPLAIN QUERY PLAN); this form searches both indexes.
    -- The watcher compares the times and drops the (id, updated_at) pairs it saw before.
    SELECT s.id, s.employee_id, s.updated_at FROM (
        SELECT t.id, t.employee_id, t.updated_at FROM task t WHERE t.updated_at >= :since
        UNION
        SELECT n.id, n.employee_id, n.updated_at FROM task n WHERE n.id > :last_id
    ) s
    ORDER BY s.id
    LIMIT :limit
    """
)

LATEST_SAVE: TextClause = text(
    """
    -- R14b: where the watcher starts in a store it has never watched (no back-fill: every
    -- user's first cycle reads System Five whole). Each MAX is one index probe (a scalar
    -- subquery each: SQLite optimises only a lone MIN/MAX).
    SELECT (SELECT MAX(t.updated_at) FROM task t) AS latest,
           (SELECT MAX(t.id) FROM task t) AS last_id
    """
)

EMPLOYEES: TextClause = text(
    """
    -- R20: every employee, for onboarding (matched to a Microsoft user by e-mail).
    SELECT id, code, name, email FROM employee ORDER BY name, id
    """
)

EMPLOYEE_BY_EMAIL: TextClause = text(
    """
    -- R20: the employee whose e-mail matches a signing-in user's, any letter case.
    SELECT id, code, name, email FROM employee
    WHERE LOWER(email) = LOWER(:email)
    ORDER BY id
    """
)
