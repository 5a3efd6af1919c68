"""The flask-smorest Blueprint every resource uses, with one change: a query string is read by its
schema's own rule (``QuerySchema``: unknown parameters refused with 422 naming them). webargs
drops unknown query keys by default, so a misspelt filter (``?proces_key=``) would silently list
everything."""

from __future__ import annotations

import flask_smorest
from webargs.flaskparser import FlaskParser


class _Parser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()
