import re

import pytest

from udfs.pii import iban_valid, luhn_valid, mask_pii

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


# --- dates of birth, addresses, names, context-aware masking ---------------------------------------

from udfs.pii import asked_for, find_pii  # noqa: E402

DOB_FORMS = [
    "my date of birth is 14/03/1985",
    "dob 03/14/1985",
    "date of birth 09-10-1958",
    "born 9.10.1958",
    "DOB: 1985-03-14",
    "dob 1975/05/17",
    "i was born on 9 October 1958",
    "my birthday is October 9th, 1958",
    "d.o.b. 5th of March 1982",
    "my date of birth is the fifth of march eighty two",
    "i was born june third two thousand one",
    "born on the second of february nineteen forty five",
    "14/03/1985 is my date of birth",
    "my date of birth is oh nine ten fifty eight",
]


@pytest.mark.parametrize("text", DOB_FORMS)
def test_birth_dates_in_every_form_are_masked(text: str) -> None:
    result = mask_pii(text)
    assert result.pii_types == ("DOB",)
    assert "[DOB]" in result.masked_text
    assert not re.search(r"\d|march|october|fifth|third|second|fifty|nineteen|thousand", result.masked_text, re.I)


NON_BIRTH_DATES = [
    "the delivery date is 12/05/2026",
    "i ordered it on 3 March 2025",
    "it arrived on the fifth of march",
    "it came on june third two thousand twenty five",
    "my subscription renews on October 9th, 2026",
    "i want a birthday present delivered by 12/11/2025",
    "i called last tuesday at 10:30",
]


@pytest.mark.parametrize("text", NON_BIRTH_DATES)
def test_other_dates_stay(text: str) -> None:
    assert mask_pii(text).masked_text == text


@pytest.mark.parametrize(
    ("expected", "answer", "masked"),
    [
        ("DOB", "09/10/58", "[DOB]"),
        ("DOB", "it's the 3rd of feb 1990", "it's [DOB]"),
        ("DOB", "fourteen oh three eighty five", "[DOB]"),
        ("CVV", "three one two", "[CVV]"),
        ("CVV", "it's 042", "it's [CVV]"),
        ("CARD", "4111 1111 1111 1112", "[CARD_LAST4:1112]"),
        ("SSN", "two one nine zero nine nine nine nine nine", "[SSN]"),
        ("ADDRESS", "14 acacia avenue reading", "[ADDRESS]"),
        ("ADDRESS", "sw1a 1aa", "[ADDRESS]"),
        ("NAME", "yeah it's david lee", "yeah it's [NAME]"),
        ("PASSWORD", "it's Tr0ub4dor&3 thanks", "it's [SECRET] thanks"),
        ("MEMORABLE_WORD", "rhubarb", "[SECRET]"),
        ("NAME+DOB", "john smith the fifth of march eighty two", "[NAME] [DOB]"),
    ],
)
def test_expected_type_masks_weak_answers(expected: str, answer: str, masked: str) -> None:
    assert mask_pii(answer, expected=expected).masked_text == masked


def test_weak_answers_are_kept_without_expected() -> None:
    for answer in ("09/10/58", "three one two", "rhubarb", "david lee"):
        assert mask_pii(answer).masked_text == answer


def test_questions_and_refusals_are_not_taken_for_secrets() -> None:
    for reply in ("sorry, can you repeat that?", "i forgot it, can you reset it?", "hang on"):
        assert mask_pii(reply, expected="PASSWORD").masked_text == reply


ADDRESSES = [
    ("i live at 221B Baker Street, London NW1 6XE", "i live at [ADDRESS]"),
    ("my address is Flat 3, 12 High Street, Manchester M1 2AB", "my address is [ADDRESS]"),
    ("i moved to 123 Main St Apt 4B, Springfield, IL 62704", "i moved to [ADDRESS]"),
    ("i'm at 16 Park Crescent Flat 4 Brighton BN2 3HA now", "i'm at [ADDRESS] now"),
    ("address: flat 2b 7 station road bristol bs1 4dj", "address: [ADDRESS]"),
    ("i live at twenty two baker street london n w one six x e", "i live at [ADDRESS]"),
    (
        "the address is four hundred and twelve elm street apartment six denver colorado eight oh two oh two",
        "the address is [ADDRESS]",
    ),
    ("my postcode is SW1A 1AA", "my postcode is [ADDRESS]"),
]


@pytest.mark.parametrize(("text", "masked"), ADDRESSES)
def test_whole_address_is_one_token(text: str, masked: str) -> None:
    result = mask_pii(text)
    assert result.masked_text == masked
    assert result.spans_count == 1


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("hi my name is john smith and i need help", "hi my name is [NAME] and i need help"),
        ("this is Sarah speaking how can i help", "this is [NAME] speaking how can i help"),
        ("hello this is mike from the billing team", "hello this is [NAME] from the billing team"),
        ("thanks Mr Henderson, one moment", "thanks [NAME], one moment"),
        (
            "Hello,\nplease update it.\n\nKind regards,\nHelen Marsh",
            "Hello,\nplease update it.\n\nKind regards,\n[NAME]",
        ),
        ("my surname is o'brien", "my surname is [NAME]"),
    ],
)
def test_names_after_a_cue(text: str, masked: str) -> None:
    assert mask_pii(text).masked_text == masked


@pytest.mark.parametrize(
    "text",
    [
        "my name is spelled wrong on the account",
        "this is ridiculous",
        "i'm calling about my bill",
        "i'm recovering from surgery",
        "it's windy here sorry",
        "thanks, bye",
        "i waited 2 hours on the way",
        "i ordered 2 green park benches",
        "my password is not working",
    ],
)
def test_cue_look_alikes_stay(text: str) -> None:
    assert mask_pii(text).masked_text == text


@pytest.mark.parametrize(
    ("agent_text", "expected"),
    [
        ("Can you confirm your date of birth?", "DOB"),
        ("What's the security code on the back?", "CVV"),
        ("could you read me the long number on the card please", "CARD"),
        ("Please confirm the first line of your address and postcode", "ADDRESS"),
        ("Can I take your email address?", "EMAIL"),
        ("can you confirm your full name and date of birth", "NAME+DOB"),
        ("Could you give me characters 2 and 5 of your memorable word?", "MEMORABLE_WORD"),
        ("What's your password?", "PASSWORD"),
        ("what's the best number to reach you on?", "PHONE"),
        ("I've updated your address.", None),
        ("We will never ask for your password.", None),
        ("Thanks for waiting, how can I help?", None),
    ],
)
def test_asked_for(agent_text: str, expected: str | None) -> None:
    assert asked_for(agent_text) == expected


def test_asked_for_feeds_expected() -> None:
    agent = mask_pii("Thanks [NAME], can you confirm your date of birth?").masked_text
    assert mask_pii("09/10/58", expected=asked_for(agent)).masked_text == "[DOB]"


def test_find_pii_spans_match_masked_text() -> None:
    text = "I live at 221B Baker Street, London NW1 6XE, dob 14/03/1985, my name is Ann Lee"
    spans = find_pii(text)
    assert [(s.pii_type, text[s.start : s.end]) for s in spans] == [
        ("ADDRESS", "221B Baker Street, London NW1 6XE"),
        ("DOB", "14/03/1985"),
        ("NAME", "Ann Lee"),
    ]


def test_new_masks_are_idempotent() -> None:
    once = mask_pii("my name is John Smith, password is hunter2, i live at 12 High Street").masked_text
    assert mask_pii(once).masked_text == once
