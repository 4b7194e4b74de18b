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
_ORDER_WORDS = ("instruction", "prompt", "direction", "rule", "guideline", "guardrail", "directive", "command")
_ADDRESSEE = rf"(?:ai\s+)?{_AGENT}s?"  # "the AI assistant", "agents"


@dataclass(frozen=True)
class Rule:
    """One kind of instruction-like text: the reason stored on the passage, and its pattern."""

    reason: str
    needs: tuple[str, ...]  # lowercase words of which every match holds one: the cheap test that comes first
    pattern: re.Pattern[str]


def _rule(reason: str, needs: tuple[str, ...], pattern: str) -> Rule:
    return Rule(reason, needs, re.compile(pattern, _FLAGS))


RULES: tuple[Rule, ...] = (
    # "ignore all previous instructions", "disregard the system prompt", "forget your earlier rules"
    _rule(
        "override of earlier instructions",
        _ORDER_WORDS,
        rf"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?"
        rf"(?:the\s+|your\s+|these\s+|those\s+)?(?:{_EARLIER}\s+){{1,2}}{_ORDERS}",
    ),
    _rule(
        "override of earlier instructions",
        ("your",),
        rf"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:of\s+)?your\s+(?:{_ORDERS}|programming|training)",
    ),
    _rule(
        "override of earlier instructions",
        ("forget",),
        r"\bforget\s+(?:everything|all)\s+(?:(?:that\s+)?you\s+(?:were|have\s+been)\s+told|above|before\b)",
    ),
    _rule(
        "override of earlier instructions",
        ("void", "cancel", "revoked", "obsolete", "overridden", "suspended", "lifted", "longer"),
        rf"\b(?:{_EARLIER}|all|any)\s+(?:{_EARLIER}\s+)?{_ORDERS}\s+(?:are|is)\s+(?:now\s+)?(?:void|cancell?ed|revoked|"
        r"obsolete|overridden|suspended|lifted|no\s+longer\s+(?:valid|apply|in\s+effect))\b",
    ),
    _rule(
        "override of earlier instructions",
        ("ignore", "disregard", "forget"),
        rf"\b(?:ignore|disregard|forget)\s+(?:all\s+)?(?:the|your|any)\s+{_ORDERS}\s+(?:you\s+(?:were|have\s+been)\s+given|"
        r"given\s+to\s+you|you\s+(?:have\s+)?received|so\s+far|above)\b",
    ),
    _rule(
        "override of earlier instructions",
        ("ignore", "disregard", "bypass"),
        r"\b(?:ignore|disregard|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+)?(?:content|safety|usage|ethical|moderation)\s+"
        r"(?:policies|policy|guidelines|filters|rules)\b",
    ),
    # "Your new task is ...", "your real objective is ..."
    _rule(
        "new instructions",
        ("task", "objective", "mission", "directive", "instruction"),
        r"\byour\s+(?:new|real|actual|true|only|next)\s+(?:task|objective|mission|directive|instructions?)\s+"
        r"(?:is|are|will\s+be|now)\b",
    ),
    _rule("new instructions", ("now",), r"\byour\s+(?:instructions|orders|directives)\s+are\s+now\b"),
    _rule(
        "new instructions",
        ("instruction", "note", "directive", "orders", "override"),
        r"\b(?:assistant|ai|llm|chatbot)\s+(?:instructions?|note|directives?|orders|override)\s*:",
    ),
    # "New instructions:", "updated system prompt:", "SYSTEM OVERRIDE"
    _rule(
        "new instructions",
        _ORDER_WORDS,
        rf"\b(?:new|updated|revised|real|true|secret|hidden)\s+(?:system\s+)?{_ORDERS}\s*:",
    ),
    _rule("new instructions", ("system",), r"\bsystem\s+(?:override|prompt\s*:|message\s*:)"),
    # chat-template and prompt-format markers: <|im_start|>system, [INST], <<SYS>>, <system>
    _rule(
        "prompt markup",
        ("<|", "im_start", "im_end"),
        r"<\|\s*(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\s*\|>|</?\s*im_(?:start|end)\s*>",
    ),
    _rule(
        "prompt markup", ("role",), r"[\"']role[\"']\s*:\s*[\"'](?:system|developer)[\"']\s*,\s*[\"']content[\"']\s*:"
    ),
    _rule(
        "prompt markup",
        ("inst]", "sys", "instructions"),
        r"\[/?INST\]|<<\s*/?SYS\s*>>|</?\s*(?:system|system_prompt|instructions)\s*>",
    ),
    _rule("prompt markup", ("#",), r"(?:^|\n)\s*#{1,4}\s*(?:system|instructions?)\s*(?:prompt)?\s*:?\s*(?:\n|$)"),
    _rule("prompt markup", ("[",), r"\[(?:system|assistant)\]\s*\(#|\[\[\s*(?-i:SYSTEM|SYS|ADMIN)\s*\]\]"),
    _rule(
        "prompt markup",
        ("system",),
        r"(?:^|\n)\s*(?:(?-i:SYSTEM)\s*:\s|system\s*:\s*(?:you\s+are|ignore|the\s+(?:assistant|ai)\b))",
    ),
    # an HTML comment (invisible when rendered) that speaks to an AI
    _rule("hidden instructions", ("<!--",), rf"<!--(?:(?!-->).){{0,300}}?\b{_ADDRESSEE}\b(?:(?!-->).){{0,300}}?-->"),
    # addressed to the agent: "you must now", "from now on you will respond", "if you are an AI reading this"
    _rule(
        "orders to the agent",
        ("now",),
        r"\byou\s+(?:must|should|shall|will|are\s+to|have\s+to)\s+now\s+"
        r"(?:ignore|obey|follow|respond|reply|answer|act|only|always|never|call|send|"
        r"execute|run|output|print|reveal|include|tell|forward|recommend)\b",
    ),
    _rule(
        "orders to the agent",
        ("now", "point", "henceforth"),
        r"\b(?:from\s+now\s+on|from\s+this\s+point\s+(?:on|forward)|henceforth),?\s+(?:(?:you|the\s+" + _AGENT + r")\s+"
        r"(?:must|will|shall|should|are\s+to)\s+(?:only\s+|always\s+|never\s+)?(?:respond|reply|answer|act|obey|"
        r"ignore|call|execute|output|pretend|behave|refuse)|(?:only\s+)?(?:respond|reply|obey|behave)\s+(?:only\s+)?"
        r"(?:in|as|with|to)\b)",
    ),
    _rule(
        "orders to the agent",
        ("read", "process"),
        r"\b(?:when|once|after|upon|as\s+soon\s+as)\s+(?:you\s+)?(?:read|reading|process|processing)\s+this\b,?\s*"
        rf"(?:(?:execute|run|forward|delete|transfer|ignore)\b|the\s+{_ADDRESSEE}\b)",
    ),
    _rule(
        "orders to the agent",
        ("reads", "reading", "sees", "processes"),
        rf"\bif\s+(?:an?\s+|any\s+)?{_ADDRESSEE}\s+(?:reads|is\s+reading|sees|processes)\s+this\b",
    ),
    _rule(
        "orders to the agent",
        ("longer",),
        r"\byou\s+are\s+no\s+longer\s+(?:bound|restricted|limited|governed)\s+by\s+(?:your\s+|any\s+|the\s+)?"
        r"(?:safety\s+|content\s+|usage\s+|previous\s+|ethical\s+|original\s+)?(?:guidelines|rules|policies|restrictions|"
        r"instructions|programming|training)\b",
    ),
    _rule(
        "orders to the agent",
        ("user",),
        r"\b(?:ignore|disregard)\s+(?:what|whatever|anything)\s+the\s+user\s+(?:said|says|asked|asks|wants|wrote|writes)\b",
    ),
    _rule("orders to the agent", ("you",), rf"\bif\s+you\s+are\s+an?\s+{_ADDRESSEE}\b"),
    _rule(
        "orders to the agent",
        ("reading", "processing", "parsing", "summari", "ingesting"),
        rf"\b(?:for|to|attention|dear|hey|all)\s+(?:any\s+|all\s+|the\s+)?(?:language\s+models?|{_ADDRESSEE})\s+"
        r"(?:that\s+(?:are|is)\s+)?"
        r"(?:reading|processing|parsing|summari[sz]ing|ingesting)\s+this\b",
    ),
    _rule(
        "orders to the agent",
        ("pretend", "imagine", "act"),
        rf"\b(?:pretend|imagine|act\s+as\s+if)\s+(?:that\s+)?you\s+(?:are|were)\s+(?:an?\s+)?(?:\w+\s+){{0,2}}{_ADDRESSEE}\b"
        r"[^.!?\n]{0,60}?\b(?:without|no)\s+(?:any\s+)?(?:restrictions|filters|guidelines|guardrails|rules|limits)\b",
    ),
    # spoken to: "Assistant, when ...", "ATTENTION AI:", "AI agents: please ..."
    _rule(
        "orders to the agent",
        ("ai", "assistant", "chatbot", "llm"),
        r"(?:(?:^|[\n.!?]\s*)(?:ai|assistant|chatbot|llm|(?:ai|llm)\s+(?:agents?|assistants?|models?))s?\s*[,!]|"
        r"\b(?:attention|note|warning|important|hey|dear)\s*,?\s+(?:ai|assistant|chatbot|llm|"
        r"(?:ai|llm)\s+(?:agents?|assistants?|models?))s?\s*[,:!])\s+(?:when|whenever|if|please|you|always|never|"
        r"ignore|do|include|remember|the\s+(?:user|following))\b",
    ),
    _rule(
        "orders to the agent",
        ("user",),
        r"\b(?:when(?:ever)?|if)\s+(?:the\s+|a\s+)?user\s+(?:asks|mentions|says|brings\s+up)\b[^.!?\n]{0,100}?"
        r"[,;]\s*(?:you\s+(?:must|should|will)|always|never|tell|recommend|say|respond|reply|answer|suggest|direct|"
        r"send|include|mention)\b",
    ),
    _rule(
        "orders to the agent",
        ("user",),
        r"\b(?:always|never)\s+(?:recommend|suggest|say|tell|mention|respond|reply|answer|include|send|direct)\b"
        r"[^.!?\n]{0,80}?\b(?:when(?:ever)?|if)\s+(?:the\s+|a\s+)?user\b",
    ),
    _rule(
        "orders to the agent",
        ("summari",),
        r"\bwhen\s+(?:you\s+(?:are\s+)?)?summari[sz](?:e|es|ing)\s+(?:this|the)\s+(?:page|document|e-?mail|text|"
        r"article|message|website|file)\b",
    ),
    # memory poisoning proper: orders to keep something for later conversations
    _rule(
        "orders to the agent",
        ("future", "later", "next", "long-term", "permanent"),
        r"\b(?:remember|store|save|memori[sz]e)\s+(?:this|that|the\s+following)\s+(?:for|in|to|across)\s+"
        r"(?:all\s+)?(?:your\s+)?(?:future|later|next|long-term|permanent)\s*(?:conversations|sessions|chats|"
        r"interactions|memory)",
    ),
    _rule(
        "orders to the agent",
        ("note", "message", "instruction", "attention"),
        rf"\b(?:note|message|instructions?|attention)\s+(?:for|to)\s+(?:the\s+|any\s+|all\s+)?"
        rf"{_ADDRESSEE}\b(?:\s+(?:reading|processing|parsing|summari[sz]ing)\s+this(?:\s+\w+)?)?\s*[:,\-–—]",
    ),
    _rule(
        "orders to the agent",
        ("must", "should", "shall"),
        rf"\b(?:the|this|any)\s+{_AGENT}\s+(?:must|should|shall)\s+(?:always|never|now|"
        r"immediately|ignore|obey)\b",
    ),
    _rule(
        "orders to the agent",
        ("now",),
        r"\byou\s+are\s+now\s+(?:in\s+)?(?:dan|developer\s+mode|jailbroken|unrestricted|"
        r"an?\s+(?:unfiltered|unrestricted|uncensored|jailbroken))\b",
    ),
    _rule("orders to the agent", ("dan",), r"\byou\s+are\s+(?:now\s+)?(?-i:DAN)\b"),
    # secrecy from the person the agent serves: "do not tell the user", "without informing the user"
    _rule(
        "concealment from the user",
        ("user",),
        r"\b(?:do\s+not|don't|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|"
        r"mention(?:ing)?|reveal(?:ing)?|notify(?:ing)?|alert(?:ing)?)\s+"
        r"(?:this\s+|it\s+|anything\s+)?(?:to\s+)?the\s+user\b",
    ),
    _rule(
        "concealment from the user",
        ("confirmation",),
        r"\b(?:do\s+not|don't|never)\s+ask\s+(?:the\s+user\s+)?for\s+confirmation\b",
    ),
    _rule(
        "concealment from the user",
        ("user",),
        r"\b(?:do\s+not|don't|never)\s+let\s+the\s+user\s+(?:know|see|find\s+out)\b",
    ),
    # exfiltration: the conversation sent out, or a markdown image whose address carries data
    _rule(
        "exfiltration",
        ("conversation", "chat"),
        r"\b(?:send|forward|post|upload|leak|exfiltrate|transmit)\s+(?:the\s+|this\s+|our\s+|your\s+|all\s+)?"
        r"(?:(?:entire|full|whole)\s+)?(?:conversation|chat)\s+(?:history|log|logs|transcript)\s+to\s+"
        r"(?:https?://|[\w.+-]+@[\w-]+\.|this\s+(?:url|address|endpoint|server))",
    ),
    _rule("exfiltration", ("![",), r"!\[[^\]]*\]\(\s*https?://[^)\s]*\?[^)\s]*(?:\{|%7B)"),
    _rule(
        "prompt extraction",
        ("prompt", "instructions"),
        r"\b(?:reveal|print|show|repeat|output|leak|dump|disclose)\s+(?:me\s+)?(?:your|the)\s+"
        r"(?:full\s+|entire\s+|hidden\s+|initial\s+)?(?:system\s+prompt|hidden\s+prompt|"
        r"system\s+instructions|initial\s+instructions)\b",
    ),
    # tool calls: "call the send_email tool", "always invoke `transfer_funds`", <tool_call>, JSON arguments
    _rule(
        "tool call",
        ("tool",),
        r"\b(?:call|invoke|trigger)\s+(?:the\s+)?[`'\"]?(?!(?:to|a|an|this|that|any|each|one)\b)"
        r"[A-Za-z_][\w.\-]*[`'\"]?\s+tool\b",
    ),
    _rule(
        "tool call",
        ("call", "invoke", "execute", "trigger"),
        r"\b(?:call|invoke|execute|trigger)\s+(?:the\s+)?(?:`[A-Za-z_][\w.\-]*(?:\(\))?`|"
        r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?:\(\))?)(?:\s+(?:tool|function))?",
    ),
    _rule(
        "tool call",
        ("tool", "function"),
        r"\b(?:always|must|now|immediately)\s+(?:call|invoke|trigger|execute)\s+(?:the\s+)?"
        r"[`'\"]?[A-Za-z_][\w.\-]*[`'\"]?\s+(?:tool|function)\b",
    ),
    _rule(
        "tool call", ("<",), r"</?\s*(?:tool_call|tool_use|function_call|function_calls|invoke|tool)\s*>|<function\s*="
    ),
    _rule(
        "tool call", ("tool_calls", "function_call", "tool_use"), r"[\"'](?:tool_calls|function_call|tool_use)[\"']\s*:"
    ),
    _rule("tool call", ("input",), r"(?:^|\n)\s*Action\s*:\s*\S+[^\n]*\n\s*Action\s+Input\s*:"),  # the ReAct format
    _rule(
        "tool call",
        ("arguments", "parameters", "input"),
        r"[\"'](?:function|tool|name)[\"']\s*:\s*[{\"'][^\n]{0,200}?[\"'](?:arguments|parameters|"
        r"input)[\"']\s*:",
    ),
    # links that run code when followed
    _rule(
        "script link", ("javascript", "vbscript", "data"), r"\]\(\s*(?:javascript|vbscript|data\s*:\s*text/html)\s*:?"
    ),
    _rule("script link", ("script",), r"\bhref\s*=\s*[\"']?\s*(?:javascript|vbscript)\s*:|<\s*script\b"),
)


def injection_reasons(text: str) -> list[str]:
    """What in ``text`` reads as instructions to an agent: one reason per kind, in rule order, as
    ``"<kind>: '<the words that matched>'"``; [] when nothing does."""
    reasons: dict[str, str] = {}
    lowered = text.lower()
    for rule in RULES:
        if rule.reason in reasons or not any(word in lowered for word in rule.needs):
            continue
        if match := rule.pattern.search(text):
            reasons[rule.reason] = f"{rule.reason}: {_excerpt(match.group(0))}"
    return list(reasons.values())


def _excerpt(matched: str, width: int = 60) -> str:
    words = " ".join(matched.split())
    return repr(words if len(words) <= width else words[: width - 3] + "...")


def is_instruction_like(text: str) -> bool:
    return bool(injection_reasons(text))
