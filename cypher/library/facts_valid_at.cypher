// The facts valid at a date: those whose validity (valid_from inclusive, valid_to exclusive) contains $at.
// A fact reconsolidation superseded counts until its successor started; a fact merged into its duplicate
// is left out (the duplicate stands for it). Optionally only those about one subject.
// $at: an ISO date or date-time ('2021-06-01', '2021-06-01T12:00:00Z'; no zone means UTC).
// $subject: an entity's name, alias or id, or null for every subject.
// Params: $namespace, $at, $subject (optional)
WITH datetime(toString($at)) AS at
MATCH (f:Fact {namespace: $namespace})
WHERE (f.valid_from IS NULL OR f.valid_from <= at)
  AND (f.valid_to IS NULL OR at < f.valid_to)
  AND ($subject IS NULL OR EXISTS {
        MATCH (f)-[:SUBJECT]->(s:Entity {namespace: $namespace})
        WHERE s.id = $subject OR toLower(s.name) = toLower(trim($subject)) OR s.key = toLower(trim($subject))
           OR toLower(trim($subject)) IN [alias IN coalesce(s.aliases, []) | toLower(alias)] })
  AND NOT EXISTS {
        MATCH (f)-[link:SUPERSEDED_BY {rule: 'duplicate'}]->(:Fact {namespace: $namespace})
        WHERE link.retracted_at IS NULL }
RETURN f.subject_name AS subject, f.predicate AS predicate, f.object_name AS object,
       f.valid_from AS valid_from, f.valid_to AS valid_to, f.expired_at AS expired_at,
       size(coalesce(f.provenance, [])) AS times_stated, f.id AS fact_id
ORDER BY subject, predicate, valid_from, object, fact_id
