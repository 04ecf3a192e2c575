"""Member X.500 names and holding identity hashes, following Corda 5's rules.

Corda 5 names every member of an application network with an X.500 name
(``net.corda.v5.base.types.MemberX500Name`` in corda-api) and identifies the
vnode that a member runs in one group by a hash of that name and the group ID.
This module reproduces both so that Accord computes the same short hashes as
Corda for the same names:

- A name contains only the attributes CN, OU, O, L, ST and C, each at most
  once and each in its own RDN. O, L and C are mandatory.
- Values are trimmed as Java's ``String.trim`` does and must not be blank.
  O must be shorter than 128 characters, and CN, OU, L and ST shorter than 64,
  counted in UTF-16 code units as Java counts them.
- C is an ISO 3166-1 alpha-2 code in upper case, or ``ZZ`` for an unspecified
  country.
- The canonical string lists the attributes in the order CN, OU, O, L, ST, C,
  joined by ", ". It is what Java's ``X500Principal.toString()`` prints for the
  name, and the holding identity hashes are computed over it.
- Beyond Corda's own checks, a value with a backslash that makes Java 17
  misread the string Corda builds when it prints the name is rejected, because
  Corda has no reliable canonical string for such a name.

The module runs inside Temporal's workflow sandbox, so it uses only the
standard library and pydantic and does no I/O.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "ISO_3166_ALPHA2_CODES",
    "SHORT_HASH_LENGTH",
    "UNSPECIFIED_COUNTRY",
    "InvalidX500NameError",
    "MemberX500Name",
    "holding_identity_full_hash",
    "holding_identity_short_hash",
]

ISO_3166_ALPHA2_CODES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    YE YT
    ZA ZM ZW
    """.split()
)
"""The 249 officially assigned ISO 3166-1 alpha-2 country codes.

This is the set that Java 17's ``Locale.getISOCountries()`` returns, which is
the set Corda checks the C attribute against.
"""

UNSPECIFIED_COUNTRY = "ZZ"
"""Country code that Corda accepts, besides the ISO codes, for an unspecified country."""

SHORT_HASH_LENGTH = 12
"""Number of leading hex characters of the full hash that form the short hash."""

# Attribute keywords in canonical order, with the attribute names of MemberX500Name.
_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("CN", "common_name"),
    ("OU", "organization_unit"),
    ("O", "organization"),
    ("L", "locality"),
    ("ST", "state"),
    ("C", "country"),
)
_MANDATORY_KEYWORDS = ("O", "L", "C")
_MAX_LENGTHS = {"CN": 64, "OU": 64, "O": 128, "L": 64, "ST": 64}

# Other spellings that X500Principal accepts for the six attributes: the
# keyword S and the attribute type OIDs, written bare or after "OID.".
_KEYWORD_ALIASES = {
    "S": "ST",
    "2.5.4.3": "CN",
    "2.5.4.11": "OU",
    "2.5.4.10": "O",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.6": "C",
}

# Java's String.trim removes every character up to U+0020, control characters included.
_JAVA_TRIM_CHARACTERS = "".join(chr(code) for code in range(0x21))

# Characters that make X500Principal.toString() put a value in double quotes.
_QUOTE_TRIGGERS = frozenset(',+=\n<>#;\\"')

# Characters that may follow a backslash in RFC 2253 and RFC 1779 input.
_ESCAPABLE_CHARACTERS = frozenset(',=+<>#;\\" ')
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_RDN_SEPARATORS = frozenset(",;")

# Characters that RFC 2253 output, such as Java's LdapName, escapes with a backslash.
_RFC2253_SPECIALS = frozenset(',=+<>#;"\\')


class InvalidX500NameError(ValueError):
    """Error raised for an X.500 name that Corda would reject as a member name.

    Attributes:
        name_text: The rejected name as the caller gave it.
        problems: Every problem found, each a sentence fragment naming the
            attribute and the rule it breaks.
    """

    def __init__(self, name_text: str, problems: Sequence[str]) -> None:
        self.name_text = name_text
        self.problems = tuple(problems)
        super().__init__(f"Invalid X.500 name {name_text!r}: " + "; ".join(self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name_text, self.problems))


