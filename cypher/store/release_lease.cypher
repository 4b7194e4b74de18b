// Give back the ingestion lease of a namespace, if this owner still holds it. The node stays (ownerless):
// deleting it would race a taker that has already matched it and is waiting for its write lock, and
// would then read the owner of a deleted node.
// Params: $namespace, $owner
MATCH (l:GraphmemLease {namespace: $namespace, owner: $owner})
REMOVE l.owner, l.expires
