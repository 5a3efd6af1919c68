"""Parsing untrusted XML: no entities, no DTD, no network, bounded size and depth."""
from __future__ import annotations

from lxml import etree

MAX_XML_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64


class UnsafeXml(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


_PARSER_KW = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def parse(data: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._ElementTree:
    """Parse ``data`` or raise UnsafeXml / etree.XMLSyntaxError.

    A BPMN, DMN or any file we accept never needs a DOCTYPE, so any document declaring one is
    refused before libxml2 sees its entities (XXE, billion laughs).
    """
    if len(data) > max_bytes:
        raise UnsafeXml(f"文件过大：{len(data)} 字节，上限 {max_bytes} 字节 / file too large: "
                        f"{len(data)} bytes, limit {max_bytes}")
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in data[:65536].upper() or b"<!ENTITY" in data[:65536].upper():
        raise UnsafeXml("不允许 DOCTYPE 或实体声明 / DOCTYPE and entity declarations are not allowed")
    del head
    parser = etree.XMLParser(**_PARSER_KW)
    tree = etree.ElementTree(etree.fromstring(data, parser))
    if tree.docinfo.doctype:
        raise UnsafeXml("不允许 DOCTYPE / DOCTYPE is not allowed")
    _check_depth(tree.getroot())
    return tree


def _check_depth(root) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnsafeXml(f"XML 嵌套过深（超过 {MAX_DEPTH} 层）/ XML nested deeper than {MAX_DEPTH} levels",
                            getattr(node, "sourceline", None))
        stack.extend((child, depth + 1) for child in node)