@functools.total_ordering
class MemberX500Name:
    """X.500 name of a network member, the Python spelling of Corda's ``MemberX500Name``.

    Instances are immutable and hashable. Two names are equal when all six
    attributes are equal, whatever order the attributes had in the parsed
    text. Names sort by CN, OU, O, L, ST and then C, with a missing attribute
    first, as Corda sorts them.

    ``str(name)`` is the canonical form, for example
    ``CN=Alice, OU=Test Dept, O=R3, L=London, C=GB``. A value that contains any
    of ``, + = < > # ; \\ "`` or a line break, or two spaces in a row, is put in
    double quotes, and ``"`` and ``\\`` inside it get a backslash, as in
    ``O="R3, Ltd"``. This is the quoting of Java's ``X500Principal.toString()``,
    which Corda uses, not the backslash escaping of RFC 2253.

    In a pydantic model a ``MemberX500Name`` field accepts an instance or a
    string to parse, and serializes to the canonical string in both python
    and json mode.

    Attributes:
        common_name: CN, the name by which the member is usually known.
        organization_unit: OU, a unit within the organization.
        organization: O, usually the company name.
        locality: L, usually the nearest major city.
        state: ST, the state or province.
        country: C, an ISO 3166-1 alpha-2 code or ZZ.
    """

    __slots__ = (
        "common_name",
        "organization_unit",
        "organization",
        "locality",
        "state",
        "country",
        "_canonical",
    )

    common_name: str | None
    organization_unit: str | None
    organization: str
    locality: str
    state: str | None
    country: str

    def __init__(
        self,
        *,
        common_name: str | None = None,
        organization_unit: str | None = None,
        organization: str,
        locality: str,
        state: str | None = None,
        country: str,
    ) -> None:
        """Create a name from its attribute values.

        Args:
            common_name: CN, or None to leave it out.
            organization_unit: OU, or None to leave it out.
            organization: O.
            locality: L.
            state: ST, or None to leave it out.
            country: C, an upper-case ISO 3166-1 alpha-2 code or ZZ.

        Raises:
            InvalidX500NameError: If any value breaks a Corda rule. The message
                lists every problem.
        """
        raw_values = {
            "CN": common_name,
            "OU": organization_unit,
            "O": organization,
            "L": locality,
            "ST": state,
            "C": country,
        }
        values, problems = _validate_values(raw_values)
        if problems:
            raise InvalidX500NameError(_describe_values(raw_values), problems)
        self._assign(values)

    @classmethod
    def parse(cls, text: str) -> MemberX500Name:
        """Parse an X.500 name written in RFC 2253 or RFC 1779 syntax.

        Attributes may come in any order and RDNs may be separated by ``,`` or
        ``;`` with optional spaces. Keywords are case-insensitive, and ``S``
        and the attribute type OIDs (``2.5.4.3`` or ``OID.2.5.4.3`` for CN, and
        so on) are accepted as X500Principal accepts them. A value may be
        quoted (``O="R3, Ltd"``) or use backslash escapes (``O=R3\\, Ltd``,
        ``O=R3\\2C Ltd``).

        Like Corda, which re-reads the text that X500Principal prints, this
        drops one pair of double quotes that enclose a whole value, so
        ``CN=\\"Alice\\"`` parses to the common name ``Alice``.

        Args:
            text: The name, for example ``"CN=Alice, OU=Test Dept, O=R3, L=London, C=GB"``.

        Returns:
            The parsed name.

        Raises:
            InvalidX500NameError: If the syntax is invalid, or the attributes
                break a Corda rule. A syntax error is reported alone; otherwise
                the message lists every problem.
            TypeError: If ``text`` is not a string.
        """
        if not isinstance(text, str):
            raise TypeError(f"MemberX500Name.parse() needs a str, not {type(text).__name__}")

        try:
            rdns = _DistinguishedNameParser(text).parse()
        except _SyntaxProblem as problem:
            raise InvalidX500NameError(text, [str(problem)]) from None

        raw_values, problems = _collect_attributes(rdns)
        values, value_problems = _validate_values(raw_values)
        problems.extend(value_problems)
        if problems:
            raise InvalidX500NameError(text, problems)

        name = cls.__new__(cls)
        name._assign(values)
        return name

    def _assign(self, values: Mapping[str, str | None]) -> None:
        for keyword, attribute in _ATTRIBUTES:
            object.__setattr__(self, attribute, values[keyword])
        object.__setattr__(self, "_canonical", _format_canonical(values))

    def _values(self) -> tuple[str | None, ...]:
        return tuple(getattr(self, attribute) for _, attribute in _ATTRIBUTES)

    def __setattr__(self, attribute: str, value: object) -> None:
        raise AttributeError(f"MemberX500Name is immutable, so {attribute!r} cannot be set")

    def __delattr__(self, attribute: str) -> None:
        raise AttributeError(f"MemberX500Name is immutable, so {attribute!r} cannot be deleted")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore_name, self._values())

    def __str__(self) -> str:
        return self._canonical

    def __repr__(self) -> str:
        arguments = ", ".join(
            f"{attribute}={getattr(self, attribute)!r}"
            for _, attribute in _ATTRIBUTES
            if getattr(self, attribute) is not None
        )
        return f"MemberX500Name({arguments})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemberX500Name):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, MemberX500Name):
            return NotImplemented
        return self._sort_key() < other._sort_key()

    def _sort_key(self) -> tuple[tuple[int, bytes], ...]:
        # UTF-16 code units in big-endian order compare as Java's String.compareTo does.
        return tuple(
            (0, b"") if value is None else (1, value.encode("utf-16-be", "surrogatepass"))
            for value in self._values()
        )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.json_or_python_schema(
            json_schema=core_schema.no_info_after_validator_function(
                cls.parse, core_schema.str_schema()
            ),
            python_schema=core_schema.no_info_plain_validator_function(cls._from_python_value),
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, when_used="always"
            ),
        )

    @classmethod
    def _from_python_value(cls, value: object) -> MemberX500Name:
        if isinstance(value, MemberX500Name):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        raise PydanticCustomError(
            "member_x500_name_type",
            "Input should be a MemberX500Name or a string such as "
            "'CN=Alice, O=R3, L=London, C=GB', not {input_type}",
            {"input_type": type(value).__name__},
        )


