// Give back the ingestion lease of a namespace, if this owner still holds it.
// Params: $namespace, $owner
MATCH (l:GraphmemLease {namespace: $namespace, owner: $owner})
DELETE l
