"""Instruction-like text: passages that read as orders to an agent rather than as knowledge.

Memory poisoning (A-MemGuard, Zombie Agents) stores text such as "ignore previous instructions" or a
forged tool call as a memory, so that a later retrieval hands it to an agent as if it were context.
``injection_reasons`` names what in a passage reads that way; ingestion stores the reasons on the
passage or turn (``flags``) and retrieval leaves flagged units of untrusted sources out.

Pure and precise on purpose: each rule matches wording addressed to an AI agent or the syntax of a
tool call, never ordinary imperatives ("always remember to ..."), so that prose and chat pass
(the README gives the false-positive counts on the benchmark corpora).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FLAGS = re.IGNORECASE
_AGENT = r"(?:ai|a\.i\.|assistant|agent|model|chatbot|bot|llm|language\s+model|gpt|copilot)"
_EARLIER = r"(?:previous|prior|above|earlier|preceding|former|original|initial|system|developer)"
_ORDERS = r"(?:instructions?|prompts?|directions?|rules|guidelines|guardrails|directives?|commands)"


@dataclass(frozen=True)
class Rule:
    """One kind of instruction-like text: the reason stored on the passage, and its pattern."""

    reason: str
    pattern: re.Pattern[str]


def _rule(reason: str, pattern: str) -> Rule:
    return Rule(reason, re.compile(pattern, _FLAGS))


RULES: tuple[Rule, ...] = (
    # "ignore all previous instructions", "disregard the system prompt", "forget your earlier rules"
    _rule(
        "override of earlier instructions",
        rf"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?"
        rf"(?:the\s+|your\s+|these\s+|those\s+)?(?:{_EARLIER}\s+){{1,2}}{_ORDERS}",
    ),
    _rule(
        "override of earlier instructions",
        rf"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:of\s+)?your\s+(?:{_ORDERS}|programming|training)",
    ),
    # "New instructions:", "updated system prompt:", "SYSTEM OVERRIDE"
    _rule("new instructions", rf"\b(?:new|updated|revised|real|true|secret|hidden)\s+(?:system\s+)?{_ORDERS}\s*:"),
    _rule("new instructions", r"\bsystem\s+(?:override|prompt\s*:|message\s*:)"),
    # chat-template and prompt-format markers: <|im_start|>system, [INST], <<SYS>>, <system>
    _rule("prompt markup", r"<\|\s*(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\s*\|>"),
    _rule("prompt markup", r"\[/?INST\]|<<\s*/?SYS\s*>>|</?\s*(?:system|system_prompt|instructions)\s*>"),
    _rule("prompt markup", r"(?:^|\n)\s*#{1,4}\s*(?:system|instructions?)\s*(?:prompt)?\s*:?\s*(?:\n|$)"),
    # addressed to the agent: "you must now", "from now on you will respond", "if you are an AI reading this"
    _rule(
        "orders to the agent",
        r"\byou\s+(?:must|should|shall|will|are\s+to|have\s+to)\s+now\s+"
        r"(?:ignore|obey|follow|respond|reply|answer|act|only|always|never|call|send|"
        r"execute|run|output|print|reveal|include|tell|forward|recommend)\b",
    ),
    _rule(
        "orders to the agent",
        r"\bfrom\s+now\s+on,?\s+(?:you|the\s+" + _AGENT + r")\s+(?:must|will|shall|should|"
        r"are\s+to)\s+(?:only\s+|always\s+|never\s+)?(?:respond|reply|answer|act|obey|"
        r"ignore|call|execute|output|pretend|behave|refuse)\b",
    ),
    _rule("orders to the agent", rf"\bif\s+you\s+are\s+an?\s+{_AGENT}\b"),
    _rule(
        "orders to the agent",
        rf"\b(?:note|message|instructions?|attention)\s+(?:for|to)\s+(?:the\s+|any\s+|all\s+)?"
        rf"{_AGENT}s?\b(?:\s+reading\s+this)?\s*[:,]",
    ),
    _rule(
        "orders to the agent",
        rf"\b(?:the|this|any)\s+{_AGENT}\s+(?:must|should|shall)\s+(?:always|never|now|"
        r"immediately|ignore|obey)\b",
    ),
    _rule(
        "orders to the agent",
        r"\byou\s+are\s+now\s+(?:in\s+)?(?:dan|developer\s+mode|jailbroken|unrestricted|"
        r"an?\s+(?:unfiltered|unrestricted|uncensored|jailbroken))\b",
    ),
    # secrecy from the person the agent serves: "do not tell the user", "without informing the user"
    _rule(
        "concealment from the user",
        r"\b(?:do\s+not|don't|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|"
        r"mention(?:ing)?|reveal(?:ing)?|notify(?:ing)?|alert(?:ing)?)\s+"
        r"(?:this\s+|it\s+|anything\s+)?(?:to\s+)?the\s+user\b",
    ),
    _rule(
        "prompt extraction",
        r"\b(?:reveal|print|show|repeat|output|leak|dump|disclose)\s+(?:me\s+)?(?:your|the)\s+"
        r"(?:full\s+|entire\s+|hidden\s+|initial\s+)?(?:system\s+prompt|hidden\s+prompt|"
        r"system\s+instructions|initial\s+instructions)\b",
    ),
    # tool calls: "call the send_email tool", "always invoke `transfer_funds`", <tool_call>, JSON arguments
    _rule(
        "tool call",
        r"\b(?:call|invoke|trigger)\s+(?:the\s+)?[`'\"]?(?!(?:to|a|an|this|that|any|each|one)\b)"
        r"[A-Za-z_][\w.\-]*[`'\"]?\s+tool\b",
    ),
    _rule(
        "tool call",
        r"\b(?:call|invoke|execute|trigger)\s+(?:the\s+)?(?:`[A-Za-z_][\w.\-]*(?:\(\))?`|"
        r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?:\(\))?)(?:\s+(?:tool|function))?",
    ),
    _rule(
        "tool call",
        r"\b(?:always|must|now|immediately)\s+(?:call|invoke|trigger|execute)\s+(?:the\s+)?"
        r"[`'\"]?[A-Za-z_][\w.\-]*[`'\"]?\s+(?:tool|function)\b",
    ),
    _rule("tool call", r"</?\s*(?:tool_call|tool_use|function_call|function_calls|invoke|tool)\s*>|<function\s*="),
    _rule("tool call", r"[\"'](?:tool_calls|function_call|tool_use)[\"']\s*:"),
    _rule(
        "tool call",
        r"[\"'](?:function|tool|name)[\"']\s*:\s*[{\"'][^\n]{0,200}?[\"'](?:arguments|parameters|"
        r"input)[\"']\s*:",
    ),
    # links that run code when followed
    _rule("script link", r"\]\(\s*(?:javascript|vbscript|data\s*:\s*text/html)\s*:?"),
    _rule("script link", r"\bhref\s*=\s*[\"']?\s*(?:javascript|vbscript)\s*:|<\s*script\b"),
)


def injection_reasons(text: str) -> list[str]:
    """What in ``text`` reads as instructions to an agent: one reason per kind, in rule order, as
    ``"<kind>: '<the words that matched>'"``; [] when nothing does."""
    reasons: dict[str, str] = {}
    for rule in RULES:
        if rule.reason not in reasons and (match := rule.pattern.search(text)):
            reasons[rule.reason] = f"{rule.reason}: {_excerpt(match.group(0))}"
    return list(reasons.values())


def _excerpt(matched: str, width: int = 60) -> str:
    words = " ".join(matched.split())
    return repr(words if len(words) <= width else words[: width - 3] + "...")


def is_instruction_like(text: str) -> bool:
    return bool(injection_reasons(text))
