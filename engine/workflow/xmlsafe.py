"""Parsing untrusted XML: no entities, no DTD, no network, bounded size and depth.

Every BPMN and DMN file an analyst uploads goes through ``parse``. Defences, in order:

1. size: more than ``max_bytes`` is refused before parsing;
2. DTDs: a document that declares a DOCTYPE or an ENTITY anywhere (UTF-8 bytes, or the text of a
   UTF-16/32 document) is refused before libxml2 sees it — that stops external entities (XXE:
   ``file:///etc/passwd``, ``http://…``) and entity expansion (billion laughs, quadratic blow-up);
3. the parser itself runs with entity resolution, DTD loading and network access off, and without
   ``huge_tree`` (libxml2 then caps depth at 256 and entity amplification) — a second line of
   defence if a DTD slipped past step 2, and the DOCTYPE is checked again on the parsed tree;
4. depth: elements nested deeper than ``MAX_DEPTH`` are refused (BPMN needs a dozen levels).

A BPMN or DMN file never needs a DTD, so none is accepted. Limits: a DOCTYPE written inside a
comment or CDATA section is refused too (a harmless false alarm).
"""

from __future__ import annotations

import codecs

from lxml import etree

MAX_XML_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64

DTD_REFUSED = "不允许 DOCTYPE 或实体声明（外部实体、实体展开）/ DOCTYPE and entity declarations are not allowed"
TOO_DEEP = f"XML 嵌套过深（超过 {MAX_DEPTH} 层）/ XML nested deeper than {MAX_DEPTH} levels"


class UnsafeXml(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


_PARSER_KW = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    attribute_defaults=False,
    huge_tree=False,
    remove_comments=False,
)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _declares_dtd(data: bytes) -> bool:
    markers = (b"<!DOCTYPE", b"<!ENTITY")
    if any(m in data for m in markers):
        return True
    head = data[:4]
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return _declares_dtd_text(data[len(bom) :], enc)
    if b"\x00" in head:  # UTF-16/32 without a BOM: '<' followed or preceded by NULs
        for enc in ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"):
            if _declares_dtd_text(data, enc):
                return True
    return False


def _declares_dtd_text(data: bytes, encoding: str) -> bool:
    text = data.decode(encoding, errors="replace")
    return "<!DOCTYPE" in text or "<!ENTITY" in text


def parse(data: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._ElementTree:
    """Parse ``data`` or raise UnsafeXml / etree.XMLSyntaxError."""
    if len(data) > max_bytes:
        raise UnsafeXml(
            f"文件过大：{len(data)} 字节，上限 {max_bytes} 字节 / file too large: {len(data)} bytes, limit {max_bytes}"
        )
    if _declares_dtd(data):
        raise UnsafeXml(DTD_REFUSED)
    parser = etree.XMLParser(**_PARSER_KW)
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser))
    except etree.XMLSyntaxError as e:
        msg = str(e.msg or e)
        if "depth" in msg.lower():
            raise UnsafeXml(TOO_DEEP, e.lineno) from None
        if "amplification" in msg.lower() or "pereference" in msg.lower():
            raise UnsafeXml(DTD_REFUSED, e.lineno) from None
        raise
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXml(DTD_REFUSED)
    _check_depth(tree.getroot())
    return tree


def _check_depth(root) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnsafeXml(TOO_DEEP, getattr(node, "sourceline", None))
        stack.extend((child, depth + 1) for child in node)
