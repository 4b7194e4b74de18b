// Take or renew the ingestion lease of a namespace if it is free, expired, ours, or held by $stale (a holder
// known to be dead); returns who holds it afterwards. Setting `taken` first write-locks the node, so the
// holder is read after any concurrent taker has committed.
// Params: $namespace, $owner, $seconds, $stale (null when none)
MERGE (l:GraphmemLease {namespace: $namespace})
SET l.taken = true
WITH l, (l.owner IS NULL OR l.owner IN [$owner, $stale] OR l.expires < datetime()) AS free
SET l.owner = CASE WHEN free THEN $owner ELSE l.owner END,
    l.expires = CASE WHEN free THEN datetime() + duration({seconds: $seconds}) ELSE l.expires END
REMOVE l.taken
RETURN l.owner AS owner
