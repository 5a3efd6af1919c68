"""Run-time guards: steps, wall time, sizes and allocated units of one evaluation, and
the check that only plain data comes out."""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import operator
import time
import uuid

from engine.workflow.scripting.language import ALLOWED_METHODS, Limits, ScriptLimitExceeded, ScriptRefused, _max_bits

_NUM = (int, float, complex)
_SEQ = (str, bytes, list, tuple)
_COLL = (set, frozenset, dict)
_COPYING_METHODS = frozenset({"upper", "lower", "strip", "split"})
_PLAIN_METHODS = frozenset(
    {"get", "keys", "values", "items", "append", "startswith", "endswith", "count", "index", "isoformat"}
)


def _too(what: str) -> ScriptLimitExceeded:
    return ScriptLimitExceeded(f"script limit exceeded: {what}")


def _checked_format(fmt) -> None:
    """Refuse printf-style specs with '*' or a width/precision beyond 3 digits."""
    s = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    i, n = 0, len(s)
    while True:
        i = s.find("%", i)
        if i < 0 or i + 1 >= n:
            return
        i += 1
        if s[i] == "(":  # mapping key, parentheses nest as in CPython
            depth, i = 1, i + 1
            while i < n and depth:
                depth += {"(": 1, ")": -1}.get(s[i], 0)
                i += 1
        while i < n and s[i] in "#0- +":
            i += 1
        for part in (0, 1):
            if part and (i >= n or s[i] != "."):
                break
            if part:
                i += 1
            j = i
            while i < n and (s[i].isdigit() or s[i] == "*"):
                i += 1
            field = s[j:i]
            if "*" in field or len(field) > 3:
                raise _too("a '%' format width or precision above 999 (or '*')")
        i += 1


