// The current revision of a namespace (absent before its first write).
// Params: $namespace
OPTIONAL MATCH (r:GraphmemRevision {namespace: $namespace})
RETURN coalesce(r.revision, 0) AS revision
