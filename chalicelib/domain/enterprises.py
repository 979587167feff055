"""Enterprises (by unified social credit code) and the agents authorized to act for them.

A credit code is kept like an ID number: ciphertext, blind index, masked text. An agent acts for an
enterprise only within an authorization — which items, until when — granted by the enterprise's
legal representative or an admin; the case records both the agent and the enterprise.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

WILDCARD_ITEMS = "*"


class Enterprise(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name_zh: str = Field(min_length=1, max_length=200)
    credit_code_masked: str
    credit_code_ciphertext: str
    credit_code_index: str
    legal_representative_index: str = ""
    registered_at: str

    def public_view(self) -> dict[str, str]:
        return {"id": self.id, "name_zh": self.name_zh, "credit_code_masked": self.credit_code_masked,
                "registered_at": self.registered_at}


class AgentAuthorization(BaseModel, defer_build=True):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enterprise_id: str
    agent_sub: str
    items: tuple[str, ...] = Field(min_length=1, max_length=200)
    valid_until: date
    granted_by: str
    granted_at: str

    def covers(self, item_code: str, today: date) -> bool:
        return today <= self.valid_until and (WILDCARD_ITEMS in self.items or item_code in self.items)
