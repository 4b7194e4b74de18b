// An entity's timeline: every fact it is the subject or object of, valid or superseded, oldest first.
// `status` is 'valid' (holds now), 'superseded' (retired by reconsolidation), 'merged' (a duplicate of
// another fact) or 'ended' (its validity ran out); `superseded_by` names what replaced it and under
// which rule. Retracted links (a later run no longer supports them) are left out.
// $name matches the entity's name or an alias case-insensitively, or its normalised key.
// Params: $namespace, $name
MATCH (e:Entity {namespace: $namespace})
WHERE toLower(e.name) = toLower(trim($name)) OR e.key = toLower(trim($name))
   OR toLower(trim($name)) IN [alias IN coalesce(e.aliases, []) | toLower(alias)]
MATCH (e)<-[:SUBJECT|OBJECT]-(f:Fact {namespace: $namespace})
WITH DISTINCT f
OPTIONAL MATCH (f)-[link:SUPERSEDED_BY]->(newer:Fact {namespace: $namespace})
WHERE link.retracted_at IS NULL
WITH f, collect(CASE WHEN newer IS NULL THEN null ELSE
       {fact_id: newer.id, subject: newer.subject_name, predicate: newer.predicate, object: newer.object_name,
        rule: link.rule, evidence: link.evidence} END) AS superseded_by
RETURN f.valid_from AS valid_from, f.valid_to AS valid_to, f.subject_name AS subject, f.predicate AS predicate,
       f.object_name AS object,
       CASE
         WHEN any(link IN superseded_by WHERE link.rule = 'duplicate') THEN 'merged'
         WHEN f.expired_at IS NOT NULL OR size(superseded_by) > 0 THEN 'superseded'
         WHEN f.valid_to IS NOT NULL AND f.valid_to <= datetime() THEN 'ended'
         ELSE 'valid'
       END AS status,
       size(coalesce(f.provenance, [])) AS times_stated, f.expired_at AS expired_at, superseded_by,
       f.id AS fact_id
ORDER BY valid_from, predicate, object, fact_id
