"""Cut the part of Graph's v1.0 CSDL the emulator answers with (issue 24, fidelity suite).

Run by hand when the emulator grows a resource (the test suite only reads the result):

    git -C <msgraph-metadata> show <commit>:clean_v10_metadata/cleanMetadata.xml > clean.xml
    uv run python tests/integration/m365emu_graph/csdl/extract_subset.py clean.xml <commit>

Kept: the ROOTS and every type they reach through structural properties and base types
(navigation properties are kept by name; only those in FOLLOWED bring their target type,
the others may not appear in an answer at all); annotations are dropped. The result,
`graph-v1.0-subset.xml`, names its source and commit in its first comment.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

EDM = "http://docs.oasis-open.org/odata/ns/edm"
EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
ROOTS = (
    "event",
    "outlookCategory",
    "mailboxSettings",
    "user",
    "subscription",
    "changeNotificationCollection",
)
# Navigation properties the emulator can return inline ($expand).
FOLLOWED = {("event", "singleValueExtendedProperties")}
KINDS = ("EntityType", "ComplexType", "EnumType")


def _local(type_name: str) -> str | None:
    inner = type_name.removeprefix("Collection(").removesuffix(")")
    return inner.split(".", 1)[1] if inner.startswith("graph.") else None


def extract(source: Path, commit: str) -> str:
    schema = next(
        s
        for s in ET.parse(source).getroot().iter(f"{{{EDM}}}Schema")  # noqa: S314 - Microsoft's file
        if s.get("Namespace") == "microsoft.graph"
    )
    types = {
        element.get("Name", ""): element
        for kind in KINDS
        for element in schema.findall(f"{{{EDM}}}{kind}")
    }
    wanted: list[str] = []
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.append(name)
        element = types[name]
        base = element.get("BaseType")
        if base and _local(base):
            pending.append(str(_local(base)))
        for child in element:
            tag = child.tag.split("}")[1]
            target = _local(child.get("Type", ""))
            if target is None:
                continue
            if tag == "Property" or (
                tag == "NavigationProperty" and (name, child.get("Name")) in FOLLOWED
            ):
                pending.append(target)
    ET.register_namespace("", EDM)
    ET.register_namespace("edmx", EDMX)
    out = ET.Element(f"{{{EDM}}}Schema", {"Namespace": "microsoft.graph", "Alias": "graph"})
    for name in sorted(wanted, key=lambda n: (KINDS.index(types[n].tag.split("}")[1]), n)):
        element = types[name]
        copy = ET.SubElement(out, element.tag, dict(element.attrib))
        for child in element:
            if child.tag.split("}")[1] in ("Property", "NavigationProperty", "Member"):
                ET.SubElement(copy, child.tag, dict(child.attrib))
    ET.indent(out)
    header = (
        "<!-- A subset of Microsoft Graph's v1.0 CSDL: microsoftgraph/msgraph-metadata, "
        f"clean_v10_metadata/cleanMetadata.xml at commit {commit} (MIT licence). Cut by "
        "extract_subset.py: the types the emulator answers with (roots "
        + ", ".join(ROOTS)
        + ") and all they reach; annotations dropped. -->\n"
    )
    return header + ET.tostring(out, encoding="unicode") + "\n"


if __name__ == "__main__":
    text = extract(Path(sys.argv[1]), sys.argv[2])
    (Path(__file__).parent / "graph-v1.0-subset.xml").write_text(text, encoding="utf-8")
