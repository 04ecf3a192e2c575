"""Tests of MemberX500Name and the holding identity hashes.

Expected canonical strings and hashes marked "Java 17" were printed by
OpenJDK 17's javax.security.auth.x500.X500Principal.toString() and
java.security.MessageDigest, building each name as Corda 5's MemberX500Name
does, so they do not depend on the code under test.
"""

from __future__ import annotations

import hashlib
import pickle

import pytest
from pydantic import BaseModel, ValidationError

from workflows.identity import (
    ISO_3166_ALPHA2_CODES,
    InvalidX500NameError,
    MemberX500Name,
    holding_identity_full_hash,
    holding_identity_short_hash,
)

ALICE = "CN=Alice, OU=Test Dept, O=R3, L=London, C=GB"
GROUP_ID = "accord-dev-group"


def parse_error(text: str) -> str:
    with pytest.raises(InvalidX500NameError) as raised:
        MemberX500Name.parse(text)
    return str(raised.value)


# --- Parsing ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "CN=Alice, OU=Test Dept, O=R3, L=London, C=GB",
        "C=GB, L=London, O=R3, OU=Test Dept, CN=Alice",
        "O=R3,CN=Alice,C=GB,OU=Test Dept,L=London",
        "cn=Alice; ou=Test Dept; o=R3; l=London; c=GB",
        "  L = London ,  CN = Alice , C=GB, O=R3, OU=Test Dept  ",
    ],
)
def test_parse_in_any_order_gives_same_name(text: str) -> None:
    name = MemberX500Name.parse(text)

    assert name == MemberX500Name.parse(ALICE)
    assert hash(name) == hash(MemberX500Name.parse(ALICE))
    assert str(name) == ALICE


def test_parse_reads_every_attribute() -> None:
    name = MemberX500Name.parse("C=US, ST=New York, L=New York, O=R3, OU=Accounting, CN=Alice")

    assert name.common_name == "Alice"
    assert name.organization_unit == "Accounting"
    assert name.organization == "R3"
    assert name.locality == "New York"
    assert name.state == "New York"
    assert name.country == "US"
    assert str(name) == "CN=Alice, OU=Accounting, O=R3, L=New York, ST=New York, C=US"


def test_parse_leaves_absent_attributes_none() -> None:
    name = MemberX500Name.parse("O=R3, L=London, C=GB")

    assert name.common_name is None
    assert name.organization_unit is None
    assert name.state is None
    assert str(name) == "O=R3, L=London, C=GB"


def test_parse_accepts_oid_and_s_keywords() -> None:
    name = MemberX500Name.parse("2.5.4.3=Alice, OID.2.5.4.10=R3, oid.2.5.4.7=London, S=Essex, 2.5.4.6=GB")

    assert str(name) == "CN=Alice, O=R3, L=London, ST=Essex, C=GB"


def test_parse_trims_values() -> None:
    name = MemberX500Name.parse('CN=  Alice  , O=" R3 ", L=London\\20, C=GB')

    assert name.common_name == "Alice"
    assert name.organization == "R3"
    assert name.locality == "London"


@pytest.mark.parametrize(
    "text",
    [
        'O="R3, Ltd", L=London, C=GB',
        "O=R3\\, Ltd, L=London, C=GB",
        "O=R3\\2C Ltd, L=London, C=GB",
        "O=R3\\2c Ltd, L=London, C=GB",
        'O="R3\\, Ltd", L=London, C=GB',
    ],
)
def test_parse_reads_quoted_and_escaped_values(text: str) -> None:
    assert MemberX500Name.parse(text).organization == "R3, Ltd"


def test_parse_decodes_utf8_hex_escapes() -> None:
    assert MemberX500Name.parse("O=Caf\\C3\\A9, L=London, C=GB").organization == "Café"


def test_parse_keeps_equals_and_hash_inside_value() -> None:
    name = MemberX500Name.parse("O=a=b#c, L=London, C=GB")

    assert name.organization == "a=b#c"


def test_parse_drops_quotes_enclosing_whole_value() -> None:
    # Corda re-reads X500Principal's output, which loses these quotes.
    assert MemberX500Name.parse('CN=\\"Alice\\", O=R3, L=London, C=GB').common_name == "Alice"


def test_parse_rejects_non_string() -> None:
    with pytest.raises(TypeError, match="needs a str, not bytes"):
        MemberX500Name.parse(b"O=R3, L=London, C=GB")  # type: ignore[arg-type]


