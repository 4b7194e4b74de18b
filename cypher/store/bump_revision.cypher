// Count one more write to a namespace (index caches key on this number).
// Params: $namespace
MERGE (r:GraphmemRevision {namespace: $namespace})
SET r.revision = coalesce(r.revision, 0) + 1
RETURN r.revision AS revision