def holding_identity_full_hash(name: MemberX500Name, group_id: str) -> str:
    """Compute the full hash of the holding identity (name, group ID).

    Args:
        name: The member's name.
        group_id: The ID of the membership group.

    Returns:
        64 upper-case hex characters: the SHA-256 digest of the UTF-8 bytes of
        the canonical name followed directly by the group ID, with no separator.
    """
    data = (str(name) + group_id).encode("utf-8")
    return hashlib.sha256(data).hexdigest().upper()


def holding_identity_short_hash(name: MemberX500Name, group_id: str) -> str:
    """Compute the short hash that identifies the member's vnode in REST paths.

    Args:
        name: The member's name.
        group_id: The ID of the membership group.

    Returns:
        The first 12 characters of :func:`holding_identity_full_hash`.
    """
    return holding_identity_full_hash(name, group_id)[:SHORT_HASH_LENGTH]


def _restore_name(*values: str | None) -> MemberX500Name:
    arguments = {attribute: value for (_, attribute), value in zip(_ATTRIBUTES, values)}
    return MemberX500Name(**arguments)


# --- Validation -------------------------------------------------------------


def _validate_values(
    raw_values: Mapping[str, object],
) -> tuple[dict[str, str | None], list[str]]:
    """Trim and check the value of each of the six attributes.

    Returns the trimmed values by keyword, and the problems found.
    """
    values: dict[str, str | None] = {}
    problems: list[str] = []
    missing = [keyword for keyword in _MANDATORY_KEYWORDS if raw_values.get(keyword) is None]
    if missing:
        problems.append(_describe_missing(missing))

    for keyword, _ in _ATTRIBUTES:
        raw = raw_values.get(keyword)
        values[keyword] = None
        if raw is None:
            continue
        if not isinstance(raw, str):
            problems.append(f"attribute {keyword} must be a string, not {type(raw).__name__}")
            continue

        value = raw.strip(_JAVA_TRIM_CHARACTERS)
        problems.extend(_check_value(keyword, value))
        values[keyword] = value

    problems.extend(_check_backslashes(values))
    return values, problems


def _describe_missing(missing: Sequence[str]) -> str:
    if len(missing) == 1:
        return f"attribute {missing[0]} is missing, but a member name needs O, L and C"
    listed = ", ".join(missing[:-1]) + " and " + missing[-1]
    return f"attributes {listed} are missing, but a member name needs O, L and C"


