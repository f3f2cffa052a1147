import re

import pytest

from udfs.pii import iban_valid, luhn_valid, mask_pii

pytestmark = pytest.mark.unit

MASKED = [
    # (text, value that must disappear, expected token)
    ("My card is 4111 1111 1111 1111 thanks", "4111 1111 1111 1111", "[CARD_LAST4:1111]"),
    ("card 5555-5555-5555-4444 please", "5555-5555-5555-4444", "[CARD_LAST4:4444]"),
    ("number 4012888888881881.", "4012888888881881", "[CARD_LAST4:1881]"),
    ("amex 3782 822463 10005", "3782 822463 10005", "[CARD_LAST4:0005]"),
    ("it's four one one one one one one one one one one one one one one one", "four one one one", "[CARD_LAST4:1111]"),
    ("four one double one one one one one one one one one one one one one", "double one", "[CARD_LAST4:1111]"),
    ("the cvv is 123", "123", "[CVV]"),
    ("security code 7373", "7373", "[CVV]"),
    ("the three digits on the back are four two one", "four two one", "[CVV]"),
    ("SSN 219-09-9999", "219-09-9999", "[SSN]"),
    ("my social security number is 078 05 1120", "078 05 1120", "[SSN]"),
    ("ssn two one nine zero nine nine nine nine nine", "two one nine", "[SSN]"),
    ("IBAN GB82 WEST 1234 5698 7654 32 ok", "GB82 WEST 1234 5698 7654 32", "[IBAN]"),
    ("to DE89370400440532013000.", "DE89370400440532013000", "[IBAN]"),
    ("mail jane.canary@example.com now", "jane.canary@example.com", "[EMAIL]"),
    ("it's raj.canary+bills@example.org", "raj.canary+bills@example.org", "[EMAIL]"),
    ("my email is mo dot canary at example dot com", "mo dot canary at example dot com", "[EMAIL]"),
    ("call me on +44 7700 900123", "7700 900123", "[PHONE]"),
    ("my number is (555) 010-0199", "010-0199", "[PHONE]"),
    ("ring me on 07700 900456", "07700 900456", "[PHONE]"),
    ("phone 555-0142", "555-0142", "[PHONE]"),
    ("reach me at 212.555.0187", "212.555.0187", "[PHONE]"),
    ("my number is oh seven seven zero zero nine zero zero seven eight nine", "seven seven zero", "[PHONE]"),
    ("my date of birth is 14/03/1985", "14/03/1985", "[DOB]"),
    ("DOB: 1985-03-14", "1985-03-14", "[DOB]"),
    ("I was born on March 3, 1972", "March 3, 1972", "[DOB]"),
    ("born the fifth of march nineteen eighty five", "nineteen eighty", "[DOB]"),
    ("I live at 221B Baker Street, London NW1 6XE", "Baker Street", "[ADDRESS]"),
    ("send it to 42 canary wharf road please", "canary wharf", "[ADDRESS]"),
    ("my postcode is SW1A 1AA", "SW1A 1AA", "[ADDRESS]"),
]


@pytest.mark.parametrize(("text", "value", "token"), MASKED)
def test_value_is_replaced_by_typed_token(text: str, value: str, token: str) -> None:
    result = mask_pii(text)
    assert value.lower() not in result.masked_text.lower()
    assert token in result.masked_text
    assert result.spans_count >= 1


KEPT = [
    "my order number is 1234 5678 9012 3456 and it cost $1,299.99",
    "order 12345678903 please",
    "reference 7823441299810035",
    "The price is 49.99 and delivery on 12/05/2026 at 10:30",
    "I need 3 items, and one more thing",
    "Oh, one more thing: I called 2 times",
    "Refunds usually take 5 to 7 business days to appear on your statement.",
    "Items can be returned or exchanged within 30 days of delivery.",
    "I tried 3 times this way",
    "My invoice 2024-1187 was wrong",
    "My wallet was stolen with my card in it. the order number is 1234 5678 9012 3456.",
]


@pytest.mark.parametrize("text", KEPT)
def test_non_pii_numbers_stay(text: str) -> None:
    result = mask_pii(text)
    assert result.masked_text == text
    assert result.pii_types == ()
    assert result.spans_count == 0


def test_luhn_failing_card_in_card_context_is_still_masked() -> None:
    # Over-masking beats leaking: a mistyped card number next to "card" is masked anyway.
    assert "1112" not in mask_pii("my card 4111 1111 1111 1112").masked_text.replace("[CARD_LAST4:1112]", "")


def test_card_inside_longer_digit_run() -> None:
    result = mask_pii("card 4111111111111111 12 27")
    assert result.masked_text == "card [CARD_LAST4:1111] 12 27"


def test_several_types_in_one_turn_are_all_masked_and_counted() -> None:
    text = "Card 4111 1111 1111 1111, cvv 737, email a.b@example.com, phone +1 212 555 0187, SSN 219-09-9999"
    result = mask_pii(text)
    assert result.pii_types == ("CARD", "CVV", "EMAIL", "PHONE", "SSN")
    assert result.spans_count == 5
    digits = re.sub(r"\[CARD_LAST4:\d{4}\]", "", result.masked_text)
    assert not re.search(r"\d", digits)


def test_masking_is_idempotent() -> None:
    once = mask_pii("card 4111 1111 1111 1111, cvv 123, dob 14/03/1985").masked_text
    again = mask_pii(once)
    assert again.masked_text == once
    assert again.spans_count == 0


def test_masks_never_contain_the_value_except_card_last4() -> None:
    result = mask_pii("ssn 219-09-9999 iban DE89370400440532013000 phone 07700 900456")
    for token in re.findall(r"\[[^\]]+\]", result.masked_text):
        assert not re.search(r"\d", token)


def test_checksums() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33")


def test_invalid_iban_is_not_masked_as_iban() -> None:
    assert "[IBAN]" not in mask_pii("code GB82 WEST 1234 5698 7654 33").masked_text


def test_empty_text() -> None:
    assert mask_pii("") == mask_pii("")
    assert mask_pii("").masked_text == ""