class _Run:
    """The state of one evaluation; guards are its methods, bound into the namespace."""

    __slots__ = ("steps", "alloc", "deadline", "L", "max_steps", "max_bits", "max_seq", "max_alloc")

    def __init__(self, limits: Limits):
        self.L = limits
        self.steps = 0
        self.alloc = 0
        self.max_steps = limits.max_steps
        self.max_bits = _max_bits(limits)
        self.max_seq = limits.max_sequence
        self.max_alloc = limits.max_alloc
        self.deadline = time.monotonic() + limits.max_seconds

    # --- bookkeeping
    def _sg_tick(self):
        self.steps += 1
        if self.steps > self.max_steps:
            raise _too(f"more than {self.max_steps} loop steps")
        if time.monotonic() > self.deadline:
            raise _too(f"ran longer than {self.L.max_seconds} s")
        return True

    def _clock(self):
        if time.monotonic() > self.deadline:
            raise _too(f"ran longer than {self.L.max_seconds} s")

    def _size(self, n: int, weight: int = 1) -> None:
        """Account a produced str/list/… of n chars or items (weight: a set or dict entry costs
        several list slots)."""
        if n > self.max_seq:
            raise _too(f"a result of more than {self.max_seq} items or characters")
        self.alloc += n * weight
        if self.alloc > self.max_alloc:
            raise _too(f"more than {self.max_alloc} items or characters produced")
        if time.monotonic() > self.deadline:
            raise _too(f"ran longer than {self.L.max_seconds} s")

    def _bits(self, b: int) -> None:
        if b > self.max_bits:
            raise _too(f"an integer of more than {self.L.max_int_digits} digits")

    # --- operators: check the operands' sizes first, then compute
    def _ck_add(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            if a.bit_length() >= self.max_bits or b.bit_length() >= self.max_bits:
                self._bits(max(a.bit_length(), b.bit_length()) + 1)
        elif isinstance(a, _SEQ) and isinstance(b, _SEQ):
            self._size(len(a) + len(b))

    def _ck_sub(self, a, b):
        if isinstance(a, _COLL):
            self._size(len(a), 4)
        else:
            self._ck_add(a, b)

    def _ck_mul(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            self._bits(a.bit_length() + b.bit_length())
        elif isinstance(a, _SEQ) and isinstance(b, int):
            self._size(len(a) * max(b, 0))
        elif isinstance(b, _SEQ) and isinstance(a, int):
            self._size(len(b) * max(a, 0))

    def _ck_pow(self, a, b):
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            self._bits(b if b > self.max_bits else math.ceil(b * math.log2(abs(a))))

    def _ck_lshift(self, a, b):
        if isinstance(a, int) and isinstance(b, int) and a and b > 0:
            self._bits(a.bit_length() + b if b <= self.max_bits else b)

    def _ck_mod(self, a, b):
        if isinstance(a, (str, bytes)):
            _checked_format(a)
            self._size(len(a) + _text_size(b, self.max_seq))

    def _ck_or(self, a, b):
        if isinstance(a, _COLL) and isinstance(b, _COLL):
            self._size(len(a) + len(b), 4)
        elif isinstance(a, _COLL):
            self._size(len(a), 4)

    _ck_xor = _ck_or
    _ck_and = _ck_or

    def _sg_add(self, a, b):
        self._ck_add(a, b)
        return a + b

    def _sg_sub(self, a, b):
        self._ck_sub(a, b)
        return a - b

    def _sg_mul(self, a, b):
        self._ck_mul(a, b)
        return a * b

    def _sg_pow(self, a, b):
        self._ck_pow(a, b)
        return a**b

    def _sg_lshift(self, a, b):
        self._ck_lshift(a, b)
        return a << b

    def _sg_mod(self, a, b):
        self._ck_mod(a, b)
        return a % b

    def _sg_or(self, a, b):
        self._ck_or(a, b)
        return a | b

    def _sg_xor(self, a, b):
        self._ck_xor(a, b)
        return a ^ b

    def _sg_and(self, a, b):
        self._ck_and(a, b)
        return a & b

    # in-place forms for 'x op= y' (lists, sets and dicts stay the same object, as in Python)
    def _sg_iadd(self, a, b):
        self._ck_add(a, b)
        return operator.iadd(a, b)

    def _sg_isub(self, a, b):
        self._ck_sub(a, b)
        return operator.isub(a, b)

    def _sg_imul(self, a, b):
        self._ck_mul(a, b)
        return operator.imul(a, b)

    def _sg_ipow(self, a, b):
        self._ck_pow(a, b)
        return operator.ipow(a, b)

    def _sg_ilshift(self, a, b):
        self._ck_lshift(a, b)
        return operator.ilshift(a, b)

    def _sg_imod(self, a, b):
        self._ck_mod(a, b)
        return operator.imod(a, b)

    def _sg_ior(self, a, b):
        self._ck_or(a, b)
        return operator.ior(a, b)

    def _sg_ixor(self, a, b):
        self._ck_xor(a, b)
        return operator.ixor(a, b)

    def _sg_iand(self, a, b):
        self._ck_and(a, b)
        return operator.iand(a, b)

    # --- other expressions
    def _sg_slice(self, obj, lo, hi, step):
        r = obj[lo:hi:step]
        if isinstance(r, (str, bytes, list, tuple)):
            self._size(len(r))
        return r

    def _sg_star(self, x):
        try:
            n = len(x)
        except TypeError:
            return x  # an iterator: generator expressions tick as they go
        self._size(n, 4 if isinstance(x, _COLL) else 1)
        return x

    def _sg_fmt(self, v):
        if type(v) is str:
            self._size(len(v))
        else:
            self._size(_text_size(v, self.max_seq))
        return v

    def _sg_meth(self, obj, name, /, *args, **kw):
        if time.monotonic() > self.deadline:
            raise _too(f"ran longer than {self.L.max_seconds} s")
        if name in _PLAIN_METHODS:  # no copy, no growth beyond one item
            return getattr(obj, name)(*args, **kw)
        if name not in ALLOWED_METHODS:  # checked statically too
            raise ScriptRefused([(0, f"method '.{name}' is not allowed")])
        if isinstance(obj, (str, bytes)):
            if name == "join" and args:
                items = args[0] if isinstance(args[0], (list, tuple)) else self._sg_b_list(args[0])
                total = max(len(items) - 1, 0) * len(obj)
                if total <= self.max_seq:
                    try:
                        total += sum(map(len, items))
                    except TypeError:
                        pass  # not strings: join raises its own error
                self._size(total)
                return obj.join(items, *args[1:], **kw)
            if name == "replace" and len(args) >= 2:
                old, new = args[0], args[1]
                count = args[2] if len(args) > 2 else kw.get("count", -1)
                if isinstance(old, (str, bytes)) and isinstance(new, (str, bytes)):
                    hits = obj.count(old) if old else len(obj) + 1
                    if isinstance(count, int) and count >= 0:
                        hits = min(hits, count)
                    self._size(len(obj) + hits * max(len(new) - len(old), 0))
            elif name in _COPYING_METHODS:
                self._size(len(obj))
        elif name == "extend" and isinstance(obj, list) and args:
            items = args[0]
            if not hasattr(items, "__len__"):
                items = self._sg_b_list(items)
            if len(obj) + len(items) > self.max_seq:
                raise _too(f"a list of more than {self.max_seq} items")
            self._size(len(items))
            return obj.extend(items)
        return getattr(obj, name)(*args, **kw)

    # --- builtins that need a guard
    def _sg_b_range(self, *args):
        self._clock()
        r = range(*args)
        try:
            n = len(r)
        except OverflowError:
            n = self.L.max_range + 1
        if n > self.L.max_range:
            raise _too(f"a range of more than {self.L.max_range} numbers")
        return r

    def _sg_b_str(self, *args, **kw):
        if len(args) == 1 and not kw:
            v = args[0]
            self._size(len(v) if type(v) is str else _text_size(v, self.max_seq))
        r = str(*args, **kw)
        if len(args) != 1 or kw:
            self._size(len(r))
        return r

    def _sg_b_round(self, number, ndigits=None):
        # round(int, -n) computes 10**n first
        if isinstance(ndigits, int) and abs(ndigits) > self.L.max_int_digits:
            raise _too(f"round() to more than {self.L.max_int_digits} digits")
        return round(number, ndigits)

    def _sg_b_int(self, *args, **kw):
        if args and isinstance(args[0], (str, bytes)) and len(args[0]) > self.L.max_int_digits + 50:
            raise _too(f"an integer of more than {self.L.max_int_digits} digits")
        return int(*args, **kw)

    def _collect(self, fn, args, kw, weight=1):
        self._clock()
        if args:
            try:
                n = len(args[0])
            except TypeError:
                n = 0
            if n > self.max_seq:
                raise _too(f"a result of more than {self.max_seq} items")
        r = fn(*args, **kw)
        self._size(len(r), weight)
        return r

    def _sg_b_list(self, *args, **kw):
        return self._collect(list, args, kw)

    def _sg_b_set(self, *args, **kw):
        return self._collect(set, args, kw, 4)

    def _sg_b_dict(self, *args, **kw):
        return self._collect(dict, args, kw, 4)

    def _sg_b_sorted(self, *args, **kw):
        return self._collect(sorted, args, kw)

    def _sg_b_sum(self, iterable, /, start=0):
        self._clock()
        if isinstance(start, _NUM):
            r = sum(iterable, start)
            if isinstance(r, int):
                self._bits(r.bit_length())
            return r
        acc = start  # sum(lists, []) and the like: a bounded concatenation
        for x in iterable:
            self._sg_tick()
            acc = self._sg_add(acc, x)
        return acc

    def _sg_b_min(self, *args, **kw):
        self._clock()
        return min(*args, **kw)

    def _sg_b_max(self, *args, **kw):
        self._clock()
        return max(*args, **kw)

    def _sg_b_any(self, it):
        self._clock()
        return any(it)

    def _sg_b_all(self, it):
        self._clock()
        return all(it)


def _text_size(v, limit: int) -> int:
    """An upper-ish estimate of len(str(v)) / len(repr(v)), stopping early past ``limit``."""
    total = 0
    stack = [v]
    while stack:
        x = stack.pop()
        t = type(x)
        if t is str or t is bytes:
            total += len(x) * (1 if t is str else 4) + 3
        elif t is int:
            total += x.bit_length() // 3 + 2
        elif t is float or t is bool or x is None or t is complex:
            total += 50
        elif isinstance(x, dict):
            total += 2 + 4 * len(x)
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(x)
            stack.extend(x)
        else:
            total += 100
        if total > limit:
            raise _too(f"text of more than {limit} characters")
    return total


_DATA_SCALARS = (
    type(None),
    bool,
    int,
    float,
    str,
    bytes,
    _dt.date,
    _dt.time,
    _dt.timedelta,
    decimal.Decimal,
    uuid.UUID,
)


def _check_data(values, limits: Limits, extra_types: tuple) -> None:
    """Only plain data may be left in task data or returned: no functions, generators, views,
    ranges, …; bounded size (aliases counted each time, so cycles are refused) and depth."""
    units = 0
    stack = [(v, 0) for v in values]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (str, bytes)):
            units += len(v) + 1
        elif isinstance(v, dict):
            units += 1 + len(v)
            if v:
                if depth >= limits.max_depth:
                    raise _too(f"data nested deeper than {limits.max_depth}")
                stack.extend((x, depth + 1) for x in v.keys())
                stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            units += 1 + len(v)
            if v:
                if depth >= limits.max_depth:
                    raise _too(f"data nested deeper than {limits.max_depth}")
                stack.extend((x, depth + 1) for x in v)
        elif isinstance(v, _DATA_SCALARS) or (extra_types and isinstance(v, extra_types)):
            units += 1
        else:
            raise TypeError(f"a script may only produce plain data, not a value of type '{type(v).__name__}'")
        if units > limits.max_data:
            raise _too(f"data larger than {limits.max_data} units (or cyclic)")


_SCALAR_RESULT = frozenset({bool, int, float, str, type(None)})