def _check_value(keyword: str, value: str) -> list[str]:
    if not value:
        if keyword in _MANDATORY_KEYWORDS:
            return [f"attribute {keyword} is blank, but it needs a value"]
        return [f"attribute {keyword} is blank, so give it a value or leave it out"]
    if keyword == "C":
        problem = _check_country(value)
        return [] if problem is None else [problem]

    problems = []
    length = len(value.encode("utf-16-le", "surrogatepass")) // 2
    max_length = _MAX_LENGTHS[keyword]
    if length >= max_length:
        problems.append(
            f"attribute {keyword} is {length} characters long, "
            f"but it must be shorter than {max_length}"
        )
    return problems


def _check_country(value: str) -> str | None:
    if value in ISO_3166_ALPHA2_CODES or value == UNSPECIFIED_COUNTRY:
        return None
    upper = value.upper()
    if upper in ISO_3166_ALPHA2_CODES or upper == UNSPECIFIED_COUNTRY:
        return f"attribute C is {value!r}, but country codes are upper case, so write {upper!r}"
    hint = " (the code of the United Kingdom is GB)" if upper == "UK" else ""
    return (
        f"attribute C is {value!r}, which is not an ISO 3166-1 alpha-2 country code "
        f"such as GB or US, nor ZZ for an unspecified country{hint}"
    )


def _check_backslashes(values: Mapping[str, str | None]) -> list[str]:
    """List the values that stop Corda from printing the name correctly.

    Corda prints a name by escaping each value as RFC 2253 requires, joining
    the RDNs with ',' and parsing the result with Java's X500Principal. Java 17
    decides whether a ',' or ';' preceded by two backslashes is escaped by
    counting every backslash since the previous ',' or ';', not only those
    right before it. So a backslash at the end of a value or before a ',' or
    ';' can make Java split the string in the wrong place, and Corda then drops
    an attribute or fails. This repeats Java's split and reports each value
    with such a backslash when the split goes wrong.
    """
    present = [(keyword, value) for keyword, value in values.items() if value]
    rdn_texts = [f"{keyword}={_escape_rfc2253(value)}" for keyword, value in present]
    joined = ",".join(rdn_texts)

    expected_separators = []
    offset = -1
    for rdn_text in rdn_texts[:-1]:
        offset += len(rdn_text) + 1
        expected_separators.append(offset)
    if _java_separator_positions(joined) == expected_separators:
        return []

    return [
        f"attribute {keyword} has a backslash at its end or before ',' or ';', "
        "which Java's X500Principal misreads when Corda prints this name, so remove that backslash"
        for keyword, value in present
        if value.endswith("\\") or "\\," in value or "\\;" in value
    ]


def _escape_rfc2253(value: str) -> str:
    # The value is trimmed, so only the characters below need a backslash.
    escaped = [
        f"\\{character}" if character in _RFC2253_SPECIALS else character for character in value
    ]
    return "".join(escaped)


def _java_separator_positions(text: str) -> list[int]:
    """Return where Java 17's X500Principal splits ``text`` into RDNs."""
    positions = []
    window_start = 0
    for index, character in enumerate(text):
        if character not in _RDN_SEPARATORS:
            continue
        if not _java_reads_as_escaped(text, window_start, index):
            positions.append(index)
        window_start = index + 1
    return positions


def _java_reads_as_escaped(text: str, window_start: int, index: int) -> bool:
    if index == 0 or text[index - 1] != "\\":
        return False
    if index == 1 or text[index - 2] != "\\":
        return True
    return text.count("\\", window_start, index) % 2 == 1