# --- Validation -------------------------------------------------------------


def test_invalid_name_error_is_value_error() -> None:
    assert issubclass(InvalidX500NameError, ValueError)


def test_parse_rejects_missing_country() -> None:
    message = parse_error("O=R3, L=London")

    assert message == (
        "Invalid X.500 name 'O=R3, L=London': "
        "attribute C is missing, but a member name needs O, L and C"
    )


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("L=London, C=GB", "attribute O is missing"),
        ("CN=Alice, O=R3, C=GB", "attribute L is missing"),
        ("CN=Alice", "attributes O, L and C are missing"),
        ("", "attributes O, L and C are missing"),
    ],
)
def test_parse_rejects_missing_mandatory_attributes(text: str, missing: str) -> None:
    message = parse_error(text)

    assert missing in message
    assert "a member name needs O, L and C" in message


@pytest.mark.parametrize("keyword", ["UID", "STREET", "DC", "1.2.3.4"])
def test_parse_rejects_unsupported_attribute(keyword: str) -> None:
    message = parse_error(f"{keyword}=x, O=R3, L=London, C=GB")

    assert f"attribute {keyword} is not supported" in message
    assert "may contain only CN, OU, O, L, ST and C" in message


def test_parse_rejects_duplicate_attribute() -> None:
    message = parse_error("O=R3, L=London, C=GB, o=R4")

    assert "attribute O appears 2 times" in message
    assert "each attribute may appear only once" in message


def test_parse_rejects_alias_duplicating_attribute() -> None:
    message = parse_error("ST=Essex, S=Kent, O=R3, L=London, C=GB")

    assert "attribute ST appears 2 times" in message


def test_parse_rejects_multi_valued_rdn() -> None:
    message = parse_error("CN=Alice+OU=Test Dept, O=R3, L=London, C=GB")

    assert "attributes CN and OU are joined by '+'" in message
    assert "multi-valued RDN" in message
    assert "separate them with ','" in message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("O=, L=London, C=GB", "attribute O is blank, but it needs a value"),
        ('O="   ", L=London, C=GB', "attribute O is blank, but it needs a value"),
        ("CN=, O=R3, L=London, C=GB", "attribute CN is blank, so give it a value or leave it out"),
        ("O=R3, L=London, ST= , C=GB", "attribute ST is blank, so give it a value or leave it out"),
    ],
)
def test_parse_rejects_blank_value(text: str, reason: str) -> None:
    assert reason in parse_error(text)


@pytest.mark.parametrize(
    ("keyword", "limit"),
    [("CN", 64), ("OU", 64), ("O", 128), ("L", 64), ("ST", 64)],
)
def test_parse_enforces_length_limit(keyword: str, limit: int) -> None:
    base = {"O": "R3", "L": "London", "C": "GB"}
    longest_allowed = ", ".join(f"{k}={v}" for k, v in (base | {keyword: "x" * (limit - 1)}).items())
    too_long = ", ".join(f"{k}={v}" for k, v in (base | {keyword: "x" * limit}).items())

    MemberX500Name.parse(longest_allowed)
    message = parse_error(too_long)

    assert f"attribute {keyword} is {limit} characters long" in message
    assert f"must be shorter than {limit}" in message


def test_length_limit_counts_utf16_code_units() -> None:
    # Each emoji is one code point but two UTF-16 code units, as Java counts them.
    MemberX500Name(common_name="\U0001f600" * 31, organization="R3", locality="London", country="GB")

    with pytest.raises(InvalidX500NameError, match="attribute CN is 64 characters long"):
        MemberX500Name(common_name="\U0001f600" * 32, organization="R3", locality="London", country="GB")


@pytest.mark.parametrize(
    ("country", "reason"),
    [
        ("XX", "is not an ISO 3166-1 alpha-2 country code"),
        ("GBR", "is not an ISO 3166-1 alpha-2 country code"),
        ("UK", "the code of the United Kingdom is GB"),
        ("gb", "country codes are upper case, so write 'GB'"),
    ],
)
def test_parse_rejects_invalid_country(country: str, reason: str) -> None:
    message = parse_error(f"O=R3, L=London, C={country}")

    assert f"attribute C is {country!r}" in message
    assert reason in message


