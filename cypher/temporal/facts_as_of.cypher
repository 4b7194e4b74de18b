// The facts that hold at a point in time ($as_of), or the current ones ($as_of null): what
// Memory.facts returns. A superseded fact held until its valid_to, so it counts before then; a fact
// merged into its duplicate is left out unless $include_expired. Without $as_of, current means not
// retired (expired_at null) and not ended (valid_to null or after $now, default the server's clock);
// $include_expired then returns every fact.
// Params: $namespace, $subject_id (null for all), $predicate (null for all), $as_of (datetime or null),
//         $include_expired (boolean), $now (datetime or null)
MATCH (f:Fact {namespace: $namespace})
WHERE ($subject_id IS NULL OR f.subject_id = $subject_id)
  AND ($predicate IS NULL OR f.predicate = $predicate)
  AND CASE
        WHEN $as_of IS NULL THEN
          $include_expired
          OR (f.expired_at IS NULL AND (f.valid_to IS NULL OR f.valid_to > coalesce($now, datetime())))
        ELSE
          (f.valid_from IS NULL OR f.valid_from <= $as_of)
          AND (f.valid_to IS NULL OR $as_of < f.valid_to)
          AND ($include_expired OR NOT EXISTS {
                MATCH (f)-[link:SUPERSEDED_BY {rule: 'duplicate'}]->(:Fact {namespace: $namespace})
                WHERE link.retracted_at IS NULL })
      END
RETURN f.id AS id, f.subject_id AS subject_id, f.subject_name AS subject, f.predicate AS predicate,
       f.object_id AS object_id, f.object_name AS object, f.valid_from AS valid_from, f.valid_to AS valid_to,
       f.expired_at AS expired_at, f.provenance AS provenance
ORDER BY subject, predicate, valid_from, object, id