def _collect_attributes(
    rdns: list[list[tuple[str, str | None]]],
) -> tuple[dict[str, object], list[str]]:
    """Map parsed RDNs to attribute values, listing every structural problem.

    Each RDN is a list of (keyword, value) pairs, with None as the value of
    the '#' hex form. The first value of a duplicated attribute is kept, so
    that its value can still be checked.
    """
    raw_values: dict[str, object] = {}
    counts: dict[str, int] = {}
    problems: list[str] = []
    for rdn in rdns:
        if len(rdn) > 1:
            joined = " and ".join(keyword for keyword, _ in rdn)
            problems.append(
                f"attributes {joined} are joined by '+' into one multi-valued RDN, "
                "but each attribute needs its own RDN, so separate them with ','"
            )
        for written_keyword, value in rdn:
            keyword = _canonical_keyword(written_keyword)
            if keyword is None:
                problems.append(
                    f"attribute {written_keyword} is not supported, because a member "
                    "name may contain only CN, OU, O, L, ST and C"
                )
                continue
            counts[keyword] = counts.get(keyword, 0) + 1
            if counts[keyword] > 1:
                continue
            if value is None:
                problems.append(
                    f"attribute {keyword} is written in the '#' hex-encoded form, "
                    "but a member name needs text values"
                )
                value = ""
            raw_values[keyword] = _drop_enclosing_quotes(value.strip(_JAVA_TRIM_CHARACTERS))

    for keyword, count in counts.items():
        if count > 1:
            problems.append(
                f"attribute {keyword} appears {count} times, "
                "but each attribute may appear only once"
            )
    return raw_values, problems


def _canonical_keyword(written: str) -> str | None:
    keyword = written.upper()
    if keyword.startswith("OID."):
        keyword = keyword[len("OID.") :]
    if keyword in _KEYWORD_ALIASES:
        return _KEYWORD_ALIASES[keyword]
    if keyword in _MAX_LENGTHS or keyword == "C":
        return keyword
    return None


def _drop_enclosing_quotes(value: str) -> str:
    # Corda parses the text, prints it with X500Principal.toString() and parses
    # that output again. The printer leaves a value that starts and ends with
    # '"' unquoted, so the second parse reads those two quotes as quoting.
    # NOTE: this copies a Corda quirk on purpose, so that parsed names and
    # their hashes match Corda's.
    if len(value) > 1 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def _describe_values(raw_values: Mapping[str, object]) -> str:
    return ", ".join(
        f"{keyword}={value}" for keyword, value in raw_values.items() if value is not None
    )


# --- Canonical form ---------------------------------------------------------


def _format_canonical(values: Mapping[str, str | None]) -> str:
    return ", ".join(
        f"{keyword}={_quote_value(value)}"
        for keyword, _ in _ATTRIBUTES
        if (value := values[keyword]) is not None
    )


def _quote_value(value: str) -> str:
    """Quote a value the way Java 17's ``X500Principal.toString()`` does.

    The value is already trimmed, so it cannot start or end with a space.
    """
    if len(value) > 1 and value[0] == '"' and value[-1] == '"':
        # Java treats such a value as already quoted, and escapes only the
        # characters between the quotes.
        return '"' + _escape_inside_quotes(value[1:-1]) + '"'

    escaped = _escape_inside_quotes(value)
    needs_quotes = "  " in value or any(character in _QUOTE_TRIGGERS for character in value)
    return f'"{escaped}"' if needs_quotes else escaped


