// An entity's timeline: the facts it is the subject or object of, oldest first, each with the links
// that retired it (superseded_by) and the facts it retired (supersedes), with the rule that decided and
// the passages or turns it relied on. Retracted links (a later run no longer supports them) are listed
// with their retracted_at. What Memory.history returns.
// Params: $namespace, $entity_id
MATCH (:Entity {namespace: $namespace, id: $entity_id})<-[:SUBJECT|OBJECT]-(f:Fact {namespace: $namespace})
WITH DISTINCT f
OPTIONAL MATCH (f)-[out:SUPERSEDED_BY]->(newer:Fact {namespace: $namespace})
WITH f, collect(CASE WHEN newer IS NULL THEN null ELSE
       {fact_id: newer.id, predicate: newer.predicate, object: newer.object_name, rule: out.rule,
        evidence: out.evidence, valid_to: out.valid_to, expired_at: out.expired_at,
        retracted_at: out.retracted_at} END) AS superseded_by
OPTIONAL MATCH (older:Fact {namespace: $namespace})-[inc:SUPERSEDED_BY]->(f)
WITH f, superseded_by, collect(CASE WHEN older IS NULL THEN null ELSE
       {fact_id: older.id, predicate: older.predicate, object: older.object_name, rule: inc.rule,
        evidence: inc.evidence, valid_to: inc.valid_to, retracted_at: inc.retracted_at} END) AS supersedes
RETURN f.id AS id, f.subject_name AS subject, f.predicate AS predicate, f.object_name AS object,
       f.valid_from AS valid_from, f.valid_to AS valid_to, f.recorded_at AS recorded_at,
       f.expired_at AS expired_at, f.provenance AS provenance, superseded_by, supersedes
ORDER BY valid_from, predicate, id
