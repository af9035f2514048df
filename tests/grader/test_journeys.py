from __future__ import annotations

from grader.journeys import Player, with_claims_of


def test_an_edited_token_keeps_the_header_and_signature_and_takes_the_other_claims() -> None:
    alice = Player("alice", "1", "hA.claimsA.sigA")
    bob = Player("bob", "2", "hB.claimsB.sigB")
    edited = with_claims_of(alice, bob)
    assert edited.token == "hA.claimsB.sigA"
    assert (edited.username, edited.user_id) == ("alice", "1")