def _escape_inside_quotes(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


# --- Parser -----------------------------------------------------------------


class _SyntaxProblem(Exception):
    """Raised inside the parser. MemberX500Name.parse() turns it into InvalidX500NameError."""


class _DistinguishedNameParser:
    """Parser for distinguished names in RFC 2253 and RFC 1779 syntax.

    It follows the syntax that Java's ``X500Principal(String)`` accepts. So it
    rejects unescaped ``<``, ``>`` and ``"`` inside an unquoted value, and a
    backslash followed by anything other than a special character or two hex
    digits. Unlike Java, which substitutes U+FFFD, it rejects hex-escaped bytes
    that are not valid UTF-8.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._position = 0

    def parse(self) -> list[list[tuple[str, str | None]]]:
        rdns: list[list[tuple[str, str | None]]] = []
        self._skip_spaces()
        if self._at_end():
            return rdns

        while True:
            rdns.append(self._parse_rdn())
            if self._at_end():
                return rdns
            self._position += 1
            self._skip_spaces()
            if self._at_end():
                self._fail("the name ends with a separator, so remove the last ',' or ';'")

    def _parse_rdn(self) -> list[tuple[str, str | None]]:
        attributes = [self._parse_attribute()]
        while not self._at_end() and self._peek() == "+":
            self._position += 1
            self._skip_spaces()
            attributes.append(self._parse_attribute())
        if not self._at_end() and self._peek() not in _RDN_SEPARATORS:
            self._fail(f"expected ',' between attributes, found {self._peek()!r}")
        return attributes

    def _parse_attribute(self) -> tuple[str, str | None]:
        start = self._position
        while not self._at_end() and _is_keyword_character(self._peek()):
            self._position += 1
        keyword = self._text[start : self._position]
        if not keyword:
            self._fail("expected an attribute keyword such as CN or O")

        self._skip_spaces()
        if self._at_end() or self._peek() != "=":
            self._fail(f"expected '=' after the attribute keyword {keyword!r}")
        self._position += 1
        self._skip_spaces()

        value = self._parse_value()
        self._skip_spaces()
        return keyword, value

    def _parse_value(self) -> str | None:
        if self._at_end():
            return ""
        if self._peek() == '"':
            return self._parse_quoted_value()
        if self._peek() == "#":
            self._parse_hex_value()
            return None
        return self._parse_unquoted_value()

    def _parse_quoted_value(self) -> str:
        opening = self._position
        self._position += 1
        builder = _ValueBuilder(self)
        while True:
            if self._at_end():
                self._fail("the quoted value has no closing '\"'", column=opening)
            character = self._peek()
            if character == '"':
                self._position += 1
                break
            if character == "\\":
                builder.add_escape(self._read_escape())
            else:
                builder.add_character(character)
                self._position += 1
        value = builder.finish()

        self._skip_spaces()
        if not self._at_end() and self._peek() not in ",;+":
            self._fail(f"unexpected {self._peek()!r} after the closing '\"' of a quoted value")
        return value

    def _parse_hex_value(self) -> None:
        self._position += 1
        start = self._position
        while not self._at_end() and self._peek() in _HEX_DIGITS:
            self._position += 1
        if self._position == start:
            self._fail(
                "'#' starts a hex-encoded value, but no hex digits follow, "
                "so write '\\#' for a literal '#'"
            )

    def _parse_unquoted_value(self) -> str:
        builder = _ValueBuilder(self)
        while not self._at_end():
            character = self._peek()
            if character in ",;+":
                break
            if character == "\\":
                builder.add_escape(self._read_escape())
                continue
            if character in '"<>':
                self._fail(
                    f"{character!r} must be escaped as '\\{character}' "
                    "or the value put in double quotes"
                )
            builder.add_character(character)
            self._position += 1
        return builder.finish()

    def _read_escape(self) -> str | int:
        """Read a backslash escape and return the character, or the byte of a hex pair."""
        pair = self._text[self._position + 1 : self._position + 3]
        if len(pair) == 2 and all(digit in _HEX_DIGITS for digit in pair):
            self._position += 3
            return int(pair, 16)
        if pair[:1] and pair[0] in _ESCAPABLE_CHARACTERS:
            self._position += 2
            return pair[0]
        self._fail(
            "'\\' must be followed by one of , = + < > # ; \\ \" or a space, or by two hex digits"
        )

    def _peek(self) -> str:
        return self._text[self._position]

    def _at_end(self) -> bool:
        return self._position >= len(self._text)

    def _skip_spaces(self) -> None:
        while not self._at_end() and self._peek() == " ":
            self._position += 1

    def _fail(self, reason: str, *, column: int | None = None) -> NoReturn:
        index = self._position if column is None else column
        raise _SyntaxProblem(f"syntax error at column {index + 1}: {reason}")


def _is_keyword_character(character: str) -> bool:
    return (character.isascii() and character.isalnum()) or character in ".-"


class _ValueBuilder:
    """Collects the characters of a value and decodes runs of hex-escaped bytes as UTF-8."""

    def __init__(self, parser: _DistinguishedNameParser) -> None:
        self._parser = parser
        self._characters: list[str] = []
        self._pending_bytes = bytearray()

    def add_character(self, character: str) -> None:
        self._flush_bytes()
        self._characters.append(character)

    def add_escape(self, escape: str | int) -> None:
        if isinstance(escape, int):
            self._pending_bytes.append(escape)
        else:
            self.add_character(escape)

    def finish(self) -> str:
        self._flush_bytes()
        return "".join(self._characters)

    def _flush_bytes(self) -> None:
        if not self._pending_bytes:
            return
        try:
            self._characters.append(self._pending_bytes.decode("utf-8"))
        except UnicodeDecodeError:
            escaped = "".join(f"\\{byte:02X}" for byte in self._pending_bytes)
            self._parser._fail(f"the escaped bytes {escaped} are not valid UTF-8")
        self._pending_bytes.clear()