def test_parse_accepts_unspecified_country() -> None:
    assert MemberX500Name.parse("O=R3, L=London, C=ZZ").country == "ZZ"


def test_country_codes_are_iso_3166_alpha2() -> None:
    assert len(ISO_3166_ALPHA2_CODES) == 249
    assert all(len(code) == 2 and code.isupper() for code in ISO_3166_ALPHA2_CODES)
    assert {"GB", "US", "DE", "JP", "SS", "AX", "BQ", "CW", "SX"} <= ISO_3166_ALPHA2_CODES
    assert "UK" not in ISO_3166_ALPHA2_CODES
    assert "ZZ" not in ISO_3166_ALPHA2_CODES


def test_parse_rejects_hex_encoded_value() -> None:
    message = parse_error("O=#0403523320, L=London, C=GB")

    assert "attribute O is written in the '#' hex-encoded form" in message
    assert "needs text values" in message


def test_parse_reports_every_problem_in_one_message() -> None:
    with pytest.raises(InvalidX500NameError) as raised:
        MemberX500Name.parse("CN=, UID=1, O=R3, O=R4, C=uk")
    error = raised.value

    assert error.name_text == "CN=, UID=1, O=R3, O=R4, C=uk"
    assert len(error.problems) == 5
    assert "attribute UID is not supported" in str(error)
    assert "attribute O appears 2 times" in str(error)
    assert "attribute L is missing" in str(error)
    assert "attribute CN is blank" in str(error)
    assert "attribute C is 'uk'" in str(error)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("O=a<b, L=London, C=GB", "syntax error at column 4: '<' must be escaped"),
        ("O=a>b, L=London, C=GB", "syntax error at column 4: '>' must be escaped"),
        ('O=a"b, L=London, C=GB', "syntax error at column 4: '\"' must be escaped"),
        ("O", "syntax error at column 2: expected '=' after the attribute keyword 'O'"),
        ("=R3, L=London, C=GB", "syntax error at column 1: expected an attribute keyword"),
        ("O=R3,, L=London, C=GB", "syntax error at column 6: expected an attribute keyword"),
        ("O=R3, L=London, C=GB,", "the name ends with a separator"),
        ('O="R3, L=London, C=GB', "syntax error at column 3: the quoted value has no closing"),
        ('O="R3"x, L=London, C=GB', "syntax error at column 7: unexpected 'x' after the closing"),
        ("O=a\\qb, L=London, C=GB", "'\\' must be followed by one of"),
        ("O=a\\", "'\\' must be followed by one of"),
        ("O=a\\2, L=London, C=GB", "'\\' must be followed by one of"),
        ("O=#x, L=London, C=GB", "'#' starts a hex-encoded value, but no hex digits follow"),
        ("O=a\\FF, L=London, C=GB", "the escaped bytes \\FF are not valid UTF-8"),
        ("X_Y=1, O=R3, L=London, C=GB", "syntax error at column 2: expected '='"),
    ],
)
def test_parse_rejects_syntax_errors(text: str, reason: str) -> None:
    message = parse_error(text)

    assert message.startswith(f"Invalid X.500 name {text!r}: ")
    assert reason in message


# --- Construction -----------------------------------------------------------


def test_constructor_takes_keyword_arguments() -> None:
    name = MemberX500Name(
        common_name="Alice",
        organization_unit="Test Dept",
        organization="R3",
        locality="London",
        country="GB",
    )

    assert name == MemberX500Name.parse(ALICE)
    assert str(name) == ALICE


def test_constructor_trims_values() -> None:
    name = MemberX500Name(common_name="\tAlice ", organization=" R3", locality="London\n", country="GB")

    assert str(name) == "CN=Alice, O=R3, L=London, C=GB"


def test_constructor_reports_every_problem() -> None:
    with pytest.raises(InvalidX500NameError) as raised:
        MemberX500Name(organization="R3", locality="  ", country=None)  # type: ignore[arg-type]
    message = str(raised.value)

    assert message.startswith("Invalid X.500 name 'O=R3, L=  ': ")
    assert "attribute C is missing" in message
    assert "attribute L is blank, but it needs a value" in message


def test_constructor_rejects_non_string_value() -> None:
    with pytest.raises(InvalidX500NameError, match="attribute O must be a string, not int"):
        MemberX500Name(organization=3, locality="London", country="GB")  # type: ignore[arg-type]


