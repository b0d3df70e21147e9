"""Demo data for the System Five emulator: a believable store, deterministic per seed.

The employees' e-mails match the Microsoft 365 emulator's demo users, so onboarding
matches them (R20). About 20 customers (some with Bill To only, some with non-ASCII
names and addresses, R4/R23), about 40 tasks of every kind over the three weeks from
`today`, some with Sync ticked (R1), a few flagged needs-review (R13) so Today's Tasks
shows green rows.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, insert, select

from s5emu.desk import STAMP_FORMAT, AddressForm, Desk
from s5emu.schema import TASK_KINDS, WALL_FORMAT, create_schema, engine_for
from s5emu.schema import employee as employee_table
from s5emu.schema import task as task_table

DEMO_EMPLOYEES = (
    ("E001", "Alice Martin", "alice@contoso.example"),
    ("E002", "Bob Nguyen", "bob@contoso.example"),
    ("E003", "Carol Diaz", "carol@contoso.example"),
    ("E004", "Dave Okafor", "dave@contoso.example"),
)

# (name, bill_to, ship_to or None); addresses are (line1, city, region, postal code).
_Place = tuple[str, str, str, str]
DEMO_CUSTOMERS: tuple[tuple[str, _Place, _Place | None], ...] = (
    ("Zoë Brontë", ("12 Haworth Lane", "Albany", "NY", "12207"), None),
    (
        "Søren Ærø",
        ("Østergade 4", "København", "", "1100"),
        ("88 Harbor St", "Brooklyn", "NY", "11201"),
    ),
    ("José Núñez", ("Calle Mayor 7, 2º", "Newark", "NJ", "07102"), None),
    (
        "Chloé Lefèvre",
        ("5 Rue de la Paix", "Hoboken", "NJ", "07030"),
        ("41 Washington St", "Hoboken", "NJ", "07030"),
    ),
    ("Jürgen Weiß", ("Königstraße 21", "Yonkers", "NY", "10701"), None),
    (
        "Harbor View Dental",
        ("200 Water St", "New York", "NY", "10038"),
        ("202 Water St, Suite 3", "New York", "NY", "10038"),
    ),
    ("Maple & Oak Interiors", ("77 Elm Ave", "Stamford", "CT", "06901"), None),
    (
        "Riverside Bakery",
        ("9 River Rd", "Jersey City", "NJ", "07302"),
        ("11 River Rd (rear door)", "Jersey City", "NJ", "07302"),
    ),
    ("Patel Family", ("310 Oak St", "Queens", "NY", "11354"), None),
    (
        "Greenleaf Offices",
        ("1 Park Plaza", "White Plains", "NY", "10601"),
        ("3 Park Plaza, Loading Dock", "White Plains", "NY", "10601"),
    ),
    ("Sunrise Café", ("48 Main St", "New Rochelle", "NY", "10801"), None),
    (
        "O'Brien Hardware",
        ("15 Mill St", "Paterson", "NJ", "07501"),
        ("17 Mill St", "Paterson", "NJ", "07501"),
    ),
    ("Łukasz Wójcik", ("Ul. Długa 3", "Bayonne", "NJ", "07002"), None),
    (
        "Citywide Realty",
        ("500 5th Ave", "New York", "NY", "10110"),
        ("120 W 45th St", "New York", "NY", "10036"),
    ),
    ("Nguyen Residence", ("27 Cherry Ln", "Edison", "NJ", "08817"), None),
    (
        "Blue Door Gallery",
        ("64 Spring St", "New York", "NY", "10012"),
        ("66 Spring St", "New York", "NY", "10012"),
    ),
    ("Ana Conceição", ("Rua Augusta 101", "Newark", "NJ", "07105"), None),
    (
        "Hillside School",
        ("2 Academy Rd", "Montclair", "NJ", "07042"),
        ("2 Academy Rd, Gym entrance", "Montclair", "NJ", "07042"),
    ),
    ("Kim's Tailoring", ("90 Broad St", "Bridgeport", "CT", "06604"), None),
    (
        "Lakeside Clinic",
        ("400 Lake Ave", "Rye", "NY", "10580"),
        ("402 Lake Ave", "Rye", "NY", "10580"),
    ),
)

_TITLES = {
    "customer": ("Measure living room", "Consultation", "Quote walkthrough", "Fitting"),
    "delivery": ("Deliver sofa", "Deliver dining set", "Deliver rug", "Install shelving"),
    "service": ("Repair recliner", "Warranty check", "Touch-up finish"),
    "internal": ("Team meeting", "Stock count", "Training"),
    "outlook": ("Call back supplier", "Planning session"),
}


class DemoError(RuntimeError):
    """The database already holds data; the demo seeds only an empty store."""


def seed_demo(url: str, today: date, *, seed: int = 5) -> None:
    """Create the schema at `url` and fill it with the demo store (same seed, same data)."""
    create_schema(url)
    engine = engine_for(url)
    rng = random.Random(seed)
    stamp = datetime.combine(today, time(7, 0), tzinfo=UTC)
    desk = Desk(engine, clock=lambda: stamp)
    try:
        with engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(employee_table)).scalar_one():
                raise DemoError(f"{engine.url.render_as_string()} already has employees")
        employee_ids = [desk.add_employee(*person) for person in DEMO_EMPLOYEES]
        customer_ids = []
        for name, bill_to, ship_to in DEMO_CUSTOMERS:
            places = [("bill_to", bill_to)] + ([("ship_to", ship_to)] if ship_to else [])
            country = "DK" if name == "Søren Ærø" else "US"
            addresses = [
                AddressForm(
                    kind, line1, city, postal, region, country if kind == "bill_to" else "US"
                )
                for kind, (line1, city, region, postal) in places
            ]
            slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())[:12]
            phone = f"+1 555 {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
            customer_ids.append(
                desk.add_customer(name, addresses, phone=phone, email=f"{slug}@example.net")
            )
        rows = _demo_tasks(rng, today, employee_ids, customer_ids, stamp.strftime(STAMP_FORMAT))
        with engine.begin() as conn:
            conn.execute(insert(task_table), rows)
    finally:
        engine.dispose()


def _demo_tasks(
    rng: random.Random,
    today: date,
    employee_ids: list[int],
    customer_ids: list[int],
    stamp: str,
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for index in range(40):
        # Every kind appears; customer and delivery tasks are the ones s5sync pushes (R1).
        kind = TASK_KINDS[index % len(TASK_KINDS)] if index < 10 else rng.choice(TASK_KINDS[:3])
        day = today + timedelta(days=rng.randrange(0, 21))
        start = datetime.combine(day, time(rng.randrange(8, 17), rng.choice((0, 15, 30, 45))))
        end = start + timedelta(minutes=rng.choice((30, 45, 60, 90, 120)))
        has_customer = kind in ("customer", "delivery", "service")
        pushable = kind in ("customer", "delivery")
        needs_review = kind == "outlook" or index == 7
        rows.append(
            {
                "employee_id": employee_ids[index % len(employee_ids)],
                "customer_id": rng.choice(customer_ids) if has_customer else None,
                "kind": kind,
                "title": rng.choice(_TITLES[kind]),
                "notes": "Bring samples." if rng.random() < 0.4 else "",
                "starts_at": start.strftime(WALL_FORMAT),
                "ends_at": end.strftime(WALL_FORMAT),
                "alarm_minutes": rng.choice((None, 15, 30, 60)),
                "sync": int(pushable and rng.random() < 0.6),
                "needs_review": int(needs_review),
                "external_ref": None,
                "updated_at": stamp,
            }
        )
    return rows