def test_name_is_immutable() -> None:
    name = MemberX500Name.parse(ALICE)

    with pytest.raises(AttributeError, match="immutable"):
        name.common_name = "Bob"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del name.organization
    assert name.common_name == "Alice"


def test_name_works_as_dict_key() -> None:
    names = {MemberX500Name.parse(ALICE): "alice"}

    assert names[MemberX500Name.parse("C=GB, L=London, O=R3, OU=Test Dept, CN=Alice")] == "alice"


def test_name_survives_pickle_and_repr() -> None:
    name = MemberX500Name.parse('CN=Alice, O="R3, Ltd", L=London, ST=Essex, C=GB')

    assert pickle.loads(pickle.dumps(name)) == name
    assert eval(repr(name)) == name  # noqa: S307 - repr of a trusted value
    assert pickle.loads(pickle.dumps(InvalidX500NameError("O=x", ["a", "b"]))).problems == ("a", "b")


# --- Canonical string and escaping -----------------------------------------


@pytest.mark.parametrize(
    ("organization", "canonical"),
    [
        ("R3", "O=R3"),
        ("R3, Ltd", 'O="R3, Ltd"'),
        ("A+B", 'O="A+B"'),
        ('Q"uote', 'O="Q\\"uote"'),
        ("back\\slash", 'O="back\\\\slash"'),
        ("<lt>", 'O="<lt>"'),
        ("semi;colon", 'O="semi;colon"'),
        ("#hash", 'O="#hash"'),
        ("mid#hash", 'O="mid#hash"'),
        ("eq=ual", 'O="eq=ual"'),
        ("two  spaces", 'O="two  spaces"'),
        ("é ünïcode", "O=é ünïcode"),
        ("tab\tx", "O=tab\tx"),
        ('"quoted"', 'O="quoted"'),
    ],
)
def test_str_quotes_values_as_java_does(organization: str, canonical: str) -> None:
    # Expected strings: Java 17, X500Principal.toString().
    name = MemberX500Name(common_name="Alice", organization=organization, locality="London", country="GB")

    assert str(name) == f"CN=Alice, {canonical}, L=London, C=GB"


@pytest.mark.parametrize(
    "organization",
    ["R3, Ltd", "A+B", 'Q"uote', "back\\slash", "<lt>", "semi;colon", "#hash", "eq=ual", "two  spaces", "a\\b,c"],
)
def test_canonical_string_parses_back_to_same_name(organization: str) -> None:
    name = MemberX500Name(organization=organization, locality="London", country="GB")

    assert MemberX500Name.parse(str(name)) == name
    assert MemberX500Name.parse(str(name)).organization == organization


def test_misread_backslash_is_rejected() -> None:
    # Java 17 prints CN="x<\\", L=London, C=GB for this name: O is lost.
    with pytest.raises(InvalidX500NameError) as raised:
        MemberX500Name(common_name="x<\\", organization="R3", locality="London", country="GB")

    assert "attribute CN has a backslash at its end" in str(raised.value)
    assert "Java's X500Principal misreads" in str(raised.value)


def test_harmless_backslash_is_accepted() -> None:
    name = MemberX500Name(common_name="x\\", organization="R3", locality="London", country="GB")

    assert str(name) == 'CN="x\\\\", O=R3, L=London, C=GB'


# --- Ordering ---------------------------------------------------------------


def test_names_sort_by_attributes_with_absent_first() -> None:
    expected = [
        "O=R3, L=London, C=GB",
        "O=R3, L=London, ST=Essex, C=GB",
        "OU=Dept, O=R3, L=London, C=GB",
        "CN=Alice, O=R3, L=London, C=GB",
        "CN=Alice, O=R3, L=Paris, C=FR",
        "CN=Alice, OU=A, O=R3, L=London, C=GB",
        "CN=Alice, OU=B, O=A, L=London, C=GB",
        "CN=Alice, OU=B, O=B, L=London, C=GB",
        "CN=Alice, OU=B, O=B, L=London, C=US",
        "CN=Bob, O=R3, L=London, C=GB",
    ]
    names = [MemberX500Name.parse(text) for text in reversed(expected)]

    assert [str(name) for name in sorted(names)] == expected


def test_comparison_operators_agree() -> None:
    alice = MemberX500Name.parse("CN=Alice, O=R3, L=London, C=GB")
    bob = MemberX500Name.parse("CN=Bob, O=R3, L=London, C=GB")

    assert alice < bob
    assert alice <= bob
    assert bob > alice
    assert bob >= alice
    assert not alice < MemberX500Name.parse(str(alice))


def test_comparison_with_string_raises() -> None:
    with pytest.raises(TypeError):
        _ = MemberX500Name.parse(ALICE) < ALICE  # type: ignore[operator]
    assert MemberX500Name.parse(ALICE) != ALICE


# --- Pydantic ---------------------------------------------------------------


class Party(BaseModel):
    name: MemberX500Name
    backup: MemberX500Name | None = None


def test_pydantic_field_parses_string() -> None:
    party = Party(name="C=GB, L=London, O=R3, OU=Test Dept, CN=Alice")

    assert party.name == MemberX500Name.parse(ALICE)


def test_pydantic_field_keeps_instance() -> None:
    name = MemberX500Name.parse(ALICE)

    assert Party(name=name).name is name


def test_pydantic_serializes_canonical_string() -> None:
    party = Party(name="C=GB, L=London, O=R3, OU=Test Dept, CN=Alice")

    assert party.model_dump() == {"name": ALICE, "backup": None}
    assert party.model_dump(mode="json") == {"name": ALICE, "backup": None}
    assert party.model_dump_json() == f'{{"name":"{ALICE}","backup":null}}'


def test_pydantic_json_round_trip() -> None:
    party = Party(name=ALICE, backup='CN=Bob, O="R3, Ltd", L=London, C=GB')

    restored = Party.model_validate_json(party.model_dump_json())

    assert restored == party
    assert restored.backup is not None
    assert restored.backup.organization == "R3, Ltd"


def test_pydantic_rejects_invalid_name_with_reason() -> None:
    with pytest.raises(ValidationError) as raised:
        Party(name="O=R3, L=London")
    errors = raised.value.errors()

    assert len(errors) == 1
    assert errors[0]["loc"] == ("name",)
    assert "attribute C is missing" in errors[0]["msg"]


def test_pydantic_rejects_non_string_input() -> None:
    with pytest.raises(ValidationError, match="Input should be a MemberX500Name or a string"):
        Party(name=42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Input should be a valid string"):
        Party.model_validate_json('{"name": 42}')


def test_pydantic_json_schema_is_string() -> None:
    assert Party.model_json_schema()["properties"]["name"]["type"] == "string"


# --- Holding identity hashes ------------------------------------------------


def test_full_hash_is_sha256_hex() -> None:
    expected = hashlib.sha256(
        b"CN=Alice, OU=Test Dept, O=R3, L=London, C=GBaccord-dev-group"
    ).hexdigest().upper()

    assert holding_identity_full_hash(MemberX500Name.parse(ALICE), GROUP_ID) == expected


@pytest.mark.parametrize(
    ("text", "full_hash"),
    [
        # Java 17: SHA-256 over X500Principal.toString() + "accord-dev-group".
        (ALICE, "AEFB0671801BA9AB0AA38F6A9C57B62F6E568E5E3C13EA37E8925851DDD11026"),
        (
            "C=GB, L=London, O=R3, OU=Test Dept, CN=Bob",
            "F1EF37FF25929B4AABDBC379422339EE47B631E7134847C366878329773DA9F2",
        ),
        (
            "CN=Dave, O=R3\\, Ltd, L=London, C=GB",
            "ED3043C59C98788759B5E36227B0454A64C83DDE50C87956C2D0DB4D40645F1A",
        ),
    ],
)
def test_hashes_match_values_computed_by_java(text: str, full_hash: str) -> None:
    name = MemberX500Name.parse(text)

    assert holding_identity_full_hash(name, GROUP_ID) == full_hash
    assert holding_identity_short_hash(name, GROUP_ID) == full_hash[:12]


def test_short_hash_ignores_attribute_order() -> None:
    shuffled = MemberX500Name.parse("L=London, C=GB, CN=Alice, O=R3, OU=Test Dept")

    assert holding_identity_short_hash(shuffled, GROUP_ID) == "AEFB0671801B"


def test_short_hash_depends_on_group_id() -> None:
    name = MemberX500Name.parse(ALICE)
    expected = hashlib.sha256((ALICE + "other-group").encode()).hexdigest().upper()[:12]

    assert holding_identity_short_hash(name, "other-group") == expected
    assert expected != "AEFB0671801B"
